"""Dumps to tape: FRBACKUP DUMP / DUMPONLY, automatic dump, expiry, and restores from dump.

A dump copies each target volume's *logical* content (the version's point in time, even while
its background copy still runs) to tape files in the site's tape library, one dump copy per
dump class; dump copies carry the DASD copy's time stamp, not the time of the dump.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, col, delete, select

from engine import messages as msg
from engine.catalog import constructs as repo
from engine.catalog import counters, reads
from engine.catalog.models import (
    BackupVersionRow,
    CopyPoolRow,
    DumpClassRow,
    DumpCopyRow,
    TapeRow,
    VersionPairRow,
)
from engine.catalog.reads import DumpCopyLike
from engine.hsm import dumpcycle
from engine.hsm.tape import FileHeader, TapeError, TapeWriter, dump_volume, read_file
from engine.messages import CommandResult
from engine.paths import OutsideSite, inside
from engine.states import ClassState, DasdState, DumpCopyState, DumpState, Origin, TapeState

if TYPE_CHECKING:
    from engine.flashcopy import FlashCopyCore
    from engine.hsm.context import Context

DAY = 86_400.0


def read_copy(root: Path, copy: DumpCopyRow) -> tuple[FileHeader, dict[int, bytes]]:
    """One dump copy's tracks, after verifying its own tape file (blocking: use a thread)."""
    try:
        path = inside(root, copy.file, "tapes")
    except OutsideSite as exc:
        raise TapeError(str(exc)) from None
    return read_file(path, copy.file_index, copy.file_offset)


def _next_tape(s: Session) -> str:
    """A new tape volser, recorded WRITING in the caller's transaction: cleanup never touches it
    until the dump that writes it has finished."""
    while True:
        volser = f"T{counters.next_tape(s):05d}"
        if repo.volume(s, volser) is None:
            break
    s.add(TapeRow(volser=volser, file=f"tapes/{volser}.tape"))
    return volser


def dump_version(ctx: Context, version_id: int, classes: tuple[str, ...], res: CommandResult) -> bool:
    """Dump every target of the version to every class; returns True when all completed."""
    core = ctx.flashcopy.core
    root = ctx.root

    def load() -> tuple[BackupVersionRow | None, list[VersionPairRow], set[tuple[str, str]], list[DumpClassRow]]:
        with ctx.catalog.session() as s:
            return (
                s.get(BackupVersionRow, version_id),
                repo.pairs(s, version_id),
                {
                    (d.dump_class, d.source)
                    for d in repo.dump_copies(s, version_id)
                    if d.state == DumpCopyState.COMPLETE
                },
                [dc for c in classes if (dc := repo.dump_class(s, c)) is not None],
            )

    version, pairs, done, dcs = load()
    if version is None or not DasdState(version.dasd_state).dumpable or len(dcs) != len(classes):
        res.add(
            "ARC1806E",
            "FAST REPLICATION BACKUP DUMP HAS FAILED, RC=0008 - the version "
            + (
                "no longer exists"
                if version is None
                else f"{version.version:03d} is {version.dasd_state}; only a valid DASD copy can be dumped"
                if len(dcs) == len(classes)
                else "names a dump class that is not defined"
            ),
        )
        return False
    missing = sorted({p.target for p in pairs if p.target not in ctx.volumes})
    if missing:
        res.add(
            "ARC1806E",
            f"FAST REPLICATION BACKUP DUMP HAS FAILED, RC={int(msg.Rc.VOLUME_UNAVAILABLE):04d} - "
            f"target volume(s) unavailable: {', '.join(missing)}",
        )
        return False
    ok = True
    ctx.shared.dumping |= {p.target for p in pairs}
    try:
        for dc in dcs:
            todo = [p for p in pairs if (dc.name, p.source) not in done]
            for i in range(0, len(todo), dc.stack):
                batch = todo[i : i + dc.stack]
                tape = _new_tape(ctx)
                path = root / "tapes" / f"{tape}.tape"
                writer = TapeWriter(path)
                try:
                    completed = sum(_dump_one(ctx, core, writer, version, p, dc, tape, path, res) for p in batch)
                finally:
                    writer.close()
                    _tape_full(ctx, tape)
                ok &= completed == len(batch)
                if completed:  # a failed volume has its ARC1806E: ADR006I counts only the dumped ones
                    res.add(
                        "ARC0640I",
                        f"ARCFRTM - ADR006I DUMP OF {completed} VOLUME(S) TO TAPE {tape} FOR DUMP CLASS {dc.name} COMPLETED",
                    )
    finally:
        ctx.shared.dumping -= {p.target for p in pairs}
    return ok


