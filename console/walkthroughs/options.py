"""The lists walkthroughs choose from, read from the site through its public views."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from console import format as fmt
from console.walkthroughs.base import Option, Selections
from engine.command import FromDump, FrRecov, Selection, command_text

if TYPE_CHECKING:
    from engine.api import SiteAPI
    from engine.views import VersionView


def pools(site: SiteAPI, sel: Selections) -> list[Option]:
    out = []
    for p in site.pools():
        frr = "FRR eligible" if p.frr_eligible else "FRR allowed" if p.frr_allowed else "no FRR"
        out.append(
            Option(
                p.name,
                p.name,
                f"{p.valid_versions}/{p.versions_kept} valid · {frr}"
                + (" · incremental" if p.incremental else "")
                + (f" · dumps {' '.join(p.dump_classes)}" if p.dump_classes else ""),
            )
        )
    return out


def incremental_pools(site: SiteAPI, sel: Selections) -> list[Option]:
    inc = {p.name for p in site.pools() if p.incremental}
    return [o for o in pools(site, sel) if o.value in inc] or pools(site, sel)


def dumped_pools(site: SiteAPI, sel: Selections) -> list[Option]:
    dumped = {p.name for p in site.pools() if p.dump_classes}
    return [o for o in pools(site, sel) if o.value in dumped] or pools(site, sel)


def _version_option(v: VersionView) -> Option:
    dumps = " ".join(f"{c}:{s[:4]}" for c, s in v.dump_copies) or "no dumps"
    return Option(
        str(v.version),
        f"{v.version:03d}  gen {v.generation}  {fmt.token(v.token)}",
        f"{fmt.when(v.created_at)} · DASD {v.dasd_state} · {dumps}"
        + (" · incremental" if v.incremental else "")
        + (" · FRR eligible" if v.frr_eligible else "")
        + (f" · {v.why_failed}" if v.why_failed else ""),
    )


def versions(site: SiteAPI, sel: Selections) -> list[Option]:
    return [_version_option(v) for v in site.versions(sel.get("pool", "")) if v.is_backup]


def dumped_versions(site: SiteAPI, sel: Selections) -> list[Option]:
    vs = [v for v in site.versions(sel.get("pool", "")) if v.is_backup]
    return [_version_option(v) for v in vs if v.dump_copies] or [_version_option(v) for v in vs]


def newest_valid(site: SiteAPI, sel: Selections) -> str | None:
    for v in site.versions(sel.get("pool", "")):
        if v.recoverable:
            return str(v.version)
    return None


def older_valid(site: SiteAPI, sel: Selections) -> str | None:
    valid = [v for v in site.versions(sel.get("pool", "")) if v.recoverable]
    return str(valid[1].version) if len(valid) > 1 else (str(valid[0].version) if valid else None)


def newest_dumped(site: SiteAPI, sel: Selections) -> str | None:
    for v in site.versions(sel.get("pool", "")):
        if v.is_backup and v.dump_copies:
            return str(v.version)
    return None


def _serves(site: SiteAPI, sel: Selections, version: int, source: str) -> bool:
    """Whether the engine's own checks pass for the data sets from this version and source
    (REPLACE asked, so that only where the data sets are, not whether they exist, decides)."""
    probe = FrRecov(
        dsnames=(sel.get("pattern", "").upper(),),
        from_copypool=sel.get("pool", ""),
        selection=Selection(version=version),
        from_dasd=source == "DASD",
        from_dump=None if source == "DASD" else FromDump(),
        replace=True,
    )
    try:
        return all(c.ok or c.advisory for c in site.precheck(command_text(probe)))
    except Exception:  # noqa: BLE001 - a pattern the parser refuses serves from no version
        return False


def dataset_versions(site: SiteAPI, sel: Selections) -> list[Option]:
    return versions(site, sel)


def dataset_version(site: SiteAPI, sel: Selections) -> str | None:
    """The newest version that holds the data sets and can be recovered from, DASD or tape."""
    for v in site.versions(sel.get("pool", "")):
        if not v.is_backup:
            continue
        if (v.recoverable and _serves(site, sel, v.version, "DASD")) or (
            v.on_tape and _serves(site, sel, v.version, "TAPE")
        ):
            return str(v.version)
    return None


def volumes(site: SiteAPI, sel: Selections) -> list[Option]:
    pool = next((p for p in site.pools() if p.name == sel.get("pool")), None)
    groups = set(pool.storage_groups) if pool else set()
    out = [
        Option(
            v.volser,
            v.volser,
            f"{v.storage_group} · {fmt.model(v.model, v.tracks)} · {v.used_tracks:,} tracks in data sets",
        )
        for v in site.volumes()
        if v.storage_group in groups
    ]
    if sel.get("allow_pool"):
        out.insert(0, Option("*", "every volume of the copy pool", "FRRECOV COPYPOOL(...) FROMDUMP"))
    return out


def dump_classes(site: SiteAPI, sel: Selections) -> list[Option]:
    vs = {str(v.version): v for v in site.versions(sel.get("pool", ""))}
    v = vs.get(sel.get("version", ""))
    if v is None:
        return []
    return [Option(c, c, f"dump state {s}") for c, s in v.dump_copies]


def datasets_matching(site: SiteAPI, sel: Selections) -> list[Option]:
    """Preview for a typed pattern: the cataloged data sets it matches (deleted ones need their
    full name, as DFSMShsm says)."""
    pattern = sel.get("pattern", "").strip().upper()
    if not pattern:
        return [Option(d.name, d.name, f"{len(d.extents)} extent(s) on {' '.join(d.volumes)}") for d in site.datasets()]
    try:
        found = (
            site.datasets(pattern) if any(c in pattern for c in "*%") else ([d] if (d := site.dataset(pattern)) else [])
        )
    except Exception:  # noqa: BLE001 - a half-typed pattern is not an error yet
        return []
    return [Option(d.name, d.name, f"on {' '.join(d.volumes)}") for d in found]


def yes_no(yes: str, no: str) -> Callable[[SiteAPI, Selections], list[Option]]:
    def options(site: SiteAPI, sel: Selections) -> list[Option]:
        return [Option("N", no), Option("Y", yes)]

    return options
