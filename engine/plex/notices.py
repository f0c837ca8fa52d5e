"""The hosts of the plex wake each other with PostgreSQL's LISTEN/NOTIFY instead of asking the
catalog over and over: a host that leaves says so in the transaction that ends its lease, and a
host standing by, listening, takes the site over at once rather than at its next look. A host
that dies says nothing: its lease running out is found by looking, as before. SQLite has one
host and nobody to tell: waiting there is sleeping."""

from __future__ import annotations

import asyncio
import contextlib
import time

import psycopg
from sqlalchemy import Connection, func, make_url, select

from engine.catalog.urls import CONNECT_TIMEOUT, is_postgresql

CHANNEL = "flashpool_plex"


def tell(c: Connection, what: str) -> None:
    """In the caller's transaction: every listening host is woken when it commits (never if it
    rolls back); `what` is for whoever watches the channel (psql's LISTEN flashpool_plex)."""
    if c.dialect.name == "postgresql":
        c.execute(select(func.pg_notify(CHANNEL, what)))


class Listener:
    """A connection of its own to the catalog's database that listens (PostgreSQL), waited on
    from the event loop, so a server that stops is never kept waiting by it."""

    def __init__(self, url: str) -> None:
        self._conninfo = (
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            if is_postgresql(url)
            else None
        )
        self._conn: psycopg.AsyncConnection[object] | None = None

    async def wait(self, timeout: float) -> None:
        """Until a host says something (what, the catalog tells: the caller looks), or `timeout`
        seconds. A connection that fails is dropped and made again at the next wait."""
        if self._conninfo is None:
            await asyncio.sleep(timeout)
            return
        started = time.monotonic()
        try:
            if self._conn is None:
                self._conn = await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT
                )
                await self._conn.execute(f"LISTEN {CHANNEL}")
            async for _ in self._conn.notifies(timeout=timeout, stop_after=1):
                pass
        except (psycopg.Error, OSError):
            await self.close()
            await asyncio.sleep(max(0.0, timeout - (time.monotonic() - started)))

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()


__all__ = ["Listener", "tell"]