def _new_tape(ctx: Context) -> str:
    """Dumps of different copy pools run at the same time: one tape volser each (the race test
    found two background dumps reading the same counter)."""
    with ctx.shared.tape_lock, ctx.catalog.session() as s:
        tape = _next_tape(s)
        s.commit()
    return tape


def _tape_full(ctx: Context, tape: str) -> None:
    with ctx.catalog.session() as s:
        row = s.get(TapeRow, tape)
        if row is not None:
            row.state = TapeState.FULL
            s.add(row)
            s.commit()


def _dump_one(
    ctx: Context,
    core: FlashCopyCore,
    writer: TapeWriter,
    version: BackupVersionRow,
    p: VersionPairRow,
    dc: DumpClassRow,
    tape: str,
    path: Path,
    res: CommandResult,
) -> bool:
    vol = core.volume(p.target)
    g = vol.geometry
    header = FileHeader(
        copy_pool=version.copy_pool,
        version=version.version,
        token=version.token.hex(),
        source=p.source,
        target=p.target,
        point_in_time=version.created_at,
        dumped_at=ctx.clock(),
        dump_class=dc.name,
        model=g.model,
        cylinders=g.cylinders,
        tracks_per_cylinder=g.tracks_per_cylinder,
        track_size=g.track_size,
    )
    try:
        index, count, stored = dump_volume(writer, header, lambda first, n: core.read_run(p.target, first, n))
    except OSError as exc:
        res.add("ARC1806E", f"FAST REPLICATION BACKUP DUMP HAS FAILED FOR VOLUME {p.source}, RC=0012 - {exc}")
        state, index, count, stored = DumpCopyState.FAILED, 0, 0, 0
    else:
        state = DumpCopyState.COMPLETE  # recorded only now: the file is on the tape and flushed
    expires = version.created_at + dc.retention_days * DAY if dc.retention_days else None
    row = DumpCopyRow(
        version_id=version.key,
        dump_class=dc.name,
        source=p.source,
        tape=tape,
        file=str(path.relative_to(ctx.root)),
        file_index=index,
        file_offset=writer.offset,
        state=state,
        created_at=version.created_at,
        expires_at=expires,
        bytes_stored=stored,
        tracks=count,
    )

    def record() -> None:
        """The copy and its version's DUMPSTATE in one transaction: a crash at any point leaves
        the version saying what its copies say."""
        with ctx.catalog.session() as s:
            s.add(row)
            s.flush()
            refresh_dump_state(s, version.key)
            s.commit()

    record()
    return state == DumpCopyState.COMPLETE


def refresh_dump_state(s: Session, version_id: int) -> None:
    """DUMPSTATE of a version from its dump copies and its copy pool's classes."""
    version = s.get(BackupVersionRow, version_id)
    if version is None:
        return
    copies = repo.dump_copies(s, version_id)
    sources = {p.source for p in repo.pairs(s, version_id)} or {c.source for c in copies}
    classes = {c.dump_class for c in copies} | {
        link.dump_class for link in repo.pool_dump_classes(s, version.copy_pool)
    }
    complete = {
        c
        for c in classes
        if sources and sources <= {d.source for d in copies if d.dump_class == c and d.state == DumpCopyState.COMPLETE}
    }
    required = {c for c in classes if (dc := repo.dump_class(s, c)) and dc.fast_replication_dump == "REQUIRED"}
    if not copies:
        version.dump_state = DumpState.NONE
    elif classes and complete == classes:
        version.dump_state = DumpState.ALLCOMPLETE
    elif required and required <= complete:
        version.dump_state = DumpState.REQUIREDCOMPLETE
    else:
        version.dump_state = DumpState.PARTIAL
    s.add(version)


