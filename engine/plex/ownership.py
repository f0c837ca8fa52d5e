"""Which host of the plex owns which domain of volumes (engine.plex.domains), and the fencing
token that goes with it.

A domain is owned while its owner's lease, under the epoch it was taken in, runs; a host claims
every domain nobody owns and every domain whose owner's lease ran out, raising the domain's
token each time it changes hands. Every commit of relationship state (engine.catalog's journal)
checks, in its own transaction, that the committing host still owns the domains of the volumes
it writes under the token it took them with, and holds those rows shared until it commits: a
host that lost a domain, however late its commit comes, cannot pass the check, and a takeover
waits for a commit in flight to end instead of slipping in under it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from engine.catalog.models import PlexOwnerRow
from engine.plex import domains as volume_domains
from engine.plex.membership import Fenced, Membership, lease_runs

_O = PlexOwnerRow.__table__  # type: ignore[attr-defined]
SITE = volume_domains.SITE


@dataclass(frozen=True, slots=True)
class Taken:
    domain: str
    token: int
    previous: str | None  # the host that owned it before (None: nobody had)


class Ownership:
    """This host's domains. Blocking (catalog writes): call from a worker thread."""

    def __init__(self, membership: Membership) -> None:
        self.membership = membership
        self.tokens: dict[str, int] = {}  # domain -> the token this host holds it under
        self.domains = volume_domains.Domains({}, {})

    def wanted(self) -> set[str]:
        """Every row a host that drives the whole site owns: the domains and the site's own."""
        return set(self.domains.names()) | {SITE}

    def claim(self, whole: bool = False) -> list[Taken]:
        """Take every domain that nobody owns or whose owner's lease ran out; returns what this
        call took (the domains it holds already are kept: they live on its lease). `whole`: all
        of them or nothing, while another live host owns any (a host that is to drive the whole
        site never takes a domain from under the host that drives it now)."""
        m = self.membership
        lease = m._held()
        if not m.trusted():
            raise Fenced(f"system {m.system} holds no current lease: it may own no volumes")
        try:
            with m.catalog.transaction() as c:
                now = m._now(c)
                found = volume_domains.read(c)
                alive = lease_runs(_O.c.system, _O.c.epoch, now)
                if whole:
                    others = (_O.c.system != m.system) | (_O.c.epoch != lease.epoch)
                    if c.execute(select(_O.c.domain).where(others, alive).limit(1)).first() is not None:
                        self.domains = found
                        return []
                if c.dialect.name == "postgresql":  # a commit in flight holds a row: try again next round
                    c.execute(text("SET LOCAL lock_timeout = '2s'"))
                # in the domains' order, as every check locks them: no two transactions wait on each other
                lapsed = c.execute(select(_O.c.domain, _O.c.system).where(~alive).order_by(_O.c.domain)).all()
                taken = []
                for domain, previous in lapsed:
                    c.execute(
                        update(_O)
                        .where(_O.c.domain == domain, ~alive)
                        .values(system=m.system, epoch=lease.epoch, token=_O.c.token + 1, since=now)
                    )
                    taken.append((domain, previous))
                known = set(c.execute(select(_O.c.domain)).scalars())
                fresh = sorted((set(found.names()) | {SITE}) - known)
                if fresh:
                    c.execute(
                        insert(_O),
                        [
                            {"domain": d, "system": m.system, "epoch": lease.epoch, "token": 1, "since": now}
                            for d in fresh
                        ],
                    )
                    taken += [(d, None) for d in fresh]
                mine = c.execute(
                    select(_O.c.domain, _O.c.token).where(_O.c.system == m.system, _O.c.epoch == lease.epoch)
                ).all()
        except IntegrityError:  # another host claimed a new domain at the same moment: next round
            return []
        except OperationalError as exc:
            if "lock timeout" not in str(exc.orig):
                raise
            return []  # a commit of the host it takes from is in flight (its row is held): next round
        self.tokens = {d: t for d, t in mine}
        self.domains = found
        return [Taken(d, self.tokens[d], previous) for d, previous in taken if d in self.tokens and d != SITE]

    def check(self, c: Connection, volsers: Iterable[str]) -> None:
        """In the caller's transaction, before it writes the state of `volsers`: `Fenced` unless
        this host owns their domains under the tokens it took them with and its lease runs; the
        rows stay locked (shared) until the transaction ends, so no takeover slips in under it."""
        m = self.membership
        lease = m.lease
        wanted = {self._domain_of(c, v) for v in volsers}
        if not wanted:
            return
        tokens = self.tokens  # one snapshot: renewals replace it from another thread
        held = {d: tokens.get(d) for d in wanted}
        if lease is None or None in held.values():
            raise Fenced(f"system {m.system} does not own {', '.join(sorted(d for d, t in held.items() if t is None))}")
        now = m._now(c)
        rows = c.execute(
            select(_O.c.domain, _O.c.token)
            .where(_O.c.domain.in_(wanted), _O.c.system == m.system, _O.c.epoch == lease.epoch)
            .order_by(_O.c.domain)
            .with_for_update(read=True)
        ).all()
        now_held: dict[str, int] = {str(d): int(t) for d, t in rows}
        current = c.execute(select(lease_runs(m.system, lease.epoch, now))).scalar()
        if not current or now_held != held:
            lost = sorted(d for d in wanted if now_held.get(d) != held[d])
            raise Fenced(
                f"system {m.system} no longer owns {', '.join(lost) or 'its volumes'} under the tokens it took them with "
                "(its lease ran out and another host took them over): it may not write their state"
            )

    def check_writer(self, c: Connection) -> None:
        """In the caller's transaction, just before any other write of this host's commits
        (versions, intents, tapes, data sets, the logs): `Fenced` unless its lease runs and it
        still holds the site's own row (SITE) under the token it took it with. That row stays
        locked (shared) until the commit: a host's rows change hands together when its lease
        runs out (claim), so a takeover waits for this commit, or this commit finds them gone."""
        m = self.membership
        lease = m.lease
        token = self.tokens.get(SITE)
        if lease is None or token is None:
            raise Fenced(f"system {m.system} does not drive the site: it may not write the catalog")
        now = m._now(c)
        held = c.execute(
            select(_O.c.token)
            .where(_O.c.domain == SITE, _O.c.system == m.system, _O.c.epoch == lease.epoch)
            .with_for_update(read=True)
        ).scalar()
        if held != token or not c.execute(select(lease_runs(m.system, lease.epoch, now))).scalar():
            raise Fenced(
                f"system {m.system} no longer holds its lease and its volumes (its lease ran out, and another host "
                "may have taken them over): it may not write the catalog"
            )

    def _domain_of(self, c: Connection, volser: str) -> str:
        domain = self.domains.of_volume.get(volser)
        if domain is None:  # a volume the configuration added since the last claim
            self.domains = volume_domains.read(c)
            domain = self.domains.of_volume.get(volser, volser)
        return domain


__all__ = ["Ownership", "Taken"]
