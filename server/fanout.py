"""The event stream's fan-out: one bounded outbox per client, so a client that reads slowly (or
never) costs the server a fixed amount of memory and is dropped, never slows the engine or the
other clients.

Copy progress is coalesced: a client gets the newest progress of each relationship at most every
`interval` seconds, however often the copier reports it. Every other event is sent in order; a
client whose outbox holds `limit` unsent events is too far behind and is cut off (it reconnects
and reloads what it shows).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Callable

from engine.events import CopyProgress, Event, EventBus

DEFAULT_LIMIT = 2_000
DEFAULT_INTERVAL = 0.25


class TooSlow(Exception):
    """The client fell `limit` events behind."""


class Outbox:
    def __init__(self, limit: int, interval: float, kind: str = "stream") -> None:
        self.kind = kind  # what its client says it is (server.wire.CLIENT_HEADER)
        self.limit = limit
        self.interval = interval
        self.queue: collections.deque[Event] = collections.deque()
        self.progress: dict[int, CopyProgress] = {}
        self.overflowed = False
        self.closed = False  # the server is stopping: the stream ends
        self.wake = asyncio.Event()

    def put(self, event: Event) -> None:
        if self.overflowed:
            return
        if isinstance(event, CopyProgress):
            self.progress[event.rel_id] = event
        elif len(self.queue) >= self.limit:
            self.overflowed = True
        else:
            self.queue.append(event)
        self.wake.set()

    @property
    def backlog(self) -> int:
        return len(self.queue) + len(self.progress)

    async def batches(self, quiet: float | None = None) -> AsyncIterator[list[Event]]:
        """What to send next: the events in order, then the newest progress of each copy; with
        `quiet`, an empty batch after that many seconds without events (a quiet stream's reader
        looks whether its client is still there: nothing written, no write fails to tell it)."""
        while True:
            try:
                await asyncio.wait_for(self.wake.wait(), quiet)
            except TimeoutError:
                yield []
                continue
            self.wake.clear()
            if self.overflowed:
                raise TooSlow(f"more than {self.limit} events behind")
            if self.closed:
                return
            batch = list(self.queue)
            self.queue.clear()
            batch += self.progress.values()
            self.progress.clear()
            if batch:
                yield batch
            if batch and any(isinstance(e, CopyProgress) for e in batch):
                await asyncio.sleep(self.interval)  # progress at most every interval


class FanOut:
    """Outboxes fed by one synchronous listener on the engine's bus."""

    def __init__(self, bus: EventBus, limit: int = DEFAULT_LIMIT, interval: float = DEFAULT_INTERVAL) -> None:
        self.limit = limit
        self.interval = interval
        self.outboxes: set[Outbox] = set()
        self._stop: Callable[[], None] = bus.listen(self._publish)

    def _publish(self, event: Event) -> None:
        for box in self.outboxes:
            box.put(event)

    def open(self, kind: str = "stream") -> Outbox:
        box = Outbox(self.limit, self.interval, kind)
        self.outboxes.add(box)
        return box

    def close(self, box: Outbox) -> None:
        self.outboxes.discard(box)

    def backlog(self) -> int:
        """The largest unsent backlog of any client (the benchmark checks it does not grow)."""
        return max((b.backlog for b in self.outboxes), default=0)

    def shutdown(self) -> None:
        self._stop()
        for box in self.outboxes:
            box.closed = True
            box.wake.set()


__all__ = ["FanOut", "Outbox", "TooSlow"]
