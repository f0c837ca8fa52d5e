"""A copy pool's serialisation across the hosts of the plex (DFSMShsm's global ENQ on the copy
pool): one row per held pool in the catalog, naming the host, the epoch of its lease, the user
and the command. Taking it is an insert the primary key lets one host win; a row whose host's
lease ran out, or whose host joined again since, holds nothing and is cleared by the next taker,
so a host that died holding a pool keeps it at most one lease. Each host also serialises its
own commands on the pool (engine.hsm.service), so a host takes a pool's row at most once."""

from __future__ import annotations

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.catalog.models import PlexEnqueueRow
from engine.hostviews import EnqueueHolder
from engine.plex.membership import Fenced, Membership, lease_runs

_E = PlexEnqueueRow.__table__  # type: ignore[attr-defined]


class PoolEnqueues:
    """This host's side of the plex's copy pool ENQs. Blocking (catalog writes): call from a
    worker thread."""

    def __init__(self, membership: Membership) -> None:
        self.membership = membership

    def take(self, pool: str, user: str, command: str) -> EnqueueHolder | None:
        """Hold `pool` for `user`'s `command`; None when held, else who holds it now."""
        m = self.membership
        lease = m.lease
        if lease is None or not m.trusted():
            raise Fenced(f"system {m.system} holds no current lease: it may not serialise copy pool {pool}")
        with m.catalog.transaction() as c:
            now = m._now(c)
            alive = lease_runs(_E.c.system, _E.c.epoch, now)
            c.execute(delete(_E).where(_E.c.pool == pool, ~alive))  # a dead holder holds nothing
            mine = and_(_E.c.pool == pool, _E.c.system == m.system, _E.c.epoch == lease.epoch)
            if c.execute(update(_E).where(mine).values(user=user, command=command, since=now)).rowcount:
                return None  # left behind by this host (a release that could not be written)
        while True:
            try:
                with m.catalog.transaction() as c:
                    row = {"pool": pool, "system": m.system, "epoch": lease.epoch, "user": user, "command": command}
                    c.execute(insert(_E).values(since=m._now(c), **row))
                    return None
            except IntegrityError:  # another host holds it
                with m.catalog.reading() as c:
                    held = c.execute(select(_E).where(_E.c.pool == pool)).first()
                if held is not None:  # else released between the two: ask again
                    return EnqueueHolder(held.system, held.user, held.command, held.since)

    def release(self, pool: str) -> None:
        m = self.membership
        if m.lease is None:
            return
        with m.catalog.transaction() as c:
            c.execute(delete(_E).where(_E.c.pool == pool, _E.c.system == m.system, _E.c.epoch == m.lease.epoch))


__all__ = ["PoolEnqueues"]
