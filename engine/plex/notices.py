"""The hosts of the plex wake each other with PostgreSQL's LISTEN/NOTIFY instead of asking the
catalog over and over: a host that leaves says so in the transaction that ends its lease, and a
host standing by, listening, takes the site over at once rather than at its next look. A host
that dies says nothing: its lease running out is found by looking, as before. SQLite has one
host and nobody to tell: waiting there is sleeping."""

from __future__ import annotations

import time

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import DBAPIError

from engine.catalog import Catalog

CHANNEL = "flashpool_plex"


def tell(c: Connection, what: str) -> None:
    """In the caller's transaction: every listening host hears `what` when it commits (never
    if it rolls back)."""
    if c.dialect.name == "postgresql":
        c.execute(select(func.pg_notify(CHANNEL, what)))


class Listener:
    """A catalog connection of its own that listens on PostgreSQL (for one waiting thread at a
    time); blocking: call from a worker thread."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._conn: Connection | None = None

    def wait(self, timeout: float) -> list[str]:
        """What the hosts said, as soon as one says something, or nothing after `timeout`
        seconds. A connection that fails is dropped and made again at the next wait."""
        if self.catalog.engine.dialect.name != "postgresql":
            time.sleep(timeout)
            return []
        started = time.monotonic()
        try:
            if self._conn is None:
                conn = self.catalog.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql(f"LISTEN {CHANNEL}")
                self._conn = conn
            driver = self._conn.connection.driver_connection
            return [n.payload for n in driver.notifies(timeout=timeout, stop_after=1)]  # type: ignore[union-attr]
        except (DBAPIError, OSError):
            self.close()
            time.sleep(max(0.0, timeout - (time.monotonic() - started)))
            return []

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.close()
            except (DBAPIError, OSError):
                conn.invalidate()


__all__ = ["CHANNEL", "Listener", "tell"]
