"""The FlashCopy core: bitmaps, redirection, copy-on-write, cascades (blocking, thread-safe).

Terms: physical(V,k) is what V's image holds at track k; logical(V,k) is what a read returns.
A target track whose `uncopied` bit is set reads its point-in-time (PIT) data from wherever that
data lives: the source's logical track (`through`=1) or the source's physical track (`through`=0).

Two rules keep every point in time intact, in any cascade:
  * before logical(V,k) changes by a host write, every relationship sourced at (V,k) with the bit
    set gets its PIT data (copy-on-write);
  * before physical(V,k) is overwritten by anything, every relationship whose PIT data *is*
    physical(V,k) gets it first (preserve).
Establish, refresh and reverse change a volume's logical content by bitmaps alone: dependents of
that volume switch to `through`=0 (their data stays put, physically) - no data moves.

"Source" above is, for the data, a relationship's `feed`. Full-volume targets of one source form
a cascade, as SVC keeps them: when a new one is established, the older ones are chained behind
it (their feed becomes the new target, whose logical content equals the source's at that
instant), so a host write preserves its old track once, on the newest target, and the older
targets read it from there. A chained relationship still *reports* its source: change recording
(`changed_src`) follows the source, and a chained relationship goes back to reading the source
(`_unchain`) before anything would make its feed stop holding its point in time.

Crash ordering (used by the catalog journal): data reaches a target (and is flushed when durable)
before the bit that records it is committed, and a physical track is overwritten only after the
cleared bits of everything that depended on it are committed. Operations inside one_commit keep
both: a write onto a volume whose relationships changed since the last commit commits first.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Protocol

from bitarray import bitarray
from bitarray.util import intervals

from engine.errors import (
    CascadeNotAllowed,
    CopyInProgress,
    ExtentMismatch,
    ExtentOverlap,
    FlashpoolError,
    IncrementalLimit,
    InvalidGeometry,
    NotIncremental,
    RelationshipLoop,
    SiteClosed,
    TargetChanged,
    TargetInRelationship,
    TargetWriteInhibited,
    TooManyRelationships,
    UnknownRelationship,
    UnknownVolume,
    VolumeInUse,
)
from engine.flashcopy.heldlog import HeldLog
from engine.flashcopy.relationship import (
    CopyMode,
    EndReason,
    EstablishRequest,
    Relationship,
    WithdrawResult,
)
from engine.storage import Volume, patch_track
from engine.trackmap import TrackMap

#: A run of tracks somewhere physical: (volume, first track, count).
Segment = tuple[Volume, int, int]

ID_BLOCK = 64  # relationship ids reserved at a time where the catalog hands them out (PostgreSQL)


@dataclass(frozen=True, slots=True)
class FlashCopyOptions:
    max_relationships_per_track: int = 12
    cascading: bool = True
    multiple_incremental: bool = False  # DS8000 -multinc / DFSMShsm FCINCREMENTAL(ALL)
    durable: bool = True  # fdatasync targets before committing the bits that vouch for them (power loss)
    held_tracks: int = 1024  # durable: host writes held for one group commit, at most


@dataclass(slots=True)
class Ended:
    relationship: Relationship
    reason: EndReason


class Journal(Protocol):
    """Where relationship state is persisted; the core calls it at the crash-safe points."""

    def commit(self, changed: list[Relationship], removed: list[Ended], next_id: int) -> None: ...

    def reserve_ids(self, n: int) -> list[int] | None:
        """`n` ids for new relationships that nobody else is given (hosts sharing the catalog), or
        None when the core's own counter is the only one (it is handed to each commit)."""
        ...


class NullJournal:
    def commit(self, changed: list[Relationship], removed: list[Ended], next_id: int) -> None:
        return None

    def reserve_ids(self, n: int) -> list[int] | None:
        return None