def class_state(s: Session, version_id: int, dump_class: str) -> ClassState:
    return state_of_class(repo.dump_copies(s, version_id), {p.source for p in repo.pairs(s, version_id)}, dump_class)


def state_of_class(every: Iterable[DumpCopyLike], sources: set[str], dump_class: str) -> ClassState:
    """A dump class's state for a version, from its dump copies and the version's source
    volumes: COMPLETE when every source has a complete copy, FAILED when a copy failed."""
    copies = [d for d in every if d.dump_class == dump_class]
    sources = sources or {c.source for c in copies}
    good = {d.source for d in copies if d.state == DumpCopyState.COMPLETE}
    if sources and sources <= good:
        return ClassState.COMPLETE
    return ClassState.FAILED if any(d.state == DumpCopyState.FAILED for d in copies) else ClassState.PARTIAL


def expire(ctx: Context, tidy: bool = True) -> list[str]:
    """Invalidate dump copies past their retention; drop versions left with no copy at all.
    `tidy`: then scratch the tapes no copy is left on (the schedule's expiry; a LIST, which
    expires only so it never shows an expired copy, leaves the tapes to it)."""
    now = ctx.clock()
    gone: list[str] = []
    if not tidy:  # a LIST: most of the time nothing has expired, and one prebuilt read says so
        with ctx.catalog.reading() as c:
            if not reads.any_expired(c, now):
                return gone
    with ctx.catalog.session() as s:
        expired = col(DumpCopyRow.expires_at)
        rows = s.exec(select(DumpCopyRow).where(expired.is_not(None), expired < now)).all()
        if not rows and not tidy:
            return gone
        touched = set()
        for d in rows:
            gone.append(f"{d.tape}({d.source})")
            touched.add(d.version_id)
            s.delete(d)
        s.flush()
        for vid in touched:
            v = s.get(BackupVersionRow, vid)
            if v is not None and v.dasd_state == DasdState.NONE and not repo.dump_copies(s, vid):
                repo.delete_version(s, v)
            else:
                refresh_dump_state(s, vid)
        s.commit()
    if tidy or gone:
        remove_unused_tapes(ctx)
    return gone


def remove_unused_tapes(ctx: Context) -> None:
    """Scratch every FULL tape that holds no dump copy any more. Only tapes the catalog names
    are touched (its row goes first, so a crash leaves at most a nameless file that the next
    open removes); a WRITING tape - or a file whose row is being created right now - never."""
    root = ctx.root
    with ctx.catalog.session() as s:
        # tapes first: a tape FULL now has all its copies committed, so the read after sees them
        # (the two reads are not one snapshot)
        full = list(s.exec(select(TapeRow).where(TapeRow.state == TapeState.FULL)).all())
        used = {d.file for d in s.exec(select(DumpCopyRow)).all()}
        scratch = [t for t in full if t.file not in used]
        if scratch:
            s.exec(delete(TapeRow).where(col(TapeRow.volser).in_([t.volser for t in scratch])))
            s.commit()
    for t in scratch:
        try:
            inside(root, t.file, "tapes").unlink(missing_ok=True)
        except OutsideSite:
            pass  # a crafted row: its catalog entry is gone, the file it names is not ours to delete


