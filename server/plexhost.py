"""A server as a host of the HSMplex (`flashpool serve --system NAME`): it joins under its system
name, owns the site's volumes before it drives them (every domain, each under a fencing token its
relationship commits carry), renews its lease a third of a lease apart, holds or takes the
primary (automatic dumps and expiry run on the primary only), and stops when it is fenced: a
host that lost its lease must not act for the plex again (engine.plex). Joins, takeovers of the
primary and of volumes go to the activity log and the audit trail; a fenced host only logs its
own end (it may no longer write the catalog).

A server drives every relationship of the site (it loaded them all when it opened it), so it
starts only once it owns every domain; a domain whose owner died is taken over when that host's
lease runs out. Serving one site from several servers at once, each owning some domains, is the
next part of the plex (README)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError

from engine.catalog import constructs as repo
from engine.plex import Membership, Ownership, Taken, hosts, notices
from engine.security import Identity
from engine.security.audit import SYSTEM
from engine.site import Site

log = logging.getLogger("flashpool.server")
ORIGIN = "PLEX"  # the activity log's and audit trail's origin of what the plex itself did


def record(site: Site, message_id: str, text: str) -> None:
    """One activity entry and its audit entry, in one transaction (blocking)."""
    ctx = site.context
    at = ctx.clock()
    entry = repo.ActivityEntry(at, ORIGIN, text, None, 0, [{"id": message_id, "severity": "I", "text": text}])
    ctx.audit.record(
        Identity.current(), ORIGIN, text, at, None, 0, (message_id,), lambda c: repo.log_activity(c, entry), SYSTEM
    )
    ctx.announce(entry)  # every client's event stream sees it, as it sees commands end
    log.info("%s %s", message_id, text)


def taken_messages(membership: Membership, taken: list[Taken]) -> list[tuple[str, str]]:
    """FPL774I for the domains of volumes this host just took (none when it took none), saying
    whether each host it took them from left the plex (stopped) or let its lease run out
    (blocking: it reads the hosts)."""
    if not taken:
        return []
    came = sorted({t.previous for t in taken if t.previous})
    left = {h.system for h in hosts(membership.catalog) if h.left} if came else set()
    names = ", ".join(t.domain for t in taken[:12]) + (f" AND {len(taken) - 12} MORE" if len(taken) > 12 else "")
    how = [f"{h} ({'IT LEFT THE PLEX' if h in left else 'ITS LEASE ENDED'})" for h in came]
    source = f" FROM {', '.join(how)}" if came else ""
    return [("FPL774I", f"SYSTEM {membership.system} OWNS THE VOLUMES OF {len(taken)} DOMAIN(S){source}: {names}")]


async def own_every_domain(
    membership: Membership, standing_by: Callable[[], Awaitable[None]]
) -> tuple[Ownership, list[Taken]]:
    """Before the server opens the site: every domain of volumes owned here, all at once. While
    another live host drives the site, this host stands by (FPL775I), renewing its lease, and
    takes the site over the moment that host's lease runs out. Returns the ownership and what
    it took. `standing_by` is awaited once, when it starts to stand by."""
    ownership = Ownership(membership)
    listener = notices.Listener(membership.catalog.url)
    try:
        return await _own_every_domain(membership, ownership, listener, standing_by)
    finally:
        await listener.close()


async def _own_every_domain(
    membership: Membership, ownership: Ownership, listener: notices.Listener, standing_by: Callable[[], Awaitable[None]]
) -> tuple[Ownership, list[Taken]]:
    said = False
    while True:
        try:
            taken = await asyncio.to_thread(ownership.claim, True)
        except (DBAPIError, OSError) as exc:  # the catalog cannot be reached just now: the next round
            log.warning("system %s could not claim the site's volumes yet (%s); it retries", membership.system, exc)
            taken = []
        if set(ownership.tokens) >= ownership.wanted():
            return ownership, taken
        if not said:
            try:
                seen = await asyncio.to_thread(hosts, membership.catalog)
            except (DBAPIError, OSError):
                seen = []
            owners = sorted({h.system for h in seen if h.domains})
            log.info(
                "FPL775I SYSTEM %s STANDS BY: %s DRIVES THE SITE; IT TAKES THE SITE OVER WHEN THAT HOST'S LEASE RUNS OUT",
                membership.system,
                ", ".join(owners) or "ANOTHER HOST",
            )
            said = True
            await standing_by()
        await listener.wait(membership.lease_seconds / 10)  # or until a host that leaves says so
        try:
            await asyncio.to_thread(membership.renew)
        except (DBAPIError, OSError) as exc:  # a lease that lapses meanwhile is Fenced at the next claim
            log.warning("system %s could not renew its lease yet (%s); it retries", membership.system, exc)


async def keep(site: Site, membership: Membership, ownership: Ownership, stop: asyncio.Event) -> None:
    """Until the server stops: renew the lease, hold or take the primary and the domains of
    volumes whose owner died. A watch on the lease's own clock halts every volume write the moment
    the host may no longer trust its lease (a quarter lease before the catalog's end of it, so
    before any other host may take its volumes), whether the renewals fail, hang on a cut
    connection, or are refused (fenced); then the server stops."""
    renewing = asyncio.create_task(_renew(site, membership, ownership, stop), name="flashpool-plex-renew")
    why = ""
    try:
        while not renewing.done():
            left = membership.trusted_for()
            if left <= 0:
                why = f"SYSTEM {membership.system} COULD NOT RENEW ITS LEASE BEFORE IT RAN OUT"
                break
            await asyncio.wait({renewing}, timeout=left)
        if renewing.done() and not renewing.cancelled():
            why = str(renewing.exception() or why)
    finally:
        renewing.cancel()
    text = f"{why}: IT STOPS WRITING THE SITE'S VOLUMES AND STOPS"
    await asyncio.to_thread(site.flashcopy.core.halt, text)
    log.error("FPL773E %s", text)
    stop.set()


async def _renew(site: Site, membership: Membership, ownership: Ownership, stop: asyncio.Event) -> None:
    """Renew a third of a lease apart (retrying a catalog that cannot be reached), until fenced.
    Once the server stops, only the lease: it is closing the site, and then leaves."""
    every = membership.lease_seconds / 3
    was_primary = False
    while True:
        if stop.is_set():
            with contextlib.suppress(DBAPIError, OSError):
                await asyncio.to_thread(membership.renew)
            await asyncio.sleep(every)
            continue
        try:
            await asyncio.to_thread(membership.renew)
            primary = await asyncio.to_thread(membership.claim_primary)
            taken = await asyncio.to_thread(ownership.claim)
            for message_id, text in await asyncio.to_thread(taken_messages, membership, taken):
                await asyncio.to_thread(record, site, message_id, text)
        except (DBAPIError, OSError) as exc:
            log.warning("system %s could not renew its lease yet (%s); it retries", membership.system, exc)
        else:
            if primary and not was_primary:
                came = f", TAKING OVER FROM {membership.took_over_from}" if membership.took_over_from else ""
                text = f"SYSTEM {membership.system} IS THE PRIMARY HOST OF THE PLEX (TERM {membership.term}{came})"
                await asyncio.to_thread(record, site, "FPL771I", text)
            elif was_primary and not primary:
                log.info("FPL772I SYSTEM %s IS NO LONGER THE PRIMARY HOST", membership.system)
            was_primary = primary
        await asyncio.sleep(every)
