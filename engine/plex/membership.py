"""The HSMplex's membership: hosts that serve one site through a shared catalog, each under a
lease it renews, and one of them the primary (automatic dumps, expiry, scheduled work), as
DFSMShsm's hosts share their control data sets and one is promoted when the primary fails.

Everything is decided by conditional updates of two tables in the catalog (a row changes only
if what the host saw is still so), which PostgreSQL and SQLite both make atomic: no lock is held
between two statements, and no consensus is written here. Time is the database's clock where
the database has one (PostgreSQL's `clock_timestamp()`), so hosts whose clocks drift still agree
on when a lease ends; on SQLite, one machine's clock.

A host's epoch rises each time it joins: a lease renewed or a primary claimed under an older epoch
is refused (`Fenced`), so a process that lost its lease and comes back finds it can no longer
act. It stops trusting its lease `MARGIN` before the catalog's end of it, so it has stopped
before any other host may take over.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Exists, and_, case, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from engine.catalog import Catalog
from engine.catalog.models import PlexHostRow, PlexOwnerRow, PlexPrimaryRow
from engine.errors import FlashpoolError
from engine.hostviews import LEASE_SECONDS, HostView
from engine.plex import domains as volume_domains
from engine.plex import notices

MARGIN = 0.25  # of a lease: a host stops acting this long before the catalog's end of it

_H = PlexHostRow.__table__  # type: ignore[attr-defined]
_P = PlexPrimaryRow.__table__  # type: ignore[attr-defined]
_O = PlexOwnerRow.__table__  # type: ignore[attr-defined]


class PlexError(FlashpoolError):
    pass


class SystemInUse(PlexError):
    """Another live host already serves the site under this system name."""


class Fenced(PlexError):
    """This host's lease ran out, or another instance joined under its name: it must stop."""


def _alive(now: float) -> ColumnElement[bool]:
    """A host row whose lease runs at `now`: the one rule of who may act for the plex."""
    return and_(_H.c.lease_until > now, _H.c.left_at.is_(None))


def lease_runs(system: Any, epoch: Any, now: float) -> Exists:
    """Whether the host named (its system, and the epoch it acted under: a row's columns or
    values) still holds its lease at `now` (_alive)."""
    return select(_H.c.system).where(_H.c.system == system, _H.c.epoch == epoch, _alive(now)).exists()


def database_now(c: Connection) -> float:
    """The database's clock (PostgreSQL), else this machine's (SQLite: one machine)."""
    if c.dialect.name == "postgresql":
        return float(c.execute(text("SELECT EXTRACT(EPOCH FROM clock_timestamp())")).scalar_one())
    return time.time()


@dataclass(frozen=True, slots=True)
class Lease:
    system: str
    epoch: int
    until: float  # the catalog's end of it, on the database's clock


