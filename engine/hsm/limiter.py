"""At most `limit` holders at once, the others waiting their turn in order; the limit can change
while it is in use (SETSYS MAXCOPYPOOLTASKS): lowering it lets the holders finish and admits
no one until fewer than the new limit hold it."""

from __future__ import annotations

import asyncio
import collections


class Limiter:
    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self.holding = 0
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def limit(self) -> int:
        return self._limit

    @limit.setter
    def limit(self, value: int) -> None:
        self._limit = max(1, value)
        self._admit()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def acquire(self) -> None:
        if self.holding < self._limit and not self._waiting:
            self.holding += 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # admitted as it was cancelled: pass the turn on
            else:
                self._waiting.remove(fut)
            raise

    def release(self) -> None:
        self.holding -= 1
        self._admit()

    def _admit(self) -> None:
        while self._waiting and self.holding < self._limit:
            fut = self._waiting.popleft()
            if not fut.done():
                self.holding += 1
                fut.set_result(None)


__all__ = ["Limiter"]
