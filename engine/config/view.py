"""The constructs as the configuration screen and `flashpool config show` present them, with the
engine's own answer to "why can this not go" beside each (the console never works it out)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import select

from engine.catalog import constructs as repo
from engine.catalog.models import DumpCopyRow, VolumeRow
from engine.config import export
from engine.config.plan import _held
from engine.geometry import Geometry
from engine.hsm import backup
from engine.hsm.define import describe
from engine.hsm.dumpclass import DumpClassDef
from engine.hsm.pool import backups
from engine.states import DasdState
from engine.visibility import EVERYTHING, Visibility

if TYPE_CHECKING:
    from engine.hsm.context import Context


@dataclass(frozen=True, slots=True)
class VolumeConfig:
    volser: str
    size: str  # "3390-1 (1,113 cyl, 16,695 trk)"
    online: bool
    held: str  # why it cannot leave its storage group ("" when it can)


@dataclass(frozen=True, slots=True)
class GroupConfig:
    name: str
    type: str  # POOL | COPYPOOLBACKUP
    backup_group: str | None
    volumes: tuple[VolumeConfig, ...]
    copy_pools: tuple[str, ...]  # the copy pools made of it (POOL) or backed up to it (COPYPOOLBACKUP)


@dataclass(frozen=True, slots=True)
class PoolConfig:
    name: str
    storage_groups: tuple[str, ...]
    versions: int
    fast_reverse_restore: bool
    catalog_capture: str
    auto_dump: bool
    dump_classes: tuple[str, ...]  # CLASS:VERSIONS
    description: str
    valid_versions: int  # versions with a valid DASD copy now
    rolls_off_next: tuple[int, ...]  # what its next FRBACKUP rolls off
    held: str  # why it cannot be deleted ("" when it can)


@dataclass(frozen=True, slots=True)
class DumpClassConfig:
    name: str
    attributes: str  # as DEFINE DUMPCLASS writes them
    copies: int  # dump copies made to it that exist
    copy_pools: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SiteConfiguration:
    groups: tuple[GroupConfig, ...]
    loose: tuple[VolumeConfig, ...]  # volumes in no storage group
    pools: tuple[PoolConfig, ...]
    dump_classes: tuple[DumpClassConfig, ...]
    definition: str  # the whole live definition, as `flashpool config export` writes it


def configuration(ctx: Context, site: str, seen: Visibility = EVERYTHING) -> SiteConfiguration:
    """The live configuration as `seen` lets its reader see it (blocking): without the copy pools
    it may not LIST, the storage groups only they use and the volumes holding their data
    (engine.visibility), as every other read."""
    with ctx.catalog.session() as s:
        vols = [v for v in s.exec(select(VolumeRow).order_by(VolumeRow.volser)).all() if seen.volume(v.volser)]
        held = _held(ctx, s, [v.volser for v in vols])

        def one(v: VolumeRow) -> VolumeConfig:
            geo = Geometry(v.model, v.cylinders, v.tracks_per_cylinder, v.track_size)
            why = held.get(v.volser, "")
            if not seen.text(why):
                why = "is in use by a copy pool you may not LIST"
            return VolumeConfig(v.volser, geo.describe(), v.online, why)

        by_group: dict[str | None, list[VolumeConfig]] = {}
        for v in vols:
            by_group.setdefault(v.storage_group, []).append(one(v))
        made_of = {g: [p for p in pools if seen.pool(p)] for g, pools in repo.pools_by_group(s).items()}
        backed: dict[str, set[str]] = {}
        for g in repo.storage_groups(s):
            if g.backup_group:
                backed.setdefault(g.backup_group, set()).update(made_of.get(g.name, []))
        groups = tuple(
            GroupConfig(
                g.name,
                g.type,
                g.backup_group,
                tuple(by_group.get(g.name, [])),
                tuple(made_of.get(g.name, []) if g.type == "POOL" else sorted(backed.get(g.name, ()))),
            )
            for g in repo.storage_groups(s)
            if seen.group(g.name)
        )
        pools = []
        members = repo.groups_by_pool(s)
        for p in repo.copy_pools(s):
            if not seen.pool(p.name):
                continue
            vers = repo.versions(s, p.name)
            valid = [
                v for v in backups(s, p.name) if v.dasd_state in repo.DASD_STATES and v.dasd_state != DasdState.FAILED
            ]
            links = sorted(repo.pool_dump_classes(s, p.name), key=lambda link: link.dump_class)
            pools.append(
                PoolConfig(
                    p.name,
                    tuple(members.get(p.name, [])),
                    p.versions,
                    p.fast_reverse_restore,
                    p.catalog_capture,
                    p.auto_dump,
                    tuple(f"{link.dump_class}:{link.dump_versions}" for link in links),
                    p.description,
                    len(valid),
                    tuple(v.version for v in backup.rolled_off_next(vers, p.versions)),
                    f"it has {len(vers)} version(s): FRDELETE COPYPOOL({p.name}) ALL BOTH first" if vers else "",
                )
            )
        copies: dict[str, int] = {}
        for c, source in s.exec(select(DumpCopyRow.dump_class, DumpCopyRow.source)).all():
            if seen.volume(source):
                copies[c] = copies.get(c, 0) + 1
        users: dict[str, list[str]] = {}
        for pool, cls in repo.dump_classes_by_pool(s).items():
            for c in cls:
                if seen.pool(pool):
                    users.setdefault(c, []).append(pool)
        classes = tuple(
            DumpClassConfig(
                dc.name,
                describe(DumpClassDef.of_row(dc)),
                copies.get(dc.name, 0),
                tuple(sorted(users.get(dc.name, []))),
            )
            for dc in repo.dump_classes(s)
        )
        text = export.to_toml(export.live_definition(s), site, time.time(), seen)
    return SiteConfiguration(groups, tuple(by_group.get(None, [])), tuple(pools), classes, text)


__all__ = ["DumpClassConfig", "GroupConfig", "PoolConfig", "SiteConfiguration", "VolumeConfig", "configuration"]
