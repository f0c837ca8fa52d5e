"""What a command would do before it runs, as a dry run of the command itself: its own planning
(`plans.plan`) says which volumes are overwritten, which versions become invalid, roll off or
go, which dump copies and tapes are deleted, how many tracks will move and from where, and
the time that takes (bitmaps only, background copy at the measured rate, or a tape read).
Nothing is changed. Blocking (reads the catalog): call it from a worker thread."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow
from engine.command import FrBackup, FrDelete, FrRecov, Request, parse_command
from engine.flashcopy import FlashCopyCore, Relationship
from engine.hsm import backup, delete, dsrecover, recover, standing
from engine.hsm import pool as pools
from engine.hsm.plans import plan
from engine.hsm.rules import Checks, Method, Refused, version_name
from engine.states import DasdState

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
    pace: float = 0.0  # tracks a second the site's background copy moves (Pace.expected)
    pace_from: str = ""  # where that figure comes from
    queued: int = 0  # tracks other copies still have to move first (they share the pace)
    unknown_tracks: list[str] = field(default_factory=list)  # tape copies dumped before tracks were counted

    @property
    def tracks_to_move(self) -> int:
        return sum(self.moves.values())

    @property
    def bytes_to_move(self) -> int:
        return self.tape_bytes if self.work is Work.TAPE else self.tracks_to_move * self.bytes_per_track

    @property
    def seconds(self) -> float:
        if self.work is Work.TAPE:
            return self.tape_bytes / TAPE_RATE
        return (self.queued + self.tracks_to_move) / self.pace if self.pace else 0.0

    def estimate(self) -> str:
        if self.work is Work.BITMAPS or not (self.bytes_to_move or self.unknown_tracks):
            return "instant (bitmaps and catalog only; no data moves)"
        s = self.seconds
        took = (
            "under a second"
            if s < 1
            else f"about {s:.0f} s"
            if s < 120
            else f"about {s / 60:.0f} min"
            if s < 7200
            else f"about {s / 3600:.1f} h"
        )
        if self.work is Work.TAPE:
            return f"{took} reading the dump tape"
        after = f", after {self.queued:,} tracks other copies still move" if self.queued else ""
        return f"{took} of background copy at {self.pace:,.1f} tracks/s ({self.pace_from}){after}"


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
    #: the relationships the command withdraws, reverses or ends: their copies are not queued ahead of its own
    ended: list[Relationship] = []
    #: DASD copies that go but were never recovery points (DUMPONLY: kept only to be dumped)
    not_points = {v.version for v in _chosen(p) if v.dasd_state == DasdState.DUMPONLY}
    if isinstance(p, recover.PoolRecovery):
        im.volumes_overwritten = [x.source for x in p.todo]
        im.moves = dict(p.moves)
        # each volume recovers by reversing its relationship; a regular recovery runs only where none is left
        ended = _live(core, (x.relationship_id for x in p.todo))
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
            if c.tracks >= 0:
                im.moves[src] = c.tracks
            else:
                im.unknown_tracks.append(src)
            im.lines.append(
                f"overwrites {src} from tape {c.tape} file {c.file_index + 1} ({c.dump_class}): "
                + (f"{c.tracks:,} written tracks" if c.tracks >= 0 else "its track count was not recorded")
            )
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
        if p.dasd:
            ended = _live(core, (x.relationship_id for v in p.chosen for x in p.pairs.get(v.key, [])))
            _persistent_withdrawn(im, ended)
        _only_points(ctx, im, pool, p.chosen)
    elif isinstance(p, backup.Withdraw):
        im.destructive = True
        ended = _live(core, (x.relationship_id for x in p.pairs))
        keep = p.version.incremental and not any(rel.uncopied.any() for rel in ended)
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
        _persistent_withdrawn(im, ended)
        if not keep:
            _only_points(ctx, im, pool, [p.version])
    elif isinstance(p, backup.Prepare):
        im.lines.append(f"assigns {p.sets} target set(s) for {p.sources} source volume(s); no data moves")
    elif isinstance(p, backup.Plan):
        rolled = p.rolled_off
        if p.reuse is not None and rolled is None:  # a FAILED version's targets are taken first
            im.lines.append(
                f"reuses the targets of {version_name(p.reuse)}, which is FAILED: its entry goes"
                + (" (its dump copies stay)" if _has_dumps(ctx, p.reuse.key) else "")
            )
        if rolled is not None:
            im.destructive = True
            im.versions_invalidated.append(rolled.version)
            im.lines.append(f"{version_name(rolled)} rolls off: its DASD copy is replaced")
            if rolled.dasd_state == DasdState.DUMPONLY and not _has_dumps(ctx, rolled.key):
                im.lines.append(f"{version_name(rolled)} was never dumped: its point in time goes with its NOCOPY copy")
        for extra in p.excess:
            im.destructive = True
            im.versions_invalidated.append(extra.version)
            im.lines.append(f"{version_name(extra)} rolls off too: VERSIONS is {p.pool.versions}")
        im.work = Work.COPY
        im.moves = dict(p.moves)
        # what flows into its targets is withdrawn, or refreshed (then its tracks are among the moves)
        ended = [rel for tgt in p.pairs.values() for rel in core.incoming(tgt)]
        ended += _live(core, p.excess_relationships)
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
    im.pace, im.pace_from = ctx.flashcopy.pace().expected(COPY_RATE / max(im.bytes_per_track, 1))
    ending = {rel.id for rel in ended}
    im.queued = sum(r.out_of_sync for r in core.copy_candidates() if r.id not in ending) if im.work is Work.COPY else 0
    points = sorted(set(im.versions_invalidated) - not_points)
    if points:
        im.lines.append("versions lost as recovery points: " + ", ".join(f"{n:03d}" for n in points))
    unknown = f" (and an unrecorded number on {' '.join(im.unknown_tracks)})" if im.unknown_tracks else ""
    im.lines.append(
        f"tracks to move: {im.tracks_to_move:,}{unknown} ({im.bytes_to_move / 1e6:,.1f} MB); time: {im.estimate()}"
    )
    return im


def _chosen(p: object) -> list[BackupVersionRow]:
    """The versions a plan rolls off, deletes or dumps (whose DASD copies may go)."""
    if isinstance(p, backup.Plan):
        return [v for v in (p.rolled_off, *p.excess) if v is not None]
    if isinstance(p, delete.Delete):
        return list(p.chosen)
    if isinstance(p, tuple):  # DUMPONLY: (common, the version)
        return [v for v in p if isinstance(v, BackupVersionRow)]
    return []


def _has_dumps(ctx: Context, version_id: int) -> bool:
    with ctx.catalog.session() as s:
        return bool(repo.dump_copies(s, version_id))


def _only_points(ctx: Context, im: Impact, pool: str | None, versions: list[BackupVersionRow]) -> None:
    """Say so when a version that goes is the pool's only recovery point (DASD or tape)."""
    if pool is None:
        return
    with ctx.catalog.session() as s:
        points = standing.points_of(s, pool)
    for v in versions:
        point = points.get(v.key)
        if point is not None and point.only_recovery_point:
            im.lines.append(
                f"{version_name(v)} is the ONLY RECOVERY POINT of {pool}: afterwards nothing of it can be recovered "
                "until the next backup"
            )


def _live(core: FlashCopyCore, ids: Iterable[int | None]) -> list[Relationship]:
    """The relationships of these ids that still exist (a completed copy ended its own)."""
    return [rel for rid in ids if rid and (rel := core.find(rid)) is not None]


def _persistent_withdrawn(im: Impact, withdrawn: list[Relationship]) -> None:
    """The persistent incremental relationships that go with a version: the next FCINCREMENTAL
    backup copies every track again."""
    gone = [rel for rel in withdrawn if rel.incremental]
    if gone:
        im.lines.append(
            f"its {len(gone)} persistent incremental relationship(s) are withdrawn "
            f"({', '.join(f'{r.source} -> {r.target}' for r in gone)}): the next FCINCREMENTAL backup copies every track"
        )


def _track_size(ctx: Context, pool: str | None) -> int:
    with ctx.catalog.session() as s:
        row = repo.copy_pool(s, pool) if pool else None
        srcs = pools.sources(s, row) if row else []
    return srcs[0].track_size if srcs else 0