class FlashCopyCore:
    """All FlashCopy state and logic. Methods block (disk I/O): call them from a worker thread."""

    def __init__(
        self,
        volumes: MutableMapping[str, Volume],
        options: FlashCopyOptions | None = None,
        *,
        journal: Journal | None = None,
        clock: Callable[[], float] = time.time,
        relationships: Iterable[Relationship] = (),
        next_id: int = 1,
        held_log: HeldLog | None = None,
    ) -> None:
        self.volumes = volumes
        self.held_log = held_log  # held host writes survive a process crash in it (replay_held)
        self._replaying = False
        self.options = options or FlashCopyOptions()
        self.journal: Journal = journal or NullJournal()
        self.clock = clock
        self.lock = threading.RLock()
        self._rels: dict[int, Relationship] = {}
        self._out: dict[str, list[Relationship]] = {}
        self._in: dict[str, list[Relationship]] = {}
        self._fed: dict[str, list[Relationship]] = {}  # by feed: whose data each volume holds
        self._next_id = next_id  # above every id this core has seen or handed out
        self._reserved: deque[int] = deque()  # ids the journal reserved for this core, ascending
        self._dirty: dict[int, Relationship] = {}
        self._removed: dict[int, Ended] = {}
        self._deferring = False  # within one_commit
        self._pending: set[str] = set()  # within one_commit: volumes whose uncommitted state changed
        self._unflushed: set[Volume] = set()
        self._holding: set[Volume] = set()  # volumes with host writes held for the group commit
        self._host_written: set[Volume] = set()  # host writes since the volume's last flush
        self.ended: deque[Ended] = deque()  # drained by the async layer to publish events
        self.tracks_moved = 0  # every track copied between volumes, for benchmarks and tests
        self.closed = False
        self.halted = ""  # why this process stopped writing the site's volumes (halt)
        for rel in relationships:
            self._index(rel)
            self._next_id = max(self._next_id, rel.id + 1)

    def replay_held(self) -> tuple[int, list[str]]:
        """At open: the host writes a crashed process held, written again in order through the
        ordinary write path (a copy-on-write the crash undid is made again), then committed.
        Returns (tracks replayed, volumes that are gone: their held writes are lost)."""
        if self.held_log is None:
            return 0, []
        with self.lock:
            replayed, gone = 0, set()
            self._replaying = True  # the log stays as it is until the commit below
            try:
                for volser, track, data in self.held_log.entries():
                    vol = self.volumes.get(volser)
                    if vol is None or track >= vol.tracks or len(data) != vol.geometry.track_size:
                        gone.add(volser)
                        continue
                    self.write_run(volser, track, [data])
                    replayed += 1
            finally:
                self._replaying = False
            self._commit()
            self.held_log.reset()
            return replayed, sorted(gone)

    def close(self) -> None:
        """Wait for the operation in progress, then refuse every later one: a copy chunk still
        queued in a worker thread must never touch a volume or the journal once they are closed
        (their file descriptors may already belong to something else). Held host writes reach
        their images first, in the order a power cut needs."""
        with self.lock:
            if not self.closed and self._holding:
                self._commit()
            self.closed = True
            if self.held_log is not None:
                self.held_log.close()

    def halt(self, why: str) -> None:
        """Wait for the operation in progress, then refuse every later one, writing nothing more:
        this process may no longer write the site's volumes (a host of the plex whose lease ends).
        Host writes held for the group commit stay in the held-write log, for whoever opens the
        site next to write again. The operation in progress is stopped at its next data move
        (_materialize reads `halted` without the lock), as a crash there would stop it."""
        self.halted = why
        with self.lock:
            self.closed = True
            for vol in self._holding:  # never destaged now, not even when the volume is closed
                vol.forget_held()
            self._holding.clear()
            if self.held_log is not None:
                self.held_log.close()

    def _open(self) -> None:
        if self.closed or self.halted:
            raise SiteClosed(self.halted or "the site is closed")

    @contextlib.contextmanager
    def one_commit(self) -> Iterator[None]:
        """The relationship operations inside commit their state together, at its end: a point
        in time of a whole copy pool (FRBACKUP, FRRECOV) costs one journal commit, not one per
        pair. A track is still overwritten only after the state that stopped relying on it is
        committed: _materialize, the one write an operation makes, commits what is pending first
        when its target is a volume whose relationships changed uncommitted (_pending: the
        committed ones of any other volume are those in memory, whose own rule it follows). The
        caller records what relies on the relationships (versions, intents) after it."""
        with self.lock:
            self._open()
            if self._deferring:
                raise RuntimeError("one_commit does not nest: its caller records what relies on it after its end")
            if self._dirty or self._removed or self._holding:  # _pending starts out complete
                self._commit()
            self._deferring = True
            try:
                yield
            except BaseException as exc:
                self._deferring = False
                if not self.closed:  # what the group did is committed all the same, if it can be
                    try:
                        self._commit()
                    except (FlashpoolError, OSError) as failed:  # memory stays ahead: commit_pending catches up
                        exc.add_note(f"the journal could not commit the group's state either: {failed}")
                raise
            self._deferring = False
            if not self.closed:
                self._commit()

    def _done(self) -> None:
        """An operation's end: its state is committed now, or with the rest of one_commit."""
        if not self._deferring:
            self._commit()

    # =====================================================================================
    # queries
    # =====================================================================================
    def relationship(self, rel_id: int) -> Relationship:
        try:
            return self._rels[rel_id]
        except KeyError:
            raise UnknownRelationship(rel_id) from None

    def relationships(self) -> list[Relationship]:
        """A snapshot list; safe to call from the loop while a worker thread runs the core
        (list() of a dict view is atomic under the GIL)."""
        return sorted(list(self._rels.values()), key=lambda r: r.id)

    def outgoing(self, volser: str) -> list[Relationship]:
        return list(self._out.get(volser, ()))

    def incoming(self, volser: str) -> list[Relationship]:
        return list(self._in.get(volser, ()))

    def relationship_counts(self) -> Counter[str]:
        """How many relationships each volume is in, as source or target (once each: a
        relationship within one volume counts once); one pass, for lists of every volume."""
        counts: Counter[str] = Counter()
        for rel in list(self._rels.values()):
            counts[rel.source] += 1
            if rel.target != rel.source:
                counts[rel.target] += 1
        return counts

    def find(self, rel_id: int) -> Relationship | None:
        return self._rels.get(rel_id)

    @property
    def next_id(self) -> int:
        """No relationship established from now on has a lower id."""
        return self._reserved[0] if self._reserved else self._next_id

    def _new_id(self) -> int:
        if not self._reserved:
            block = self.journal.reserve_ids(ID_BLOCK)
            if block is None:
                self._next_id += 1
                return self._next_id - 1
            self._reserved.extend(block)
        n = self._reserved.popleft()
        self._next_id = max(self._next_id, n + 1)
        return n

    def attach(self, volume: Volume) -> None:
        """A volume the site's configuration added while it runs."""
        self.volumes[volume.volser] = volume

    def detach(self, volser: str) -> Volume | None:
        """A volume the site's configuration deleted; it must be in no relationship."""
        if self.incoming(volser) or self.outgoing(volser) or any(r.feed == volser for r in self._rels.values()):
            raise VolumeInUse(f"volume {volser} is in a FlashCopy relationship and cannot be deleted")
        return self.volumes.pop(volser, None)

    def volume(self, volser: str) -> Volume:
        try:
            return self.volumes[volser]
        except KeyError:
            raise UnknownVolume(volser) from None

    # =====================================================================================
    # host I/O
    # =====================================================================================
    def read(self, volser: str, track: int) -> bytes:
        return self.read_run(volser, track, 1)[0]

    def read_run(self, volser: str, first: int, count: int) -> list[bytes]:
        vol = self.volume(volser)
        vol.geometry.check_extent(first, count)
        with self.lock:
            self._open()
            out: list[bytes] = []
            for holder, track, n in self._logical_segments(vol, first, count):
                out.extend(holder.read_tracks_sync(track, n))
            return out

    def write(self, volser: str, track: int, data: bytes) -> None:
        self.write_run(volser, track, [data])

    def update(self, volser: str, track: int, offset: int, data: bytes) -> None:
        """Partial update of one track (read logical, patch, write through copy-on-write)."""
        with self.lock:
            self.write(volser, track, patch_track(self.read(volser, track), offset, data))

    def write_run(self, volser: str, first: int, tracks: list[bytes]) -> None:
        vol = self.volume(volser)
        count = len(tracks)
        vol.geometry.check_extent(first, count)
        for data in tracks:
            vol._check_data(data)
        with self.lock:
            self._open()
            if self._deferring:  # a host write is never part of one_commit: it comes after it
                self._commit()
            incoming = self._overlapping_in(volser, first, count)
            for rel, i, n in incoming:
                if rel.target_write_inhibit:
                    raise TargetWriteInhibited(
                        f"{volser} tracks {first}-{first + count - 1} are the write-inhibited "
                        f"target of relationship {rel.id} ({rel.source} -> {rel.target})"
                    )
            # 1. copy-on-write: every dependent gets its point-in-time data first
            for rel, i, n in self._overlapping_fed(volser, first, count):
                if n == 1 or rel.uncopied.any(i, i + n):  # one track: _materialize checks its bit
                    self._materialize(rel, i, n)
            self._record_source_writes(volser, first, count)
            for rel, i, n in incoming:
                rel.changed_tgt.set_range(i, n)
                self._touch(rel)
            # 2. the write itself. Durable: when it must follow flushes and a commit (an old
            # track preserved, a change recorded), it is held, as a disk's write cache holds it,
            # until the next group commit; else it goes to the image now.
            hold = self.options.durable and bool(self._dirty or self._removed or self._holding)
            if not hold:
                self._commit()
            self._host_written.add(vol)
            if hold:
                if self.held_log is not None and not self._replaying:
                    self.held_log.append(volser, first, tracks)
                vol.hold_tracks(first, tracks)
                self._holding.add(vol)
            else:
                vol.write_tracks_sync(first, tracks)
            # 3. user data wins on a target: those tracks leave their relationship
            for rel, i, n in incoming:
                if rel.uncopied.any(i, i + n):
                    rel.uncopied.clear_range(i, n)
                    self._touch(rel)
                    self._maybe_end(rel)
            if not hold or self._deferring or sum(v.holding for v in self._holding) >= self.options.held_tracks:
                self._commit()

    def _record_source_writes(self, volser: str, first: int, count: int) -> None:
        """Change recording of every relationship sourced on the written tracks (the loop every
        host write runs once per relationship of its volume, so it is kept plain)."""
        end, dirty = first + count, self._dirty
        for rel in self._out.get(volser, ()):
            a = rel.source_start
            if count == 1:
                if a <= first < a + rel.length and rel.changed_src.mark(first - a):
                    dirty[rel.id] = rel
                continue
            lo, hi = (first if first > a else a), min(end, a + rel.length)
            if lo < hi:
                rel.changed_src.set_range(lo - a, hi - lo)
                dirty[rel.id] = rel

    # =====================================================================================
    # establish / refresh / reverse / withdraw / mode
    # =====================================================================================
    def check_establish(self, req: EstablishRequest) -> int:
        """Every refusal `establish` would raise, without establishing (a dry run for planning);
        returns the relationship's length."""
        with self.lock:
            src, tgt = self.volume(req.source), self.volume(req.target)
            if not src.geometry.like(tgt.geometry):
                raise ExtentMismatch(
                    f"{src.volser} ({src.geometry.describe()}) and {tgt.volser} "
                    f"({tgt.geometry.describe()}) are not like devices: track sizes differ"
                )
            full = req.tracks is None
            length = src.tracks - req.source_start if full else req.tracks
            assert length is not None
            if full and req.source_start == 0 and req.target_start == 0:
                if tgt.tracks < src.tracks or (tgt.tracks > src.tracks and not req.allow_larger_target):
                    raise ExtentMismatch(
                        f"full-volume copy needs a target of the same size: {src.volser} has "
                        f"{src.tracks:,} tracks, {tgt.volser} has {tgt.tracks:,}"
                    )
            try:
                src.geometry.check_extent(req.source_start, length)
                tgt.geometry.check_extent(req.target_start, length)
            except InvalidGeometry as exc:
                raise ExtentMismatch(str(exc)) from None
            if src.volser == tgt.volser and _overlaps(req.source_start, req.target_start, length):
                raise ExtentOverlap(
                    f"source and target extents overlap on {src.volser} "
                    f"(tracks {req.source_start}+{length} and {req.target_start}+{length})"
                )
            self._check_target_free(tgt.volser, req.target_start, length)
            self._check_cascade(src.volser, req.source_start, tgt.volser, req.target_start, length)
            self._check_loop(src.volser, req.source_start, tgt.volser, req.target_start, length)
            self._check_fanout(src.volser, req.source_start, length, extra=1)
            if req.incremental:
                self._check_incremental(src.volser, req.source_start, length, exclude=None)
            return length

    def establish(self, req: EstablishRequest) -> Relationship:
        with self.lock:
            self._open()
            length = self.check_establish(req)
            self._sources_durable((req.source,))
            src, tgt = self.volume(req.source), self.volume(req.target)
            full = req.tracks is None
            # The target's logical content changes now: its own dependents keep theirs physically.
            self._detach_dependents(tgt.volser, req.target_start, TrackMap.ones(length))
            rel = Relationship.new(
                self._new_id(),
                src.volser,
                req.source_start,
                tgt.volser,
                req.target_start,
                length,
                mode=req.mode,
                persistent=req.persistent,
                incremental=req.incremental,
                target_write_inhibit=req.target_write_inhibit,
                established_at=self.clock(),
                full_volume=full and req.source_start == 0 and req.target_start == 0,
                label=req.label,
            )
            self._index(rel)
            self._touch(rel)
            self._chain_behind(rel)
            self._done()
            return rel

    def refresh(self, rel_id: int) -> int:
        """Incremental refresh: a new point in time; returns the tracks now out of sync."""
        with self.lock:
            self._open()
            rel = self.relationship(rel_id)
            if not rel.incremental:
                raise NotIncremental(
                    f"relationship {rel.id} ({rel.source} -> {rel.target}) has no change "
                    f"recording; only an incremental relationship can be refreshed"
                )
            self._sources_durable((rel.source,))
            self._unchain(rel)  # its new point in time is the source's
            changed = rel.changed_src | rel.changed_tgt
            self._settle(rel, changed)
            newly = changed & ~rel.uncopied
            self._detach_dependents(rel.target, rel.target_start, newly)
            rel.uncopied |= changed
            rel.changed_src.setall(False)
            rel.changed_tgt.setall(False)
            rel.through.setall(True)
            rel.established_at = self.clock()
            rel.tracks_copied = 0
            rel.cursor = 0
            self._touch(rel)
            self._chain_behind(rel)
            self._done()
            return rel.out_of_sync

    def check_reverse(self, rel_id: int, *, fast: bool = False) -> Relationship:
        """Every refusal `reverse` would raise, without reversing (a dry run for planning)."""
        with self.lock:
            rel = self.relationship(rel_id)
            if fast:
                if rel.changed_tgt.any():
                    raise TargetChanged(
                        f"{rel.target} was written since the flash ({rel.changed_tgt.count():,} "
                        f"tracks); fast reverse restore would not restore the point in time"
                    )
            else:
                if not rel.incremental:
                    raise NotIncremental(
                        f"relationship {rel.id} is not incremental; reverse it with fast reverse "
                        f"restore or establish a new relationship"
                    )
                if rel.uncopied.any():
                    raise CopyInProgress(
                        f"relationship {rel.id} still has {rel.out_of_sync:,} tracks to copy; "
                        f"a reversal must wait until the background copy completes"
                    )
            if rel.source_start != rel.target_start and rel.full_volume:
                raise ExtentMismatch("a full-volume reversal needs aligned extents")
            src_vol, tgt_vol = self.volume(rel.source), self.volume(rel.target)
            if tgt_vol.tracks > src_vol.tracks and rel.full_volume:
                raise ExtentMismatch(f"{rel.target} is larger than {rel.source}; a larger target cannot be reversed")
            self._check_target_free(rel.source, rel.source_start, rel.length)
            self._check_fanout(rel.target, rel.target_start, rel.length, extra=1)

            if not self.options.cascading and len(self._out.get(rel.source, ())) > 1:
                raise CascadeNotAllowed(
                    f"{rel.source} has other FlashCopy targets and cascading FlashCopy is off; "
                    f"withdraw them before reversing"
                )
            return rel

    def reverse(self, rel_id: int, *, fast: bool = False) -> Relationship:
        """Swap roles: the source gets the target's data back, moving only tracks that differ.

        Ordinary reverse needs an incremental relationship whose copy is complete; the pair stays
        persistent and recording. Fast reverse (fast reverse restore) may run while copying,
        copies only the tracks changed on the source since the flash, is not persistent, and
        leaves the old target without a valid copy.
        """
        with self.lock:
            self._open()
            rel = self.check_reverse(rel_id, fast=fast)
            self._sources_durable((rel.target,))  # the backup, the new point in time's source
            self._unchain(rel)
            moving = rel.changed_src.copy() if fast else rel.changed_src | rel.changed_tgt
            handover: list[Relationship] = []
            if fast:
                # The target gives its point in time back on `moving`: it must hold it there
                # physically. A track it still reads through the source (after a cascade's
                # handover the source read as the PIT again, though it changed meanwhile) is
                # copied first, as is one the source's physical track holds (_settle's case).
                give = rel.uncopied.bits & moving.bits
                if give.any():
                    self._materialize(rel, 0, rel.length, give, may_end=False)
                # tracks the old target never received: it no longer holds the PIT there
                garbage = rel.uncopied.copy()
                handover = self._hand_over(rel)
                # The old target stops being a copy: whatever still read through it is made real.
                self._release_target(rel)
            # The source's logical content changes on `moving` tracks.
            self._detach_dependents(rel.source, rel.source_start, moving, exclude=rel)
            for dep in handover:  # the source now reads as rel's target did: their point in time
                dep.through.setall(True)
                self._maybe_end(dep)
            self._unindex(rel)
            rel.source, rel.target = rel.target, rel.source
            rel.source_start, rel.target_start = rel.target_start, rel.source_start
            rel.feed = rel.source
            rel.uncopied = moving
            rel.through = TrackMap.ones(rel.length)
            rel.changed_src = garbage if fast else TrackMap.zeros(rel.length)
            rel.changed_tgt = TrackMap.zeros(rel.length)
            rel.reversed = not rel.reversed
            rel.fast_reversed = fast
            rel.established_at = self.clock()
            rel.tracks_copied = 0
            rel.cursor = 0
            if fast:
                rel.mode, rel.persistent, rel.incremental = CopyMode.COPY, False, False
                rel.target_write_inhibit = False
            self._index(rel)
            self._touch(rel)
            self._maybe_end(rel)
            self._done()
            return rel

    def withdraw(self, rel_id: int) -> WithdrawResult:
        with self.lock:
            self._open()
            rel = self.relationship(rel_id)
            info = rel.info()
            invalid = rel.uncopied.copy()
            self._release_target(rel)
            self._remove(rel, EndReason.WITHDRAWN)
            self._done()
            return WithdrawResult(info, rel.target, rel.target_start, invalid)

    def retire(self, rel_id: int) -> Relationship:
        """Stop change recording; the relationship ends once its copy completes
        (DFSMSdss FCINCREMENTALLAST)."""
        with self.lock:
            self._open()
            rel = self.relationship(rel_id)
            rel.persistent = rel.incremental = False
            rel.target_write_inhibit = False
            self._touch(rel)
            self._maybe_end(rel)
            self._done()
            return rel

    def set_mode(self, rel_id: int, mode: CopyMode) -> Relationship:
        """NOCOPY -> COPY (DFSMSdss FCNOCOPYTOCOPY) or back."""
        with self.lock:
            self._open()
            rel = self.relationship(rel_id)
            rel.mode = mode
            self._touch(rel)
            self._done()
            return rel

    # =====================================================================================
    # background copy
    # =====================================================================================
    def copy_step(self, rel_id: int, max_tracks: int) -> int:
        """Copy up to `max_tracks` uncopied tracks of a relationship; returns tracks copied."""
        with self.lock:
            rel = self._rels.get(rel_id)
            if self.closed or self.halted or rel is None or not rel.uncopied.any():
                return 0
            budget, copied, pos = max_tracks, 0, rel.cursor
            while budget > 0 and rel.id in self._rels:
                first = rel.uncopied.first_set(pos) if pos < rel.length else -1
                if first < 0:
                    first = rel.uncopied.first_set(0)
                    if first < 0:
                        break
                end = rel.uncopied.first_clear(first)
                n = min((rel.length if end < 0 else end) - first, budget)
                copied += self._materialize(rel, first, n)
                budget -= n
                pos = first + n
            rel.cursor = pos
            self._touch(rel)
            self._maybe_end(rel)
            self._commit()
            return copied

    def copy_candidates(self) -> list[Relationship]:
        return [r for r in list(self._rels.values()) if r.mode is CopyMode.COPY and r.uncopied.any()]

    # =====================================================================================
    # internals: resolution
    # =====================================================================================
    def _logical_segments(self, vol: Volume, first: int, count: int) -> list[Segment]:
        """Where logical(vol, first..first+count) physically lives, as merged runs."""
        if not self._in.get(vol.volser):
            return [(vol, first, count)]
        segs: list[Segment] = []
        pos, end = first, first + count
        for rel, i, n in sorted(self._overlapping_in(vol.volser, first, count), key=lambda x: x[0].target_start + x[1]):
            a = rel.target_start + i
            if pos < a:
                segs.append((vol, pos, a - pos))
            for val, x, y in intervals(rel.uncopied.bits[i : i + n]):
                if val:
                    segs.extend(self._pit_segments(rel, i + x, y - x))
                else:
                    segs.append((vol, a + x, y - x))
            pos = a + n
        if pos < end:
            segs.append((vol, pos, end - pos))
        return _merge(segs)

    def _pit_segments(self, rel: Relationship, i: int, n: int) -> list[Segment]:
        """Where the point-in-time data of rel's tracks i..i+n lives (bits assumed set)."""
        src = self.volumes[rel.feed]
        k = rel.source_start + i
        if n == 1:
            return self._logical_segments(src, k, 1) if rel.through[i] else [(src, k, 1)]
        segs: list[Segment] = []
        for val, x, y in intervals(rel.through.bits[i : i + n]):
            if val:
                segs.extend(self._logical_segments(src, k + x, y - x))
            else:
                segs.append((src, k + x, y - x))
        return segs

    # =====================================================================================
    # internals: moving data
    # =====================================================================================
    def _materialize(
        self, rel: Relationship, i: int, n: int, only: bitarray | None = None, may_end: bool = True
    ) -> int:
        """Copy rel's PIT data onto its target for set bits in [i, i+n) (and in `only`)."""
        runs: list[tuple[int, int]]
        if n == 1 and only is None:
            runs = [(i, 1)] if rel.uncopied[i] else []
        else:
            want = rel.uncopied.bits[i : i + n]
            if only is not None:
                want &= only
            runs = [(i + x, y - x) for val, x, y in intervals(want) if val]
        if not runs:
            return 0
        tgt = self.volumes[rel.target]
        moved = 0
        for first, cnt in runs:
            segs = self._pit_segments(rel, first, cnt)
            t = rel.target_start + first
            # whatever resolves to the target's physical tracks must get its data first; and
            # within one_commit, the target's committed state may still rely on them
            if self._preserve_physical(tgt, t, cnt) or tgt.volser in self._pending:
                self._commit()
            if self.halted:  # this process may write no more (halt): it stops here, as a crash would
                raise SiteClosed(self.halted)
            for holder, ht, hn in segs:
                holder.copy_tracks_to_sync(ht, tgt, t, hn)
                t += hn
            self._unflushed.add(tgt)
            rel.uncopied.clear_range(first, cnt)
            rel.tracks_copied += cnt
            moved += cnt
        self.tracks_moved += moved
        self._touch(rel)
        if may_end:
            self._maybe_end(rel)
        return moved

    def _settle(self, rel: Relationship, changing: TrackMap) -> None:
        """Before rel's target gets a new point in time on `changing` tracks, make sure no PIT
        track there still lives on the source's physical track (through=0): copy it over, so
        the target's own dependents (which read through rel) keep their data."""
        stale = rel.uncopied.bits & changing.bits & ~rel.through.bits
        if stale.any():
            self._materialize(rel, 0, rel.length, stale, may_end=False)

    def _preserve_physical(self, vol: Volume, first: int, count: int) -> int:
        """Materialize every dependent whose PIT data is physical(vol, first..first+count), which
        a materialize is about to overwrite. Those tracks are uncopied target tracks (that is why
        they are being materialized), so a dependent reading them logically (through=1) already
        reads what is about to be written there: only through=0 dependents need their data."""
        if not self._fed.get(vol.volser):
            return 0
        moved = 0
        for rel, i, n in self._overlapping_fed(vol.volser, first, count):
            if n == 1:  # a host write's copy-on-write: the same rule, bit by bit
                if rel.uncopied[i] and not rel.through[i]:
                    moved += self._materialize(rel, i, 1)
                continue
            physical = rel.uncopied.bits[i : i + n] & ~rel.through.bits[i : i + n]
            if physical.any():
                moved += self._materialize(rel, i, n, physical)
        return moved

    def _detach_dependents(
        self,
        volser: str,
        first: int,
        changing: TrackMap,
        exclude: Relationship | None = None,
    ) -> None:
        """volser's logical tracks first+i (i set in `changing`) change by a bitmap operation.

        Its dependents keep reading the physical tracks (which must then be physical, not
        redirected) and record the change for their next refresh.
        """
        if not changing.any():
            return
        for rel, i, n in self._overlapping_fed(volser, first, len(changing)):
            if rel is exclude:
                continue
            part = changing.slice(rel.source_start + i - first, n)
            if part.any():
                rel.through.and_not_at(i, part)
                self._touch(rel)
        for rel, i, n in self._overlapping_out(volser, first, len(changing)):
            if rel is exclude:
                continue
            part = changing.slice(rel.source_start + i - first, n)
            if part.any():
                rel.changed_src.or_at(i, part)
                self._touch(rel)

    def _release_target(self, rel: Relationship) -> None:
        """rel's target stops reading through rel: dependents that still do get real data.

        Its logical content changes on the uncopied tracks (they hold no valid data afterwards).
        """
        if not rel.uncopied.any():
            return
        tgt = rel.target
        for dep, i, n in self._overlapping_fed(tgt, rel.target_start, rel.length):
            if dep is rel:
                continue
            if dep.chained:
                self._unchain(dep)
                self._maybe_end(dep)
                continue
            off = dep.source_start + i - rel.target_start
            upstream = rel.uncopied.bits[off : off + n]
            need = dep.uncopied.bits[i : i + n] & dep.through.bits[i : i + n] & upstream
            if need.any():
                self._materialize(dep, i, n, need)
        for dep, i, n in self._overlapping_out(tgt, rel.target_start, rel.length):
            if dep is rel:
                continue
            off = dep.source_start + i - rel.target_start
            dep.changed_src.bits[i : i + n] |= rel.uncopied.bits[off : off + n]
            self._touch(dep)

    # =====================================================================================
    # internals: multi-target cascades
    # =====================================================================================
    def _chain_behind(self, head: Relationship) -> None:
        """`head`'s target now reads exactly as its source does: older full-volume siblings that
        still read the source logically read `head`'s target instead (no data moves)."""
        if not head.full_volume or head.chained:
            return
        for rel in list(self._fed.get(head.source, ())):
            if (
                rel is head
                or not rel.full_volume
                or rel.incremental
                or rel.length != head.length
                or not rel.uncopied.any()
                or not rel.uncopied.within(rel.through)  # it pins the source's physical tracks
            ):
                continue
            self._set_feed(rel, head.target)

    def _hand_over(self, head: Relationship) -> list[Relationship]:
        """Before a fast reverse of `head`: the siblings chained behind it will read the source,
        which is about to read exactly as head's target does. Only tracks they hold physically
        on that target (through=0) must be copied first; the caller sets `through` again once the
        source's dependents have been detached."""
        if not head.full_volume:
            return []
        moved = [
            dep
            for dep, _, _ in self._overlapping_fed(head.target, head.target_start, head.length)
            if dep.chained and dep.source == head.source
        ]
        for dep in moved:
            self._back_to_source(dep, dep.uncopied & ~dep.through)
        return moved

    def _unchain(self, rel: Relationship) -> None:
        """rel reads its source again. Where the source is unchanged since rel's point in time
        (no change recorded) the source's logical track is that point in time; every other track
        still to copy is copied from the feed first."""
        if rel.chained:
            self._back_to_source(rel, rel.uncopied & (rel.changed_src | ~rel.through))
            rel.through.setall(True)

    def _back_to_source(self, rel: Relationship, stale: TrackMap) -> None:
        """Copy the `stale` tracks from the feed, then read the source."""
        if stale.any():
            self._materialize(rel, 0, rel.length, stale.bits, may_end=False)
        self._set_feed(rel, rel.source)

    def _set_feed(self, rel: Relationship, volser: str) -> None:
        if self._deferring:  # the committed state still has it read the old feed
            self._pending.add(rel.feed)
        self._fed[rel.feed].remove(rel)
        rel.feed = volser
        self._fed.setdefault(volser, []).append(rel)
        self._touch(rel)

    # =====================================================================================
    # internals: checks
    # =====================================================================================
    def _check_target_free(self, volser: str, first: int, count: int) -> None:
        for rel, i, n in self._overlapping_in(volser, first, count):
            a = rel.target_start + i
            raise TargetInRelationship(
                f"{volser} tracks {a}-{a + n - 1} are already the target of relationship "
                f"{rel.id} ({rel.source} -> {rel.target}); a track can have only one source"
            )

    def _check_cascade(self, src: str, s: int, tgt: str, t: int, n: int) -> None:
        if self.options.cascading:
            return
        if self._overlapping_in(src, s, n):
            raise CascadeNotAllowed(f"{src} is the target of another relationship and cascading FlashCopy is off")
        if self._overlapping_out(tgt, t, n):
            raise CascadeNotAllowed(f"{tgt} is the source of another relationship and cascading FlashCopy is off")

    def _check_loop(self, src: str, s: int, tgt: str, t: int, n: int) -> None:
        """Refuse src->tgt if tgt's extent already feeds (directly or not) src's extent."""
        todo = [(tgt, t, n)]
        seen: set[tuple[str, int, int]] = set()
        while todo:
            vol, a, cnt = todo.pop()
            if (vol, a, cnt) in seen:
                continue
            seen.add((vol, a, cnt))
            if vol == src and a < s + n and s < a + cnt:
                raise RelationshipLoop(
                    f"{src} -> {tgt} would close a loop: {tgt} already feeds {src} through "
                    f"existing relationships (reverse the existing pair instead)"
                )
            for rel, i, m in self._overlapping_out(vol, a, cnt):
                todo.append((rel.target, rel.target_start + i, m))

    def _check_fanout(self, volser: str, first: int, count: int, extra: int) -> None:
        limit = self.options.max_relationships_per_track
        events: list[tuple[int, int]] = []
        for rel, i, n in self._overlapping_out(volser, first, count):
            a = rel.source_start + i
            events += [(a, 1), (a + n, -1)]
        depth = 0
        for _, d in sorted(events, key=lambda e: (e[0], e[1])):
            depth += d
            if depth + extra > limit:
                raise TooManyRelationships(
                    f"{volser}: a source track would be in {depth + extra} relationships; "
                    f"FlashCopy allows at most {limit}"
                )

    def _check_incremental(self, volser: str, first: int, count: int, exclude: Relationship | None) -> None:
        if self.options.multiple_incremental:
            return
        for rel, _, _ in self._overlapping_out(volser, first, count):
            if rel.incremental and rel is not exclude:
                raise IncrementalLimit(
                    f"{volser} already has an incremental relationship ({rel.id} -> {rel.target}); "
                    f"only one incremental target per source is allowed"
                )

    # =====================================================================================
    # internals: bookkeeping
    # =====================================================================================
    def _overlapping_out(self, volser: str, first: int, count: int) -> list[tuple[Relationship, int, int]]:
        return _overlapping(self._out, volser, first, count, Relationship.source_overlap)

    def _overlapping_fed(self, volser: str, first: int, count: int) -> list[tuple[Relationship, int, int]]:
        """Relationships whose point-in-time data is on volser (a chained one at the same
        tracks as on its source: chains are full-volume only)."""
        return _overlapping(self._fed, volser, first, count, Relationship.source_overlap)

    def _overlapping_in(self, volser: str, first: int, count: int) -> list[tuple[Relationship, int, int]]:
        return _overlapping(self._in, volser, first, count, Relationship.target_overlap)

    def _index(self, rel: Relationship) -> None:
        self._rels[rel.id] = rel
        self._out.setdefault(rel.source, []).append(rel)
        self._in.setdefault(rel.target, []).append(rel)
        self._fed.setdefault(rel.feed, []).append(rel)

    def _unindex(self, rel: Relationship) -> None:
        self._rels.pop(rel.id, None)
        self._out[rel.source].remove(rel)
        self._in[rel.target].remove(rel)
        self._fed[rel.feed].remove(rel)

    def _remove(self, rel: Relationship, reason: EndReason) -> None:
        if rel.id not in self._rels:
            return
        self._unindex(rel)
        self._dirty.pop(rel.id, None)
        if self._deferring:
            self._pending.update((rel.source, rel.target, rel.feed))
        ended = Ended(rel, reason)
        self._removed[rel.id] = ended
        self.ended.append(ended)

    def _maybe_end(self, rel: Relationship) -> None:
        if not rel.persistent and not rel.uncopied.any():
            self._remove(rel, EndReason.COPY_COMPLETE)

    def _touch(self, rel: Relationship) -> None:
        if rel.id in self._rels:
            self._dirty[rel.id] = rel
            if self._deferring:
                self._pending.update((rel.source, rel.target, rel.feed))

    def commit_pending(self) -> None:
        """Persist what an earlier journal commit failed to (a full disk): the engine's memory
        went ahead, the journal catches up now."""
        with self.lock:
            self._commit()

    @property
    def held(self) -> int:
        """Host-write tracks held for the next group commit (read without the lock: a hint)."""
        return sum(v.holding for v in list(self._holding))

    def destage(self) -> int:
        """The group commit of held host writes (a timer, a flush, or the next operation calls
        it): returns how many tracks reached their images."""
        with self.lock:
            held = sum(v.holding for v in self._holding)
            self._commit()
            return held

    def flush(self, volsers: Iterable[str]) -> None:
        """A host's flush: every write to these volumes acknowledged so far is durable."""
        with self.lock:
            self._commit()
            for volser in sorted(set(volsers)):
                vol = self.volume(volser)
                vol.flush_sync()
                self._host_written.discard(vol)
                self._unflushed.discard(vol)

    def _commit(self) -> None:
        """Targets flushed, then the journal, then the held host writes those two let through."""
        if self.halted:  # this process may write nothing more (halt)
            raise SiteClosed(self.halted)
        if self._dirty or self._removed:
            if self.options.durable:
                for vol in self._unflushed:
                    vol.flush_sync()
            self._unflushed.clear()
            changed, removed = list(self._dirty.values()), [self._removed[i] for i in sorted(self._removed)]
            self.journal.commit(changed, removed, self._next_id)
            self._dirty.clear()
            self._removed.clear()
            self._pending.clear()
        if self._holding:
            if self.options.durable:  # the old tracks the held writes replace on other volumes
                for vol in self._unflushed:
                    vol.flush_sync()
                self._unflushed.clear()
            for vol in sorted(self._holding, key=lambda v: v.volser):
                vol.destage_sync()  # on an error it keeps what it held, and so does this set
            self._holding.clear()
        if self.held_log is not None and not self._replaying:
            self.held_log.reset()

    def _sources_durable(self, volsers: Iterable[str]) -> None:
        """A new point in time includes every host write acknowledged before it, so those
        writes are made durable first (a disk's snapshot includes its cache)."""
        if not self.options.durable:
            return
        if self._holding or not self._deferring:  # held writes reach their images first
            self._commit()
        for volser in volsers:
            vol = self.volumes.get(volser)
            if vol is not None and vol in self._host_written:
                vol.flush_sync()
                self._host_written.discard(vol)


def _overlapping(
    index: dict[str, list[Relationship]],
    volser: str,
    first: int,
    count: int,
    overlap: Callable[[Relationship, int, int], tuple[int, int] | None],
) -> list[tuple[Relationship, int, int]]:
    """(relationship, rel index, n) for each relationship of volser in `index` that overlaps."""
    out = []
    for rel in index.get(volser, ()):
        ov = overlap(rel, first, count)
        if ov:
            out.append((rel, *ov))
    return out


def _overlaps(a: int, b: int, n: int) -> bool:
    return a < b + n and b < a + n


def _merge(segs: list[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for vol, t, n in segs:
        if out and out[-1][0] is vol and out[-1][1] + out[-1][2] == t:
            out[-1] = (vol, out[-1][1], out[-1][2] + n)
        else:
            out.append((vol, t, n))
    return out
