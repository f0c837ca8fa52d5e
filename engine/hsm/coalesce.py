"""Identical reads asked at once run once: each asker joins the *next* run, never one already
under way, so what it is told was read after it asked (a change that finished before it asked
is always in its answer). Fifty consoles polling QUERY COPYPOOL cost a few runs, not fifty.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Coalescer(Generic[T]):
    def __init__(self) -> None:
        self._next: dict[Hashable, asyncio.Future[T]] = {}  # still admitting askers
        self._running: dict[Hashable, asyncio.Task[None]] = {}
        self.runs = 0  # how many times a read really ran (tests and benchmarks read it)

    async def run(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """`read()`'s answer for `key`, from a run that starts after this call."""
        fut = self._next.get(key)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._next[key] = fut
            ahead = self._running.get(key)
            self._running[key] = asyncio.create_task(self._fly(key, fut, read, ahead))
        return await asyncio.shield(fut)  # an asker that goes away leaves the run to the others

    async def _fly(
        self, key: Hashable, fut: asyncio.Future[T], read: Callable[[], Awaitable[T]], ahead: asyncio.Task[None] | None
    ) -> None:
        if ahead is not None:  # the run under way started before these askers came: wait it out
            await asyncio.gather(ahead, return_exceptions=True)
        del self._next[key]  # from now on a new asker waits for the run after this one
        self.runs += 1
        try:
            fut.set_result(await read())
        except BaseException as exc:  # every asker gets the failure the run had
            fut.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            if self._running.get(key) is asyncio.current_task():
                del self._running[key]
