"""Writes asked for at once share one transaction: while one batch commits, the next one
gathers, so fifty askers cost a few commits, not fifty. Each asker returns only once its own
entry is durable, as if it had written alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupCommit(Generic[T]):
    def __init__(self, write: Callable[[Sequence[T]], None]) -> None:
        self._write = write  # blocking: runs in a worker thread, one batch at a time
        self._pending: list[tuple[T, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.commits = 0  # how many batches were written (tests and benchmarks read it)

    async def write(self, item: T) -> None:
        """Until `item` is written (with whatever was asked for at the same time)."""
        fut = asyncio.get_running_loop().create_future()
        self._pending.append((item, fut))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        await asyncio.shield(fut)  # an asker that goes away leaves its entry to be written

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                self.commits += 1
                try:
                    await asyncio.to_thread(self._write, [item for item, _ in batch])
                except BaseException as exc:  # each asker of the batch gets the failure
                    for _, fut in batch:
                        fut.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                else:
                    for _, fut in batch:
                        fut.set_result(None)
        finally:
            self._writer = None