def check_unfinished_tapes(s: Session, root: Path) -> list[str]:
    """At open: tapes still WRITING were being written when the process ended. Each dump copy
    on them is verified on its own; a copy whose file is cut short or damaged is marked FAILED
    (LIST shows it), the others stay COMPLETE. The caller commits."""
    out: list[str] = []
    for tape in s.exec(select(TapeRow).where(TapeRow.state == "WRITING")).all():
        for c in s.exec(select(DumpCopyRow).where(DumpCopyRow.tape == tape.volser)).all():
            if c.state != DumpCopyState.COMPLETE:
                continue
            try:
                read_copy(root, c)
            except TapeError as exc:
                c.state = DumpCopyState.FAILED
                s.add(c)
                out.append(f"DUMP COPY OF {c.source} ON TAPE {c.tape} ({c.dump_class}) IS FAILED: {exc}")
        for vid in {c.version_id for c in s.exec(select(DumpCopyRow).where(DumpCopyRow.tape == tape.volser)).all()}:
            refresh_dump_state(s, vid)
        tape.state = TapeState.FULL
        s.add(tape)
        out.append(f"TAPE {tape.volser} WAS BEING WRITTEN WHEN FLASHPOOL STOPPED; ITS DUMP COPIES WERE VERIFIED")
    named = {t.file for t in s.exec(select(TapeRow)).all()}
    for f in sorted((root / "tapes").glob("*.tape")):
        if str(f.relative_to(root)) not in named:  # scratched, but the process ended before the unlink
            f.unlink()
            out.append(
                f"TAPE FILE {f.name} BELONGED TO NO TAPE IN THE CATALOG (A SCRATCH THAT WAS CUT SHORT); IT WAS REMOVED"
            )
    return out


@dataclass(frozen=True, slots=True)
class AutoDump:
    pool: str
    version_id: int
    classes: tuple[str, ...]


def scheduled_jobs(ctx: Context) -> list[AutoDump]:
    """What automatic dump does now, by the dump cycle and AUTODUMPSTART on the site's clock
    (engine.hsm.dumpcycle); marks the day's run started when its window opens."""
    if ctx.held("DUMP", "AUTO"):  # HOLD DUMP(AUTO), HOLD DUMP and HOLD ALL stop it
        return []
    now = ctx.clock()
    values = ctx.setsys()
    w = dumpcycle.window(values, dt.datetime.fromtimestamp(now))
    if w is None:
        return []
    with ctx.catalog.session() as s:
        c = s.connection()
        cycle = dumpcycle.read(c)
        if cycle is None or not cycle.dumps_on(w.opened):
            return []
        if dumpcycle.started_on(c) != w.opened:
            if not w.may_start:
                return []  # past the latest start time: no automatic dump in this window
            dumpcycle.mark_started(c, w.opened)
            s.commit()
        if not w.may_continue:
            return []  # past the quiesce time: no new copy pool is started
        return [AutoDump(d.pool, d.version_id, d.classes) for d in dumpcycle.due(s, cycle.day_of(w.opened), now)]


def auto_dump_jobs(ctx: Context) -> list[AutoDump]:
    """Automatic dump now: the newest DASD version of each AUTODUMP copy pool gets its missing
    dumps (HOLD DUMP(AUTO), HOLD DUMP and HOLD ALL stop it)."""
    if ctx.held("DUMP", "AUTO"):
        return []
    jobs: list[AutoDump] = []
    with ctx.catalog.session() as s:
        for pool in repo.copy_pools(s):
            if not pool.auto_dump:
                continue
            classes = tuple(link.dump_class for link in repo.pool_dump_classes(s, pool.name))
            newest = next((v for v in repo.versions(s, pool.name) if DasdState(v.dasd_state).dumpable), None)
            if classes and newest and newest.dump_state != DumpState.ALLCOMPLETE:
                jobs.append(AutoDump(pool.name, newest.key, classes))
    return jobs


def auto_dump_one(ctx: Context, job: AutoDump, then: Callable[[Context, str, int, CommandResult], None]) -> bool:
    """One job, run holding the pool's serialisation; `then` finishes a VERSIONS=0 version.
    False when the version was replaced or recovered while the job waited."""
    with ctx.catalog.session() as s:
        v = s.get(BackupVersionRow, job.version_id)
        if v is None or not DasdState(v.dasd_state).dumpable:
            return False
    res = CommandResult(f"AUTODUMP COPYPOOL({job.pool})")
    if not dump_version(ctx, job.version_id, job.classes, res):
        res.fail(8)
    then(ctx, job.pool, job.version_id, res)
    ctx.log(res, job.pool, origin=Origin.AUTO)
    return True


