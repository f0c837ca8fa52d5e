"""What a command would do before it runs, as a dry run of the command itself: its own planning
(`plans.plan`) says which volumes are overwritten, which versions become invalid, roll off or
go, which dump copies and tapes are deleted, how many tracks will move and from where, and
the time that takes (bitmaps only, background copy at the measured rate, or a tape read).
Nothing is changed. Blocking (reads the catalog): call it from a worker thread."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.catalog import constructs as repo
from engine.command import FrBackup, FrDelete, FrRecov, Request, parse_command
from engine.hsm import backup, delete, dsrecover, recover
from engine.hsm import pool as pools
from engine.hsm.plans import plan
from engine.hsm.rules import Checks, Method, Refused, version_name

if TYPE_CHECKING:
    from engine.hsm.context import Context

#: Planning rates (bytes per second), what bench.copy and bench.dump measure on this machine.
COPY_RATE = 1.0e9
TAPE_RATE = 2.5e8


class Work(enum.Enum):
    BITMAPS = "bitmaps only"
    COPY = "background copy"
    TAPE = "tape read"


@dataclass
class Impact:
    command: str
    copy_pool: str | None
    destructive: bool
    lines: list[str] = field(default_factory=list)
    refused: str = ""  # the refusal, when the command will not run
    volumes_overwritten: list[str] = field(default_factory=list)
    versions_invalidated: list[int] = field(default_factory=list)  # roll off, invalid, or deleted
    tapes_deleted: list[str] = field(default_factory=list)
    moves: dict[str, int] = field(default_factory=dict)  # volume or data set -> tracks
    bytes_per_track: int = 0
    work: Work = Work.BITMAPS
    tape_bytes: int = 0

    @property
    def tracks_to_move(self) -> int:
        return sum(self.moves.values())

    @property
    def bytes_to_move(self) -> int:
        return self.tape_bytes if self.work is Work.TAPE else self.tracks_to_move * self.bytes_per_track

    @property
    def seconds(self) -> float:
        return self.bytes_to_move / (TAPE_RATE if self.work is Work.TAPE else COPY_RATE)

    def estimate(self) -> str:
        if self.work is Work.BITMAPS or not self.bytes_to_move:
            return "instant (bitmaps and catalog only; no data moves)"
        s = self.seconds
        what = "reading the dump tape" if self.work is Work.TAPE else "background copy"
        return (
            f"under a second of {what}"
            if s < 1
            else f"about {s:.0f} s of {what}"
            if s < 120
            else f"about {s / 60:.0f} min of {what}"
        )


def impact(ctx: Context, command: str | Request) -> Impact:
    req = parse_command(command) if isinstance(command, str) else command
    text = command if isinstance(command, str) else repr(command)
    if not isinstance(req, FrRecov | FrBackup | FrDelete):
        return Impact(text, None, False, ["changes nothing"])
    pool = req.copypool if not isinstance(req, FrRecov) else req.copypool or req.from_copypool
    im = Impact(text, pool, not isinstance(req, FrBackup))
    try:
        p = plan(ctx, req, Checks())
    except Refused as exc:
        r = exc.refusal
        im.refused = r.text
        im.lines.append(f"nothing: {r.text} (the command will fail with RC {r.rc})")
        return im
    core = ctx.flashcopy.core
    if isinstance(p, recover.PoolRecovery):
        im.volumes_overwritten = [x.source for x in p.todo]
        im.moves = dict(p.moves)
        im.work = Work.COPY
        how = (
            "fast reverse restore: only tracks changed since the backup move back"
            if p.frr
            else "reversal of the incremental pairs: changed tracks only"
            if p.incremental
            else "regular FlashCopy: every track of every volume is copied back"
        )
        im.lines.append(f"recovers {version_name(p.version)} of {p.pool.name} by {how}")
        for x in p.todo:
            way = p.methods[x.source].value if p.methods else "reversal" if p.incremental else "regular"
            im.lines.append(f"{x.source} comes back from {x.target} ({way}): {p.moves[x.source]:,} tracks")
        done = [x.source for x in p.pairs if p.methods and p.methods[x.source] is Method.DONE]
        if done:
            im.lines.append(
                f"{' '.join(done)} were already restored by an earlier fast reverse restore and are left alone"
            )
        if p.frr:
            im.versions_invalidated.append(p.version.version)
            im.lines.append(f"{version_name(p.version)} becomes INVALID afterwards; the other versions stay valid")
        else:
            im.lines.append(f"{version_name(p.version)} stays valid; the other versions stay valid")
        im.lines.append(f"lost: what was written on {' '.join(im.volumes_overwritten)} since the backup")
    elif isinstance(p, recover.VolumeRecovery):
        im.volumes_overwritten = [p.pair.source]
        im.moves = {p.pair.source: p.tracks}
        im.work = Work.COPY
        im.lines.append(
            f"overwrites {p.pair.source} from {p.pair.target} ({version_name(p.version)}, regular FlashCopy)"
        )
    elif isinstance(p, recover.DumpRecovery):
        im.work = Work.TAPE
        for src, c in p.copies.items():
            im.volumes_overwritten.append(src)
            im.tape_bytes += c.bytes_stored
            im.lines.append(f"overwrites {src} from tape {c.tape} file {c.file_index + 1} ({c.dump_class})")
        for src, r in p.refused:
            im.lines.append(f"{src} is not recovered: {r.text}")
    elif isinstance(p, dsrecover.DataSetRecovery):
        im.work = Work.TAPE if req.from_dump else Work.COPY  # type: ignore[union-attr]
        for name, found in p.found.items():
            im.moves[name] = sum(e.tracks for e in found.info.extents)
            im.lines.append(
                f"{name} comes back from {found.pool} {version_name(found.version)}: {im.moves[name]:,} tracks"
                + (" (it exists and is replaced)" if p.current[name] is not None else "")
            )
        for name, r in p.refused:
            im.lines.append(f"{name} is not recovered: {r.text}")
    elif isinstance(p, delete.Delete):
        im.versions_invalidated = sorted(p.deleted + p.kept if p.dasd else p.deleted)
        im.tapes_deleted = p.tapes
        for v in p.chosen:
            gone = v.version in p.deleted
            im.lines.append(
                f"{version_name(v)}: "
                + (
                    "deleted"
                    if gone
                    else "its DASD copy goes, its dump copies stay"
                    if p.dasd
                    else "its dump copies go, its DASD copy stays"
                )
            )
        if p.tapes:
            im.lines.append(f"tapes scratched: {' '.join(p.tapes)}")
    elif isinstance(p, backup.Withdraw):
        im.destructive = True
        keep = p.version.incremental and all(
            (rel := core.find(x.relationship_id)) is None or not rel.uncopied.any()
            for x in p.pairs
            if x.relationship_id
        )
        if not keep:
            im.versions_invalidated.append(p.version.version)
        im.lines.append(
            f"withdraws the relationships of {version_name(p.version)}: "
            + (
                "it stays valid (its copy is complete)"
                if keep
                else "it becomes INVALID"
                if p.generation == 0 or p.has_dumps
                else "it is deleted"
            )
        )
    elif isinstance(p, backup.Prepare):
        im.lines.append(f"assigns {p.sets} target set(s) for {p.sources} source volume(s); no data moves")
    elif isinstance(p, backup.Plan):
        rolled = p.rolled_off
        if rolled is not None:
            im.destructive = True
            im.versions_invalidated.append(rolled.version)
            im.lines.append(f"{version_name(rolled)} rolls off: its DASD copy is replaced")
        for extra in p.excess:
            im.destructive = True
            im.versions_invalidated.append(extra.version)
            im.lines.append(f"{version_name(extra)} rolls off too: VERSIONS is {p.pool.versions}")
        im.work = Work.COPY
        im.moves = dict(p.moves)
        im.lines.append(
            f"flashes {len(p.pairs)} volume(s) at one point in time as version {p.number:03d}"
            + (" (incremental refresh: changed tracks only)" if p.refresh else "")
        )
    elif isinstance(p, tuple):  # DUMPONLY
        common, version = p
        im.work = Work.BITMAPS
        if common.pool.versions == 0:
            im.versions_invalidated.append(version.version)
            im.lines.append(
                f"dumps {version_name(version)} to tape; then (VERSIONS=0) its NOCOPY DASD copy is "
                f"withdrawn and it lives on as dump copies"
            )
        else:
            im.lines.append(f"dumps {version_name(version)} to tape; nothing on DASD changes")
    vols = [v for v in im.volumes_overwritten if v in core.volumes]
    im.bytes_per_track = core.volumes[vols[0]].geometry.track_size if vols else _track_size(ctx, pool)
    im.lines.append(f"tracks to move: {im.tracks_to_move:,} ({im.bytes_to_move / 1e6:,.1f} MB); time: {im.estimate()}")
    return im


def _track_size(ctx: Context, pool: str | None) -> int:
    with ctx.catalog.session() as s:
        row = repo.copy_pool(s, pool) if pool else None
        srcs = pools.sources(s, row) if row else []
    return srcs[0].track_size if srcs else 0
