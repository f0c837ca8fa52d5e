"""FRRECOV DSNAME(dsn) NEWNAME(newdsn): the everyday data set restore — a data set's backup
recovered beside the original, under a new name, so the two can be compared and swapped. The
original is never touched.

The new data set gets as many tracks as the data set had at backup time, first fit on the volumes
DFSMShsm would choose: the data set's own backup-time volumes first, then the other volumes of
their storage groups. Its data comes from the version's targets (by data set FlashCopy onto the
new extents, or a traditional copy, as FASTREPLICATION says) or from the dump tape. A new name
that exists is refused unless REPLACE is given (ARC1866I RC 22); with REPLACE that data set is
scratched first. No room: ARC1866I RC 32.

Crash safety as for every data set recovery: an intent names the new extents and every run of
tracks to move before the first track moves; Site.open does the moves again and catalogs the
new data set (finish_moves).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from engine.catalog import constructs as repo
from engine.catalog.models import DumpCopyRow
from engine.command import FrRecov
from engine.datasets.info import DataSetInfo, Extent
from engine.errors import FlashCopyError
from engine.flashcopy import EstablishRequest, FlashCopyCore
from engine.hsm import dump, rules
from engine.hsm.dsrecover import (
    DataSetRecovery,
    Found,
    Refused,
    begin_intent,
    dump_refusal,
    end_intent,
    failed,
    find_backup,
    may_recover,
    pools_holding,
    verified_dumps,
)
from engine.hsm.rules import Checks, Refusal
from engine.messages import CommandResult
from engine.visibility import visibility

if TYPE_CHECKING:
    from engine.hsm.context import Context


@dataclass(frozen=True, slots=True)
class Move:
    """A run of tracks: from the backup-time volume `source` (read from its target, or its tape)
    at `first`, to `volser` at `to`."""

    source: str
    first: int
    volser: str
    to: int
    tracks: int


@dataclass
class NewNamePlan:
    recovery: DataSetRecovery  # what plan_datasets reports (the checks, the refusal)
    found: Found | None = None
    existing: DataSetInfo | None = None  # the data set that already has the new name (REPLACE)
    extents: tuple[Extent, ...] = ()  # where the new data set goes


def plan_newname(ctx: Context, req: FrRecov, checks: Checks) -> NewNamePlan:
    assert req.newname is not None
    (name,) = req.dsnames
    new = req.newname
    plan = NewNamePlan(DataSetRecovery({}, {}, [], []))
    existing = ctx.datasets.get(new)
    hit = find_backup(ctx, req, name, ctx.datasets.get(name))
    label, refusal = f"{name} is in a backup version", hit if isinstance(hit, Refusal) else None
    found = None if isinstance(hit, Refusal) else hit
    if refusal is None and found is not None:
        seen = visibility(ctx.catalog, ctx.guard, ctx.who)
        label, refusal = (  # the data set that comes back, and the one it replaces
            f"{name} may be recovered as {new} by {ctx.who.user}",
            may_recover(ctx, seen, name, {found.pool})
            or (may_recover(ctx, seen, new, pools_holding(ctx, existing)) if existing else None),
        )
    if refusal is None:
        label, refusal = f"{new} may be written", rules.dataset_replace(new, existing is not None, req.replace)
    if refusal is None and found is not None:
        label, refusal = (
            f"{name}'s backup volumes are available",
            rules.dataset_volumes(name, found.info.volumes, ctx.volumes),
        )
    extents: tuple[Extent, ...] = ()
    if refusal is None and found is not None:
        placed = place(ctx, found.info, existing if req.replace else None)
        label = f"{new} has room for {found.info.tracks} track(s)"
        if placed is None:
            refusal = rules.dataset_refusal(
                32,
                f"no room for {found.info.tracks} track(s) of {new} on {', '.join(candidates(ctx, found.info))}",
                "no-room",
            )
        else:
            extents = placed
    if refusal is None and found is not None and req.from_dump:
        label, refusal = f"{name}'s volumes have dump copies", dump_refusal(ctx, req, found)
    if refusal is None and found is not None:
        where = " ".join(dict.fromkeys(e.volser for e in extents))
        label = f"{name} can be recovered as {new} from {found.pool} version {found.version.version:03d} onto {where}"
    if checks.record(label, refusal):
        assert found is not None
        plan.recovery.found[name], plan.recovery.current[name] = found, existing
        plan.found, plan.existing, plan.extents = found, existing, extents
    else:
        assert refusal is not None
        plan.recovery.refused.append((name, refusal))
    return plan


def candidates(ctx: Context, info: DataSetInfo) -> list[str]:
    """The volumes DFSMShsm would choose for a data set recovered under a new name: its own
    backup-time volumes, then the other volumes of their storage groups."""
    own = list(dict.fromkeys(e.volser for e in info.extents))
    with ctx.catalog.session() as s:
        groups = [g for v in own if (row := repo.volume(s, v)) is not None and (g := row.storage_group)]
        more = [r.volser for g in dict.fromkeys(groups) for r in repo.group_volumes(s, g)]
    return own + [v for v in dict.fromkeys(more) if v not in own and v in ctx.volumes]


def place(ctx: Context, info: DataSetInfo, replaced: DataSetInfo | None) -> tuple[Extent, ...] | None:
    """First fit for `info.tracks` tracks over the candidate volumes (the extents of a data set
    about to be replaced count as free); None when they do not fit."""
    need, out = info.tracks, []
    for volser in candidates(ctx, info):
        free = ctx.datasets.free_extents(volser)
        if replaced is not None:
            free = _merged(free + [e for e in replaced.extents if e.volser == volser])
        for ext in free:
            take = min(ext.tracks, need)
            out.append(Extent(volser, ext.first, take))
            need -= take
            if not need:
                return tuple(out)
    return None


def _merged(extents: list[Extent]) -> list[Extent]:
    out: list[Extent] = []
    for e in sorted(extents, key=lambda x: x.first):
        if out and out[-1].first + out[-1].tracks >= e.first:
            last = out[-1]
            out[-1] = Extent(last.volser, last.first, max(last.last, e.last) - last.first + 1)
        else:
            out.append(e)
    return out


def moves(source: tuple[Extent, ...], to: tuple[Extent, ...]) -> list[Move]:
    """The backup-time tracks, in order, onto the new extents, in order, as runs."""
    out: list[Move] = []
    dst = [(e.volser, e.first, e.tracks) for e in to]
    i, used = 0, 0
    for e in source:
        pos, left = e.first, e.tracks
        while left:
            volser, first, n = dst[i]
            take = min(left, n - used)
            out.append(Move(e.volser, pos, volser, first + used, take))
            pos, left, used = pos + take, left - take, used + take
            if used == n:
                i, used = i + 1, 0
    return out


def frrecov_newname(ctx: Context, req: FrRecov, res: CommandResult) -> None:
    assert req.newname is not None
    plan = plan_newname(ctx, req, Checks())
    for name, r in plan.recovery.refused:
        failed(res, name, r.rc, r.text)
    found = plan.found
    if found is None:
        return
    (name,) = req.dsnames
    new = req.newname
    info = DataSetInfo(new, found.info.dsorg, plan.extents, found.info.bytes_used, ctx.clock())
    runs = moves(found.info.extents, plan.extents)
    try:
        if req.from_dump:
            source, how = _tape_source(ctx, req, found)
        else:
            source, how = _dasd_source(ctx, found), ""
    except Refused as exc:
        failed(res, name, exc.rc, exc.why)
        return
    payload: dict[str, object] = {
        "moves": [[m.source, m.first, m.volser, m.to, m.tracks] for m in runs],
        "source": source,
        "source_kind": "tape" if req.from_dump else "dasd",
    }
    iid = begin_intent(ctx, found, plan.existing, payload, info)
    if plan.existing is not None:
        ctx.datasets.delete(new)  # REPLACE: the data set that had the new name goes
    ctx.datasets.recatalog(info)
    written = {e.volser for e in info.extents} | set(plan.existing.volumes if plan.existing else ())
    ctx.datasets.write_vtocs(written)
    try:
        copied = _copy(ctx, req, runs, source, str(payload["source_kind"]))
    except Refused as exc:  # FlashCopy required but refused: nothing of the new data set is kept
        ctx.datasets.delete(new)
        end_intent(ctx, iid, written)
        failed(res, name, exc.rc, exc.why)
        return
    end_intent(ctx, iid, written)
    how = how or copied
    res.add(
        "FPL132I",
        f"DATA SET {name} RECOVERED AS {new} FROM {found.pool} VERSION {found.version.version:03d} TO "
        f"{' '.join(dict.fromkeys(e.volser for e in info.extents))} ({how}), CATALOGED; {name} IS UNCHANGED",
    )
    res.add("FPL131I", "1 OF 1 DATA SET(S) RECOVERED")


def _dasd_source(ctx: Context, found: Found) -> dict[str, Any]:
    with ctx.catalog.session() as s:
        pairs = {p.source: p.target for p in repo.pairs(s, found.version.key)}
    return {v: pairs[v] for v in found.info.volumes}


def _tape_source(ctx: Context, req: FrRecov, found: Found) -> tuple[dict[str, Any], str]:
    copies = {v: copy for v, (copy, _) in verified_dumps(ctx, req, found).items()}
    return {v: c.key for v, c in copies.items()}, "from tape " + " ".join(sorted({c.tape for c in copies.values()}))


def _copy(ctx: Context, req: FrRecov, runs: list[Move], source: dict[str, Any], kind: str) -> str:
    """The runs, as FASTREPLICATION says for DASD (data set FlashCopy, else a traditional copy),
    or from the tapes."""
    if kind == "tape":
        tapes: dict[str, dict[int, bytes]] = {}
        for m in runs:
            if m.source not in tapes:
                with ctx.catalog.session() as s:
                    copy = s.get(DumpCopyRow, source[m.source])
                assert copy is not None
                tapes[m.source] = dump.read_copy(ctx.root, copy)[1]
            zero = bytes(ctx.volume(m.volser).geometry.track_size)
            data = [tapes[m.source].get(k, zero) for k in range(m.first, m.first + m.tracks)]
            ctx.flashcopy.write_run_blocking(m.volser, m.to, data)
        return "from tape"
    mode = req.fast_replication or ctx.setsys().dataset_recovery  # SETSYS decides when FRRECOV does not
    used: set[str] = set()
    for m in runs:
        target = source[m.source]
        if mode != "NONE":
            request = EstablishRequest(target, m.volser, m.first, m.to, m.tracks, label=f"HSM DSN {req.newname}")
            try:
                ctx.batch(partial(_establish, request))
                used.add("data set FlashCopy")
                continue
            except FlashCopyError as exc:
                if mode == "REQUIRED":
                    raise Refused(26, f"FlashCopy was required but refused: {exc}") from None
        ctx.flashcopy.write_run_blocking(m.volser, m.to, ctx.flashcopy.read_run_blocking(target, m.first, m.tracks))
        used.add("traditional copy")
    return " and ".join(sorted(used))


def _establish(request: EstablishRequest, core: FlashCopyCore) -> None:
    core.establish(request)


def finish_moves(ctx: Context, payload: dict[str, Any]) -> str:
    """Site.open: a NEWNAME recovery a crash interrupted is done again from its source and the
    new data set cataloged where the intent says (blocking; nothing else runs yet)."""
    core = ctx.flashcopy.core
    name = payload["name"]
    extents = tuple(Extent(v, first, n) for v, first, n in payload["extents"])
    runs = [Move(*m) for m in payload["moves"]]
    volumes = sorted({e.volser for e in extents} | set(payload["old_volumes"]))
    needed = set(volumes) | (
        {str(v) for v in payload["source"].values()} if payload["source_kind"] == "dasd" else set()
    )
    missing = [v for v in sorted(needed) if v not in ctx.volumes]
    if missing:
        return (
            f"DATA SET RECOVERY AS {name} WAS INTERRUPTED AND CANNOT BE FINISHED NOW ({', '.join(missing)} "
            f"UNAVAILABLE); RE-ISSUE THE FRRECOV WITH NEWNAME({name}) REPLACE"
        )
    if payload["source_kind"] == "tape":
        tapes: dict[str, dict[int, bytes]] = {}
        for m in runs:
            if m.source not in tapes:
                with ctx.catalog.session() as s:
                    copy = s.get(DumpCopyRow, payload["source"][m.source])
                tapes[m.source] = dump.read_copy(ctx.root, copy)[1] if copy is not None else {}
            zero = bytes(core.volume(m.volser).geometry.track_size)
            core.write_run(m.volser, m.to, [tapes[m.source].get(k, zero) for k in range(m.first, m.first + m.tracks)])
    else:
        for m in runs:
            core.write_run(m.volser, m.to, core.read_run(payload["source"][m.source], m.first, m.tracks))
    ctx.datasets.recatalog(DataSetInfo(name, payload["dsorg"], extents, payload["bytes_used"], payload["created_at"]))
    for v in volumes:
        core.write_run(v, 0, ctx.datasets.vtoc_image(v))
    return f"DATA SET RECOVERY AS {name} WAS INTERRUPTED AND HAS BEEN FINISHED: IT HOLDS ITS BACKUP, CATALOGED"


__all__ = ["Move", "NewNamePlan", "candidates", "finish_moves", "frrecov_newname", "moves", "place", "plan_newname"]