# -- restore from dump ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DumpChoice:
    copy: DumpCopyRow | None
    version: BackupVersionRow | None = None
    rc: int = 0
    why: str = ""


def choose_dump(
    s: Session,
    pool: CopyPoolRow,
    version: BackupVersionRow | None,
    source: str,
    dump_class: str | None,
    dump_volume: str | None,
) -> DumpChoice:
    if dump_volume:
        copies = s.exec(select(DumpCopyRow).where(DumpCopyRow.tape == dump_volume)).all()
        if not copies:
            return DumpChoice(None, rc=44, why=f"{dump_volume} is not a copy pool dump volume")
        mine = [c for c in copies if c.source == source]
        if not mine:
            return DumpChoice(
                None,
                rc=46,
                why=f"dump volume {dump_volume} holds {', '.join(sorted({c.source for c in copies}))}, not {source}",
            )
        c = mine[0]
        return DumpChoice(c, s.get(BackupVersionRow, c.version_id))
    assert version is not None
    copies = [c for c in repo.dump_copies(s, version.key) if c.source == source and c.state == DumpCopyState.COMPLETE]
    if not copies:
        return DumpChoice(None, rc=42, why=f"version {version.version:03d} has no dump copy of {source}")
    if dump_class:
        mine = [c for c in copies if c.dump_class == dump_class]
        if not mine:
            return DumpChoice(
                None, rc=48, why=f"dump class {dump_class} has no copy of {source} in version {version.version:03d}"
            )
        return DumpChoice(mine[0], version)
    for c in copies:
        dc = repo.dump_class(s, c.dump_class)
        if dc is None or dc.available_for_mount:
            return DumpChoice(c, version)
    return DumpChoice(
        None, rc=48, why="every dump class of this version says AVAILABLEFORMOUNT(NO); name one with DUMPCLASS"
    )


def restore_volume(ctx: Context, copy: DumpCopyRow, volser: str) -> tuple[int, str]:
    """Verify the tape file, then write the whole volume back through the normal write path.
    Returns (rc, message); on any tape damage nothing is written."""
    if volser not in ctx.volumes:
        why = ctx.unavailable.get(volser, "its image is not open")
        return msg.Rc.VOLUME_UNAVAILABLE, f"volume {volser} is unavailable ({why}); nothing was changed"
    try:
        header, tracks = read_copy(ctx.root, copy)
    except TapeError as exc:
        return msg.Rc.TAPE_DAMAGED, f"{exc}; nothing on {volser} was changed"
    vol = ctx.volume(volser)
    g = vol.geometry
    if header.source != volser:
        return (
            46,
            f"tape {copy.tape} file {copy.file_index + 1} holds {header.source}, not {volser}; nothing was changed",
        )
    if (header.tracks, header.track_size) != (g.tracks, g.track_size):
        return (
            16,
            f"the dump of {header.source} does not fit {volser} ({header.tracks} tracks vs {g.tracks}); nothing was changed",
        )
    zero = bytes(g.track_size)
    step = 256
    for first in range(0, g.tracks, step):
        n = min(step, g.tracks - first)
        ctx.flashcopy.write_run_blocking(volser, first, [tracks.get(first + i, zero) for i in range(n)])
    ctx.make_durable((volser,))  # RC 0 says the volume holds the dump: so it does after a power cut
    return 0, f"{volser} restored from tape {copy.tape} ({len(tracks):,} written tracks)"


__all__ = [
    "AutoDump",
    "auto_dump_jobs",
    "auto_dump_one",
    "check_unfinished_tapes",
    "choose_dump",
    "dump_version",
    "expire",
    "read_copy",
    "restore_volume",
]