class Membership:
    """One host's place in the plex: `join` once, `renew` (and `claim_primary`) every third of a
    lease, `leave` when it stops. Blocking (catalog writes): call from a worker thread."""

    def __init__(
        self,
        catalog: Catalog,
        system: str,
        address: str = "",
        lease: float = LEASE_SECONDS,
        now: Callable[[Connection], float] = database_now,
    ) -> None:
        self.catalog = catalog
        self.system = system
        self.address = address
        self.lease_seconds = lease
        self._now = now
        self.lease: Lease | None = None
        self._trusted_until = 0.0  # on this process's monotonic clock
        self.primary = False
        self.term = 0  # the primary's term this host last took it in
        self.took_over_from: str | None = None  # the host that held the primary before it

    # -- the host's own lease --------------------------------------------------------------------
    def join(self) -> Lease:
        """Take the system name with a new epoch; refused while another instance's lease runs."""
        started = time.monotonic()
        try:
            with self.catalog.transaction() as c:
                now = self._now(c)
                until = now + self.lease_seconds
                fields = {"pid": os.getpid(), "address": self.address, "joined_at": now, "renewed_at": now}
                taken = c.execute(
                    update(_H)
                    .where(_H.c.system == self.system, (_H.c.lease_until <= now) | _H.c.left_at.is_not(None))
                    .values(epoch=_H.c.epoch + 1, lease_until=until, left_at=None, **fields)
                ).rowcount
                if not taken:
                    if c.execute(select(_H.c.system).where(_H.c.system == self.system)).first() is not None:
                        raise self._in_use(c, now)
                    c.execute(insert(_H).values(system=self.system, epoch=1, lease_until=until, **fields))
                epoch = int(c.execute(select(_H.c.epoch).where(_H.c.system == self.system)).scalar_one())
        except IntegrityError:  # another instance inserted the name between the two statements
            raise SystemInUse(f"system {self.system} joined the plex from another process just now") from None
        self.lease = Lease(self.system, epoch, until)
        self._trusted_until = started + self.lease_seconds * (1 - MARGIN)
        return self.lease

    def _in_use(self, c: Connection, now: float) -> SystemInUse:
        row = c.execute(select(_H).where(_H.c.system == self.system)).one()
        return SystemInUse(
            f"system {self.system} is already in the plex: process {row.pid} at {row.address or 'no address'} "
            f"holds its lease for {max(0.0, row.lease_until - now):.1f} s more; it takes over only when that runs out"
        )

    def renew(self) -> Lease:
        """Extend the lease; `Fenced` when it had already run out or a newer epoch holds the name."""
        lease = self._held()
        started = time.monotonic()
        with self.catalog.transaction() as c:
            now = self._now(c)
            until = now + self.lease_seconds
            renewed = c.execute(
                update(_H)
                .where(
                    _H.c.system == self.system,
                    _H.c.epoch == lease.epoch,
                    _H.c.lease_until > now,
                    _H.c.left_at.is_(None),
                )
                .values(renewed_at=now, lease_until=until)
            ).rowcount
        if not renewed:
            self._fence()
            raise Fenced(
                f"system {self.system} (epoch {lease.epoch}) lost its lease: it ran out, or the system joined again "
                "elsewhere; this host stops acting for the plex"
            )
        self.lease = Lease(self.system, lease.epoch, until)
        self._trusted_until = started + self.lease_seconds * (1 - MARGIN)
        return self.lease

    def trusted(self) -> bool:
        """Whether this host may still act on its lease now (before the margin of its end)."""
        return self.lease is not None and time.monotonic() < self._trusted_until

    def trusted_for(self) -> float:
        """Seconds this host may still act on its lease unless it renews (0 or less: no more)."""
        return self._trusted_until - time.monotonic() if self.lease is not None else 0.0

    def leave(self) -> None:
        """Stop in good order: the lease ends now, and the primary's with it if this host held it."""
        lease = self._held()
        with self.catalog.transaction() as c:
            now = self._now(c)
            c.execute(
                update(_H)
                .where(_H.c.system == self.system, _H.c.epoch == lease.epoch)
                .values(left_at=now, lease_until=now)
            )
            c.execute(update(_P).where(_P.c.id == 1, _P.c.system == self.system).values(lease_until=now))
            notices.tell(c, f"left {self.system}")  # a host standing by takes the site over now
        self._fence()

    # -- the primary -----------------------------------------------------------------------------
    def claim_primary(self) -> bool:
        """Hold the primary (renew it, or take it when its holder's lease on it ran out); whether
        this host is the primary now. Only a host whose own lease is current may hold it."""
        lease = self._held()
        try:
            won = self._claim(lease)
        except IntegrityError:  # two hosts made the plex's first claim at once: the other won
            won = False
        self.primary = won and self.trusted()
        return self.primary

    def _claim(self, lease: Lease) -> bool:
        with self.catalog.transaction() as c:
            now = self._now(c)
            current = lease_runs(self.system, lease.epoch, now)
            before = c.execute(select(_P.c.system, _P.c.term).where(_P.c.id == 1)).first()
            if before is None:
                c.execute(insert(_P).values(id=1, term=0, lease_until=0.0))  # the plex's first claim
            won = c.execute(
                update(_P)
                .where(_P.c.id == 1, (_P.c.system == self.system) | (_P.c.lease_until <= now), current)
                .values(
                    term=case((_P.c.system == self.system, _P.c.term), else_=_P.c.term + 1),
                    system=self.system,
                    lease_until=now + self.lease_seconds,
                )
            ).rowcount
        if won and (before is None or before.system != self.system):
            self.term = (before.term if before is not None else 0) + 1
            self.took_over_from = before.system if before is not None else None
        return bool(won)

    def _held(self) -> Lease:
        if self.lease is None:
            raise PlexError(f"system {self.system} has not joined the plex")
        return self.lease

    def _fence(self) -> None:
        self._trusted_until = 0.0
        self.primary = False


def live_systems(c: Connection) -> list[str]:
    """The hosts whose lease runs now (none on a site that no `serve --system` serves)."""
    return list(c.execute(select(_H.c.system).where(_alive(database_now(c))).order_by(_H.c.system)).scalars())


def hosts(catalog: Catalog, now: Callable[[Connection], float] = database_now) -> list[HostView]:
    """Every host the plex has known, by name, with whether its lease runs, which is primary and
    which domains of volumes each owns (none for a site served by one unnamed server)."""
    with catalog.reading() as c:
        rows = c.execute(select(_H).order_by(_H.c.system)).all()
        if not rows:
            return []
        at = now(c)
        primary = c.execute(select(_P.c.system, _P.c.lease_until).where(_P.c.id == 1)).first()
        holder = primary.system if primary is not None and primary.lease_until > at else None
        owners = c.execute(
            select(_O.c.domain, _O.c.system, _O.c.epoch).where(_O.c.domain != volume_domains.SITE).order_by(_O.c.domain)
        ).all()
        sizes = Counter(volume_domains.read(c).of_volume.values()) if owners else Counter[str]()
    owned: dict[tuple[str, int], list[str]] = {}
    for domain, system, epoch in owners:
        owned.setdefault((system, epoch), []).append(domain)
    views = []
    for r in rows:
        mine = tuple(owned.get((r.system, r.epoch), ()))
        views.append(
            HostView(
                system=r.system,
                epoch=r.epoch,
                pid=r.pid,
                address=r.address,
                joined_at=r.joined_at,
                renewed_ago=at - r.renewed_at,
                lease_left=r.lease_until - at,
                live=r.left_at is None and r.lease_until > at,
                primary=r.system == holder,
                left=r.left_at is not None,
                domains=mine,
                volumes=sum(sizes[d] for d in mine),
            )
        )
    return views


__all__ = ["LEASE_SECONDS", "Fenced", "Lease", "Membership", "PlexError", "SystemInUse", "hosts", "live_systems"]
