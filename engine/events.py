"""Typed engine events and the bus that carries them to subscribers (the console, the CLI).

The engine publishes; it never knows who listens. Subscribers get an async iterator with its
own queue, so a slow reader never slows the engine: a full queue drops that reader's oldest
progress event (later progress supersedes it), never a state change.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the FlashCopy package itself publishes these events
    from engine.flashcopy.relationship import EndReason, RelationshipInfo


@dataclass(frozen=True, slots=True)
class Event:
    at: float


@dataclass(frozen=True, slots=True)
class RelationshipEstablished(Event):
    relationship: RelationshipInfo


@dataclass(frozen=True, slots=True)
class RelationshipChanged(Event):
    """Refreshed, reversed, mode switched: the relationship carries a new state."""

    relationship: RelationshipInfo
    what: str


@dataclass(frozen=True, slots=True)
class RelationshipEnded(Event):
    rel_id: int
    source: str
    target: str
    reason: EndReason


@dataclass(frozen=True, slots=True)
class CopyProgress(Event):
    rel_id: int
    source: str
    target: str
    out_of_sync: int
    length: int
    copied: int  # tracks copied since the last establish/refresh
    rate: float  # tracks per second, recent

    @property
    def percent_complete(self) -> float:
        return 100.0 * (1 - self.out_of_sync / self.length) if self.length else 100.0


@dataclass(frozen=True, slots=True)
class FlashCopyChanged(Event):
    """Several relationships changed at once (a copy pool was backed up or recovered)."""


@dataclass(frozen=True, slots=True)
class CopyFailed(Event):
    """A background copy stopped on an error (e.g. a full disk); it waits for a retry."""

    rel_id: int
    source: str
    target: str
    message: str


@dataclass(frozen=True, slots=True)
class ActivityLogged(Event):
    """An entry reached the activity log: a command ended (any origin, any client), a
    background dump ended, an alert was raised."""

    origin: str
    command: str
    copy_pool: str | None
    return_code: int
    user: str | None = None  # who ran it


@dataclass(frozen=True, slots=True)
class TracksWritten(Event):
    volser: str
    first: int
    count: int


class EventBus:
    """Fan-out of events to async subscribers and synchronous listeners."""

    def __init__(self, queue_size: int = 10_000) -> None:
        self._queues: list[asyncio.Queue[Event]] = []
        self._listeners: list[Callable[[Event], None]] = []
        self._queue_size = queue_size

    def publish(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)
        for q in list(self._queues):
            if q.full():
                self._drop_one_progress(q)
            if not q.full():
                q.put_nowait(event)

    @staticmethod
    def _drop_one_progress(q: asyncio.Queue[Event]) -> None:
        kept: list[Event] = []
        dropped = False
        while not q.empty():
            ev = q.get_nowait()
            if not dropped and isinstance(ev, CopyProgress):
                dropped = True
                continue
            kept.append(ev)
        for ev in kept:
            q.put_nowait(ev)

    def listen(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Call `listener` synchronously for every event; returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def subscribe(self) -> AsyncIterator[Event]:
        q: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        self._queues.append(q)
        try:
            while True:
                yield await q.get()
        finally:
            self._queues.remove(q)
