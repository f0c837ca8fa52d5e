"""The asyncio face of FlashCopy: every operation runs the core in a worker thread, background
copies run as tasks, and what happened is published as events."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import TypeVar

from engine.errors import FlashpoolError
from engine.events import (
    CopyFailed,
    CopyProgress,
    Event,
    EventBus,
    FlashCopyChanged,
    RelationshipChanged,
    RelationshipEnded,
    RelationshipEstablished,
    TracksWritten,
)
from engine.flashcopy.core import FlashCopyCore, FlashCopyOptions, Journal
from engine.flashcopy.relationship import (
    CopyMode,
    EstablishRequest,
    Relationship,
    RelationshipInfo,
    WithdrawResult,
)
from engine.storage import Volume

T = TypeVar("T")

log = logging.getLogger("flashpool.flashcopy")


@dataclass(frozen=True, slots=True)
class CopierSettings:
    concurrency: int = 2  # relationships copied at the same time
    chunk_tracks: int = 1024  # tracks per hand-off to a worker thread (~58 MB of 3390)
    destage_seconds: float = 0.1  # how long a held host write waits at most for its group commit
    tracks_per_second: float | None = None  # None = as fast as the disk goes
    progress_interval: float = 0.25  # seconds between progress events per relationship
    retry_seconds: float = 15.0  # a copy parked by an error (a full disk) is tried again after this


PACE_WINDOW = 30.0  # the measured pace is taken over the chunks copied in the last this many seconds


@dataclass(frozen=True, slots=True)
class Pace:
    """Tracks a second the site's background copy moves (None: not known)."""

    measured: float | None
    configured: float | None  # tracks_per_second x concurrency, when an administrator set a rate

    def expected(self, planning: float) -> tuple[float, str]:
        """The pace to plan with and where it comes from: what was measured, never above the
        configured ceiling; else the ceiling; else `planning` (the disk's planning rate)."""
        if self.measured is not None:
            pace = min(self.measured, self.configured) if self.configured else self.measured
            return max(pace, 1e-3), "measured over the last copies"
        if self.configured:
            return self.configured, "the site's configured copy rate"
        return planning, "the planning rate of this machine's disks"


