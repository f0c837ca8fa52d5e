"""FRRECOV DSNAME: data sets back to the volumes and extents they had at backup time.

Where a data set lived comes from the version's captured catalog information (CATINFO Y/P);
without it, only a data set still cataloged to the same place can be recovered. Fully qualified
names reach existing, moved and deleted data sets; filters match only cataloged ones. The copy
is a data-set-level FlashCopy from the version's target extents (FASTREPLICATION PREFERRED falls
back to a traditional copy when FlashCopy refuses; REQUIRED fails; NONE copies traditionally;
without it, SETSYS FASTREPLICATION(DATASETRECOVERY) decides: IBM's default NONE), or
the tracks from the dump tape with FROMDUMP. Each failing data set gets its own ARC1866I and the
others go on.

ARC1866I return codes: DFSMShsm's 14 (migrated) and 18 (version does not exist), and flashpool's
own 20 (not in the version's captured catalog information), 22 (exists and REPLACE not given),
24 (its backup-time extents now belong to another data set), 26 (FlashCopy required but refused),
28 (the dump tape is damaged), 30 (volume unavailable), 32 (NEWNAME: no room for the new data set
in the storage groups of its volumes). NEWNAME is engine.hsm.dsnewname; engine.hsm.dsrecovery
chooses between the two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, DumpCopyRow
from engine.command import FrRecov
from engine.datasets.info import DataSetInfo, Extent
from engine.datasets.names import is_filter
from engine.errors import FlashCopyError
from engine.flashcopy import EstablishRequest
from engine.hsm import dump, intent, rules
from engine.hsm import pool as pools
from engine.hsm.intent import IntentKind
from engine.hsm.rules import Checks, Refusal, version_name
from engine.hsm.tape import TapeError
from engine.messages import CommandResult, Rc
from engine.security import Check, Function
from engine.visibility import Visibility, visibility

if TYPE_CHECKING:
    from engine.hsm.context import Context


@dataclass(frozen=True, slots=True)
class Found:
    pool: str
    version: BackupVersionRow
    info: DataSetInfo  # as it was at backup time


def find_backup(
    ctx: Context, req: FrRecov, name: str, current: DataSetInfo | None, matched: bool = False
) -> Found | Refusal:
    """The version (and the extents at backup time) a data set comes back from, or why none;
    a refusal names the newest other version of the copy pool that would serve. `matched`: a
    filter (partially qualified name) matched the data set, so when no version holds it the
    code is NOCOPYPOOLBACKUP's (RC4 or RC8, IBM's rule); a fully qualified name keeps its own."""
    nocopypoolbackup = (4 if req.nocopypoolbackup == "RC4" else 8) if matched else None
    with ctx.catalog.session() as s:
        names = [req.from_copypool] if req.from_copypool else [p.name for p in repo.copy_pools(s)]
        last = rules.dataset_refusal(nocopypoolbackup or 18, "no copy pool version holds it", "not-in-version")
        for cp in names:
            vers = pools.backups(s, cp)
            found = rules.select_version(vers, req.selection, need_dasd=not req.from_dump)
            if isinstance(found, Refusal):
                if req.from_copypool:
                    return rules.dataset_refusal(
                        found.rc if found.rc == 14 else 18,
                        found.text,
                        "not-in-version",
                        _instead(s, vers, name, current, not req.from_dump),
                    )
                continue
            hit = _held(s, cp, found, name, current)
            if isinstance(hit, Found):
                return hit
            related = hit is not None or any(v.catinfo != "N" for v in vers)
            instead = _instead(s, vers, name, current, not req.from_dump) if related else ()
            if hit is None and instead:  # another version of this copy pool holds it
                hit = _not_captured(cp, found)
            if hit is not None:
                last = rules.dataset_refusal(nocopypoolbackup or hit.rc, hit.text, hit.code, instead)
        return last


def _held(s: Session, cp: str, v: BackupVersionRow, name: str, current: DataSetInfo | None) -> Found | Refusal | None:
    """Whether version `v` holds the data set: where it was then, why not, or None when it
    plainly has nothing to do with it (another copy pool's volumes)."""
    rows = repo.captured(s, v.key, name)
    if rows:
        exts = tuple(Extent(r.volser, r.first_track, r.tracks) for r in rows)
        return Found(cp, v, DataSetInfo(name, rows[0].dsorg, exts, rows[0].bytes_used, v.created_at))
    sources = {p.source for p in repo.pairs(s, v.key)} or {c.source for c in repo.dump_copies(s, v.key)}
    if v.catinfo == "N" and current is not None and set(current.volumes) <= sources:
        return Found(cp, v, current)  # still cataloged where it was: usable without capture
    if set(current.volumes if current else ()) & sources:
        return _not_captured(cp, v)
    return None


def _not_captured(cp: str, v: BackupVersionRow) -> Refusal:
    return rules.dataset_refusal(
        20,
        f"it is not in the captured catalog information of {cp} version {v.version:03d}"
        + ("" if v.catinfo != "N" else " (the copy pool does not capture catalog information)"),
        "not-in-version",
    )


def _instead(
    s: Session, vers: list[BackupVersionRow], name: str, current: DataSetInfo | None, need_dasd: bool
) -> tuple[rules.Alternative, ...]:
    """The newest version that holds the data set and can be recovered from as asked (DASD,
    or a dump copy): the alternative a refusal offers."""
    for v in vers:
        usable = v.dasd_state in rules.FRR_STATES if need_dasd else bool(repo.dump_copies(s, v.key))
        if usable and isinstance(_held(s, v.copy_pool, v, name, current), Found):
            return (rules.Alternative(f"recover {name} from {version_name(v)}", version=v.version, datasets=(name,)),)
    return ()


def may_recover(ctx: Context, seen: Visibility, name: str, pools_of: Iterable[str]) -> Refusal | None:
    """Whether the caller may recover, or replace, data set `name` of these copy pools: it must
    see it (LIST) and hold DSRECOV of each pool (STGADMIN.ARC.DSRECOV.<pool>), however the
    command named it (a filter, a full name, NEWNAME's target). A data set the caller may not see
    is refused without naming its copy pool or the profile that hides it."""
    pools_of = sorted(set(pools_of))
    if not seen.dataset(name) or not all(seen.pool(p) for p in pools_of):
        return rules.dataset_refusal(
            Rc.NOT_AUTHORIZED, f"USER {ctx.who.user} IS NOT AUTHORIZED TO RECOVER OR REPLACE {name}", "not-authorized"
        )
    for p in pools_of:
        decision = ctx.guard.decide(ctx.who, Check(Function.DSRECOV, p))
        if not decision.allowed:
            return rules.dataset_refusal(Rc.NOT_AUTHORIZED, decision.refusal(ctx.who), "not-authorized")
    return None


def pools_holding(ctx: Context, info: DataSetInfo) -> set[str]:
    """The copy pools whose source volumes hold a data set now (replacing it changes their data)."""
    with ctx.catalog.session() as s:
        out: set[str] = set()
        for volser in info.volumes:
            row = repo.volume(s, volser)
            if row is not None and row.storage_group:
                out.update(repo.pools_of_group(s, row.storage_group))
        return out


@dataclass
class DataSetRecovery:
    found: dict[str, Found]  # data sets that will come back, and from where
    current: dict[str, DataSetInfo | None]
    refused: list[tuple[str, Refusal]]  # ARC1866I for each data set that will not
    unmatched: list[tuple[str, int]]  # filters that match no cataloged data set, with their RC


def plan_datasets(ctx: Context, req: FrRecov, checks: Checks) -> DataSetRecovery:
    ds = ctx.datasets
    seen = visibility(ctx.catalog, ctx.guard, ctx.who)
    names: list[str] = []
    matched: set[str] = set()  # names a filter matched (NOCOPYPOOLBACKUP applies to them)
    plan = DataSetRecovery({}, {}, [], [])
    for pattern in req.dsnames:
        if is_filter(pattern):  # a filter reaches only the data sets the caller may see
            hits = [i.name for i in ds.cataloged(pattern) if seen.dataset(i.name)]
            rc = 4 if req.nocopypoolbackup == "RC4" else 8
            if not checks.record(
                f"{pattern} matches cataloged data sets",
                None
                if hits
                else rules.dataset_refusal(
                    rc,
                    f"no cataloged data set matches {pattern} (filters never reach deleted data sets; give a deleted "
                    f"data set its full name)",
                    "no-match",
                ),
            ):
                plan.unmatched.append((pattern, rc))
            names += hits
            matched.update(hits)
        else:
            names.append(pattern)
    for name in dict.fromkeys(names):
        current = ds.get(name)
        found: Found | None = None
        label, refusal = (
            f"{name} is not migrated",
            rules.dataset_migrated(name, current is not None and current.migrated),
        )
        if refusal is None:
            hit = find_backup(ctx, req, name, current, matched=name in matched and name not in req.dsnames)
            label, refusal = f"{name} is in a backup version", hit if isinstance(hit, Refusal) else None
            found = None if isinstance(hit, Refusal) else hit
        if refusal is None and found is not None:
            label, refusal = (
                f"{name} may be recovered by {ctx.who.user}",
                may_recover(ctx, seen, name, {found.pool} | (pools_holding(ctx, current) if current else set())),
            )
        if refusal is None:
            label, refusal = f"{name} may be overwritten", rules.dataset_replace(name, current is not None, req.replace)
        if refusal is None and found is not None:
            label, refusal = (
                f"{name}'s backup-time extents are free",
                rules.dataset_extents_free(name, extent_owner(ctx, found.info)),
            )
        if refusal is None and found is not None:
            label, refusal = (
                f"{name}'s volumes are available",
                rules.dataset_volumes(name, found.info.volumes, ctx.volumes),
            )
        if refusal is None and found is not None and req.from_dump:
            label, refusal = f"{name}'s volumes have dump copies", dump_refusal(ctx, req, found)
        if refusal is None and found is not None:
            label = f"{name} can be recovered from {found.pool} version {found.version.version:03d}"
        if checks.record(label, refusal):
            assert found is not None
            plan.found[name], plan.current[name] = found, current
        else:
            assert refusal is not None
            plan.refused.append((name, refusal))
    return plan


def frrecov_datasets(ctx: Context, req: FrRecov, res: CommandResult) -> None:
    ds = ctx.datasets
    plan = plan_datasets(ctx, req, Checks())
    for pattern, rc in plan.unmatched:
        res.add("ARC1866I", f"NO CATALOGED DATA SET MATCHES {pattern} (FILTERS NEVER REACH DELETED DATA SETS), RC={rc}")
        res.fail(rc)
    for name, r in plan.refused:
        failed(res, name, r.rc, r.text)
    recovered = []
    for name, found in plan.found.items():
        current = plan.current[name]
        started: list[int] = []

        def start(source: dict[str, object], found: Found = found, current: DataSetInfo | None = current) -> None:
            """Just before the first track moves: the intent that lets Site.open finish it."""
            started.append(begin_intent(ctx, found, current, source))

        try:
            how = _from_dump(ctx, req, found, start) if req.from_dump else _from_dasd(ctx, req, found, start)
        except Refused as exc:
            failed(res, name, exc.rc, exc.why)
            for iid in started:
                end_intent(ctx, iid, found.info.volumes)
            continue
        if current is not None and current.extents != found.info.extents:
            ds.delete(name)  # moved since: the current allocation goes
        ds.recatalog(found.info)
        ds.write_vtocs(set(found.info.volumes) | set(current.volumes if current else ()))
        for iid in started:
            end_intent(ctx, iid, set(found.info.volumes) | set(current.volumes if current else ()))
        recovered.append(name)
        res.add(
            "FPL130I",
            f"DATA SET {name} RECOVERED FROM {found.pool} VERSION {found.version.version:03d} "
            f"TO {' '.join(found.info.volumes)} ({how}), RECATALOGED",
        )
    if recovered:
        res.add("FPL131I", f"{len(recovered)} OF {len(recovered) + len(plan.refused)} DATA SET(S) RECOVERED")


def begin_intent(
    ctx: Context, found: Found, current: DataSetInfo | None, source: dict[str, object], info: DataSetInfo | None = None
) -> int:
    info = info or found.info
    with ctx.catalog.session() as s:
        iid = intent.begin(
            s,
            IntentKind.DATASET,
            found.pool,
            ctx.clock(),
            name=info.name,
            dsorg=info.dsorg,
            bytes_used=info.bytes_used,
            created_at=info.created_at,
            extents=[[e.volser, e.first, e.tracks] for e in info.extents],
            old_volumes=list(current.volumes) if current else [],
            **source,
        )
        s.commit()
    return iid


def end_intent(ctx: Context, iid: int, written: Iterable[str]) -> None:
    """The recovery is done: the volumes it wrote are made durable first, then the intent that
    would redo it at the next open goes."""
    ctx.make_durable(written)
    with ctx.catalog.session() as s:
        intent.end(s, iid)
        s.commit()


def finish_interrupted(ctx: Context, payload: dict[str, Any]) -> str:
    """Site.open: a data set recovery a crash interrupted is done again from its source (the
    version's targets or its tape; both still hold the backup) and recataloged, so the data set
    holds its backup whole, never a mix of the two. Blocking; nothing else runs yet."""
    core = ctx.flashcopy.core
    name = payload["name"]
    extents = [Extent(v, first, n) for v, first, n in payload["extents"]]
    volumes = sorted({e.volser for e in extents} | set(payload["old_volumes"]))
    missing = [v for v in volumes if v not in ctx.volumes]
    if missing:
        return (
            f"DATA SET RECOVERY OF {name} WAS INTERRUPTED AND CANNOT BE FINISHED NOW ({', '.join(missing)} UNAVAILABLE); "
            f"RE-ISSUE FRRECOV DSNAME({name}) REPLACE"
        )
    tapes: dict[str, dict[int, bytes]] = {}
    for e in extents:
        if "targets" in payload:
            tracks = core.read_run(payload["targets"][e.volser], e.first, e.tracks)
        else:
            if e.volser not in tapes:
                with ctx.catalog.session() as s:
                    copy = s.get(DumpCopyRow, payload["copies"][e.volser])
                tapes[e.volser] = dump.read_copy(ctx.root, copy)[1] if copy is not None else {}
            zero = bytes(core.volume(e.volser).geometry.track_size)
            tracks = [tapes[e.volser].get(k, zero) for k in range(e.first, e.first + e.tracks)]
        core.write_run(e.volser, e.first, tracks)
    ctx.datasets.recatalog(
        DataSetInfo(name, payload["dsorg"], tuple(extents), payload["bytes_used"], payload["created_at"])
    )
    for v in volumes:
        core.write_run(v, 0, ctx.datasets.vtoc_image(v))
    return f"DATA SET RECOVERY OF {name} WAS INTERRUPTED AND HAS BEEN FINISHED: IT HOLDS ITS BACKUP, RECATALOGED"


def dump_refusal(ctx: Context, req: FrRecov, found: Found) -> Refusal | None:
    fd = req.from_dump
    assert fd is not None
    with ctx.catalog.session() as s:
        pool = repo.held_copy_pool(s, found.pool)
        for v in found.info.volumes:
            c = dump.choose_dump(s, pool, found.version, v, fd.dump_class, fd.dump_volume)
            if c.copy is None:
                return rules.dataset_refusal(c.rc if c.rc != 42 else 18, c.why, "no-dump")
    return None


def failed(res: CommandResult, name: str, rc: int, why: str) -> None:
    res.add("ARC1866I", f"FAST REPLICATION DATA SET RECOVERY FAILED FOR DATA SET {name}, RC={rc} - {why}")
    res.fail(min(rc, 8))  # NOCOPYPOOLBACKUP(RC4) answers 4; every other failing data set 8


Start = Callable[[dict[str, object]], None]  # records the intent before tracks move


class Refused(Exception):
    """A refusal met while copying one data set (FlashCopy required but refused, a damaged tape)."""

    def __init__(self, rc: int, why: str) -> None:
        super().__init__(why)
        self.rc, self.why = rc, why


def extent_owner(ctx: Context, info: DataSetInfo) -> str | None:
    """Another data set that now holds any of `info`'s extents."""
    for e in info.extents:
        for other in ctx.datasets.on_volumes([e.volser]):
            if other.name == info.name:
                continue
            for x in other.extents:
                if x.volser == e.volser and x.first <= e.last and e.first <= x.last:
                    return other.name
    return None


def _from_dasd(ctx: Context, req: FrRecov, found: Found, start: Start) -> str:
    with ctx.catalog.session() as s:
        pairs = {p.source: p.target for p in repo.pairs(s, found.version.key)}
    mode = req.fast_replication or ctx.setsys().dataset_recovery  # SETSYS decides when FRRECOV does not
    used: set[str] = set()
    start({"targets": {e.volser: pairs[e.volser] for e in found.info.extents}})
    for e in found.info.extents:
        tgt = pairs[e.volser]
        if mode != "NONE":
            request = EstablishRequest(tgt, e.volser, e.first, e.first, e.tracks, label=f"HSM DSN {found.info.name}")
            try:
                ctx.batch(lambda core: core.establish(request))
                used.add("data set FlashCopy")
                continue
            except FlashCopyError as exc:
                if mode == "REQUIRED":
                    raise Refused(26, f"FlashCopy was required but refused: {exc}") from None
        data = ctx.flashcopy.read_run_blocking(tgt, e.first, e.tracks)
        ctx.flashcopy.write_run_blocking(e.volser, e.first, data)
        used.add("traditional copy")
    return " and ".join(sorted(used))


def verified_dumps(ctx: Context, req: FrRecov, found: Found) -> dict[str, tuple[DumpCopyRow, dict[int, bytes]]]:
    """The dump copy of each of the data set's volumes (FROMDUMP's choice) with its tracks, every
    tape verified before anything is written: none is used from a damaged one (RC 28)."""
    fd = req.from_dump
    assert fd is not None
    copies: dict[str, DumpCopyRow] = {}
    with ctx.catalog.session() as s:
        pool = repo.held_copy_pool(s, found.pool)
        for v in found.info.volumes:
            c = dump.choose_dump(s, pool, found.version, v, fd.dump_class, fd.dump_volume)
            if c.copy is None:
                raise Refused(c.rc if c.rc != 42 else 18, c.why)
            copies[v] = c.copy
    out = {}
    for v, copy in copies.items():
        try:
            header, tracks = dump.read_copy(ctx.root, copy)
        except TapeError as exc:
            raise Refused(28, str(exc)) from None
        if header.source != v:
            raise Refused(28, f"tape {copy.tape} holds {header.source}, not {v}")
        out[v] = (copy, tracks)
    return out


def _from_dump(ctx: Context, req: FrRecov, found: Found, start: Start) -> str:
    verified = verified_dumps(ctx, req, found)
    copies = {v: copy for v, (copy, _) in verified.items()}
    tracks_by_vol = {v: tracks for v, (_, tracks) in verified.items()}
    start({"copies": {v: copy.key for v, copy in copies.items()}})
    for e in found.info.extents:
        ts = ctx.volume(e.volser).geometry.track_size
        zero = bytes(ts)
        tracks = tracks_by_vol[e.volser]
        ctx.flashcopy.write_run_blocking(
            e.volser, e.first, [tracks.get(k, zero) for k in range(e.first, e.first + e.tracks)]
        )
    return "from tape " + " ".join(sorted({copy.tape for copy in copies.values()}))


__all__ = [
    "DataSetRecovery",
    "Found",
    "Refused",
    "begin_intent",
    "dump_refusal",
    "end_intent",
    "failed",
    "find_backup",
    "finish_interrupted",
    "frrecov_datasets",
    "plan_datasets",
]