class FlashCopyController:
    """Async API over FlashCopyCore. Create it inside a running loop's lifetime."""

    def __init__(
        self,
        volumes: MutableMapping[str, Volume],
        options: FlashCopyOptions | None = None,
        *,
        copier: CopierSettings | None = None,
        events: EventBus | None = None,
        journal: Journal | None = None,
        clock: Callable[[], float] = time.time,
        core: FlashCopyCore | None = None,
    ) -> None:
        self.core = core or FlashCopyCore(volumes, options, journal=journal, clock=clock)
        self.events = events or EventBus()
        self.settings = copier or CopierSettings()
        #: at most this many relationships copied at once (None: the copiers' own count)
        self.limit: int | None = None
        self.clock = clock
        self._tasks: list[asyncio.Task[None]] = []
        self._steps: set[asyncio.Future[int]] = set()  # copy chunks running in worker threads
        self._wake: asyncio.Event | None = None
        self._claimed: set[int] = set()
        self._paused = False
        self._last_progress: dict[int, tuple[float, int]] = {}
        #: (from, until, tracks): each chunk copied, from its start until its copier may take the next
        self._copied: collections.deque[tuple[float, float, int]] = collections.deque(maxlen=4096)
        self.failed: dict[int, str] = {}  # relationships whose background copy hit an error
        self._retry: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # where events go (see bind)

    def bind(self) -> None:
        """Events and copier wake-ups from worker threads (the *_blocking methods) go to the
        running loop."""
        self._loop = asyncio.get_running_loop()

    def _on_loop(self, fn: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            fn()  # no loop: nobody listens, nothing to wake
            return
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is loop:
            fn()
        else:
            loop.call_soon_threadsafe(fn)

    def publish_threadsafe(self, event: Event) -> None:
        """Publish from any thread (a command's worker): delivered on the loop."""
        self._on_loop(lambda: self.events.publish(event))

    def retry_failed(self) -> None:
        """Let the copiers try again the relationships that failed (after space was freed; also
        on a timer while copiers run)."""
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        self.failed.clear()
        if self._wake is not None:
            self._wake.set()

    # -- queries (cheap, on the loop) -------------------------------------------------------
    # Queries take no lock: the loop must never wait for a copy chunk in a worker thread.
    # Each snapshot is consistent per relationship (bitarray counts run under the GIL).
    def relationships(self) -> list[RelationshipInfo]:
        return [r.info() for r in self.core.relationships()]

    def relationship(self, rel_id: int) -> RelationshipInfo:
        return self.core.relationship(rel_id).info()

    def relationships_of(self, volser: str) -> list[RelationshipInfo]:
        rels = {r.id: r for r in self.core.outgoing(volser) + self.core.incoming(volser)}
        return [r.info() for _, r in sorted(rels.items())]

    # -- host I/O ---------------------------------------------------------------------------
    async def read(self, volser: str, track: int) -> bytes:
        return await asyncio.to_thread(self.core.read, volser, track)

    async def read_run(self, volser: str, first: int, count: int) -> list[bytes]:
        return await asyncio.to_thread(self.core.read_run, volser, first, count)

    async def write(self, volser: str, track: int, data: bytes) -> None:
        await self.write_run(volser, track, [data])

    async def write_run(self, volser: str, first: int, tracks: list[bytes]) -> None:
        try:
            await asyncio.to_thread(self.core.write_run, volser, first, tracks)
        finally:
            self._after()
        self.events.publish(TracksWritten(self.clock(), volser, first, len(tracks)))

    async def update(self, volser: str, track: int, offset: int, data: bytes) -> None:
        try:
            await asyncio.to_thread(self.core.update, volser, track, offset, data)
        finally:
            self._after()
        self.events.publish(TracksWritten(self.clock(), volser, track, 1))

    # -- relationship operations --------------------------------------------------------------
    async def establish(self, request: EstablishRequest | None = None, /, **kw: object) -> RelationshipInfo:
        req = request or EstablishRequest(**kw)  # type: ignore[arg-type]
        rel = await asyncio.to_thread(self.core.establish, req)
        info = self._snapshot(rel)
        self.events.publish(RelationshipEstablished(self.clock(), info))
        self._after()
        return info

    async def establish_many(self, requests: list[EstablishRequest]) -> list[RelationshipInfo]:
        """Establish several relationships as one point in time (no write lands in between).

        If one is refused, the ones already made by this call are withdrawn again."""

        def run() -> list[Relationship]:
            made: list[Relationship] = []
            with self.core.lock:
                try:
                    for req in requests:
                        made.append(self.core.establish(req))
                except BaseException:
                    for rel in reversed(made):
                        self.core.withdraw(rel.id)
                    raise
            return made

        rels = await asyncio.to_thread(run)
        infos = [self._snapshot(r) for r in rels]
        for info in infos:
            self.events.publish(RelationshipEstablished(self.clock(), info))
        self._after()
        return infos

    # -- blocking twins, for code already in a worker thread (the HSM commands) --------------
    def read_run_blocking(self, volser: str, first: int, count: int) -> list[bytes]:
        return self.core.read_run(volser, first, count)

    def write_run_blocking(self, volser: str, first: int, tracks: list[bytes]) -> None:
        events: list[Event] = []
        try:
            self.core.write_run(volser, first, tracks)
            events.append(TracksWritten(self.clock(), volser, first, len(tracks)))
        finally:
            events[:0] = self._ended_events()
            self._on_loop(lambda: self._publish(events))

    def batch_blocking(self, fn: Callable[[FlashCopyCore], T]) -> T:
        """batch() from a worker thread."""
        try:
            with self.core.lock:
                return fn(self.core)
        finally:
            events = [FlashCopyChanged(self.clock()), *self._ended_events()]
            self._on_loop(lambda: self._publish(events))

    def _after_batch(self) -> None:
        self._publish([FlashCopyChanged(self.clock()), *self._ended_events()])

    async def batch(self, fn: Callable[[FlashCopyCore], T]) -> T:
        """Run several core operations as one unit (one point in time: no host write lands in
        between), in a worker thread. Used by fast replication for whole copy pools."""

        def run() -> T:
            with self.core.lock:
                return fn(self.core)

        try:
            return await asyncio.to_thread(run)
        finally:
            self._after_batch()

    async def refresh(self, rel_id: int) -> RelationshipInfo:
        await asyncio.to_thread(self.core.refresh, rel_id)
        info = self.relationship(rel_id)
        self.events.publish(RelationshipChanged(self.clock(), info, "refreshed"))
        self._after()
        return info

    async def reverse(self, rel_id: int, *, fast: bool = False) -> RelationshipInfo | None:
        """Returns the reversed relationship, or None if nothing had to move (ended at once)."""
        rel = await asyncio.to_thread(self.core.reverse, rel_id, fast=fast)
        info = rel.info()
        self.events.publish(RelationshipChanged(self.clock(), info, "fast reversed" if fast else "reversed"))
        self._after()
        return info if self.core.find(rel.id) is not None else None

    async def withdraw(self, rel_id: int) -> WithdrawResult:
        result = await asyncio.to_thread(self.core.withdraw, rel_id)
        self._after()
        return result

    async def set_mode(self, rel_id: int, mode: CopyMode) -> RelationshipInfo:
        rel = await asyncio.to_thread(self.core.set_mode, rel_id, mode)
        info = rel.info()
        self.events.publish(RelationshipChanged(self.clock(), info, f"mode {mode.value}"))
        self._after()
        return info

    # -- background copy ----------------------------------------------------------------------
    def start(self) -> None:
        """Start the background copiers (idempotent). Needs a running loop."""
        if self._tasks:
            return
        self.bind()
        self._wake = asyncio.Event()
        self._wake.set()
        self._tasks = [
            asyncio.create_task(self._copier(n), name=f"flashcopy-copier-{n}")
            for n in range(max(1, self.settings.concurrency))
        ]
        self._tasks.append(asyncio.create_task(self._destager(), name="flashcopy-destager"))

    async def _destager(self) -> None:
        """Held host writes reach their images within destage_seconds (a group commit for all
        the writes held meanwhile), as a disk's write cache destages on its own."""
        while True:
            await asyncio.sleep(self.settings.destage_seconds)
            if self.core.held and not self.core.closed:
                try:
                    await asyncio.to_thread(self.core.destage)
                except FlashpoolError as exc:  # a full disk: kept held, said, tried again
                    log.warning("held host writes could not reach their volumes yet: %s", exc)

    async def stop(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if self._steps:  # a cancelled copier's chunk goes on in its thread: stopped means it ended too
            done, _ = await asyncio.wait(set(self._steps))
            for step in done:  # an error of a chunk nobody waits for any more: it parks at the next start
                if not step.cancelled() and step.exception() is not None:
                    log.warning("the last copy chunk before the copiers stopped failed: %s", step.exception())

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def pause(self, paused: bool = True) -> None:
        self._paused = paused
        if not paused and self._wake:
            self._wake.set()

    async def copy_step(self, rel_id: int, max_tracks: int | None = None) -> int:
        """Run one chunk of a relationship's background copy now (tests, tools)."""
        started = time.monotonic()
        n = await asyncio.to_thread(self.core.copy_step, rel_id, max_tracks or self.settings.chunk_tracks)
        self._chunk(started, time.monotonic(), n)
        self._progress(rel_id, n, force=True)
        self._after()
        return n

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Until no COPY-mode relationship has tracks left to copy (copiers must be running)."""

        async def poll() -> None:
            while any(r.id not in self.failed for r in self.core.copy_candidates()):
                await asyncio.sleep(0.01)
            # the last chunk's bits are clear before its step has ended its relationship and
            # committed: wait for the step, so a caller never sees a copy done but not recorded
            await asyncio.to_thread(self._quiesce)

        await asyncio.wait_for(poll(), timeout)

    def _quiesce(self) -> None:
        with self.core.lock:
            pass

    async def drain(self) -> None:
        """Copy everything that is still to copy, without the copier tasks (tests, tools)."""
        while cands := self.core.copy_candidates():
            for rel in cands:
                await self.copy_step(rel.id)

    async def _copier(self, n: int) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            if self.limit is not None and n >= self.limit:  # SETSYS MAXCOPYPOOLTASKS(DSS(n)): idle
                await asyncio.sleep(0.25)
                continue
            if self._paused:
                self._wake.clear()
                continue
            rel = self._claim()
            if rel is None:
                self._wake.clear()
                continue
            started = time.monotonic()
            # shielded and kept: a copier cancelled by stop() lets its chunk end, and stop() waits for it
            step = asyncio.ensure_future(asyncio.to_thread(self.core.copy_step, rel.id, self.settings.chunk_tracks))
            self._steps.add(step)
            step.add_done_callback(self._steps.discard)
            try:
                copied = await asyncio.shield(step)
            except FlashpoolError as exc:
                # e.g. the disk filled up: this relationship waits for retry_failed(); the
                # others go on, and nothing already copied is lost
                self.failed[rel.id] = str(exc)
                log.warning(
                    "background copy of relationship %d (%s -> %s) parked, retried in %.0f s: %s",
                    rel.id,
                    rel.source,
                    rel.target,
                    self.settings.retry_seconds,
                    exc,
                )
                self.events.publish(CopyFailed(self.clock(), rel.id, rel.source, rel.target, str(exc)))
                if self._retry is None:  # space may be freed without anyone telling us
                    self._retry = asyncio.get_running_loop().call_later(self.settings.retry_seconds, self.retry_failed)
                continue
            finally:
                self._claimed.discard(rel.id)  # before waking the others, or they idle
            rate = self.settings.tracks_per_second
            until = max(time.monotonic(), started + copied / rate) if rate else time.monotonic()
            self._chunk(started, until, copied)  # a configured rate's pause is part of copying at that rate
            self._progress(rel.id, copied)
            self._after()
            await asyncio.sleep(max(0.0, until - time.monotonic()))

    def _claim(self) -> Relationship | None:
        """The least recently served COPY relationship nobody else is copying."""
        cands = [r for r in self.core.copy_candidates() if r.id not in self._claimed and r.id not in self.failed]
        if not cands:
            return None
        rel = min(cands, key=lambda r: self._last_progress.get(r.id, (0.0, 0))[0])
        self._claimed.add(rel.id)
        return rel

    def pace(self) -> Pace:
        """How fast this site's background copy goes: the tracks of the chunks copied in the last
        `PACE_WINDOW` seconds (every relationship together) over the time some copy was running,
        so idle time (after the copies ended, between two) does not make it look slower; and the
        configured ceiling."""
        now = time.monotonic()
        while self._copied and now - self._copied[0][1] > PACE_WINDOW:
            self._copied.popleft()
        running, reached = 0.0, -math.inf
        for start, until, _ in sorted(self._copied):  # copiers overlap: each second counts once
            running += max(0.0, until - max(start, reached))
            reached = max(reached, until)
        measured = sum(n for _, _, n in self._copied) / running if running >= 1.0 else None
        rate = self.settings.tracks_per_second
        return Pace(measured, rate * self.settings.concurrency if rate else None)

    def _chunk(self, started: float, until: float, copied: int) -> None:
        """A chunk of the measured pace: copied from `started` until `until` (when its copier may
        take the next one)."""
        if copied:
            self._copied.append((started, until, copied))

    def _progress(self, rel_id: int, copied: int, force: bool = False) -> None:
        now = time.monotonic()
        last_t, since = self._last_progress.get(rel_id, (now, 0))
        since += copied
        rel = self.core.find(rel_id)
        done = rel is None
        if not (force or done or now - last_t >= self.settings.progress_interval):
            self._last_progress[rel_id] = (last_t, since)
            return
        elapsed = max(now - last_t, 1e-6)
        if rel is not None:
            self.events.publish(
                CopyProgress(
                    self.clock(),
                    rel.id,
                    rel.source,
                    rel.target,
                    rel.out_of_sync,
                    rel.length,
                    rel.tracks_copied,
                    since / elapsed,
                )
            )
        self._last_progress[rel_id] = (now, 0)

    def _after(self) -> None:
        """Publish endings the core recorded and wake the copiers."""
        self._publish(self._ended_events())

    def _ended_events(self) -> list[Event]:
        """The endings the core recorded, as events (stamped now, in the calling thread: the
        clock is read in the order things happened)."""
        out: list[Event] = []
        while self.core.ended:
            e = self.core.ended.popleft()
            r = e.relationship
            self._last_progress.pop(r.id, None)
            out.append(CopyProgress(self.clock(), r.id, r.source, r.target, 0, r.length, r.tracks_copied, 0.0))
            out.append(RelationshipEnded(self.clock(), r.id, r.source, r.target, e.reason))
            log.info("relationship %d (%s -> %s) ended: %s", r.id, r.source, r.target, e.reason.value)
        return out

    def _publish(self, events: list[Event]) -> None:
        """On the loop: publish, then wake the copiers if there is copying to do."""
        for ev in events:
            self.events.publish(ev)
        if self._wake is not None and self.core.copy_candidates():
            self._wake.set()

    @staticmethod
    def _snapshot(rel: Relationship) -> RelationshipInfo:
        return rel.info()
