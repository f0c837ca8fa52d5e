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
import logging
import time

from sqlalchemy.exc import DBAPIError

from engine.catalog import constructs as repo
from engine.plex import Fenced, Membership, Ownership, Taken
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
    log.info("%s %s", message_id, text)


def record_taken(site: Site, membership: Membership, taken: list[Taken]) -> None:
    """FPL774I for the domains of volumes this host just took (blocking)."""
    if not taken:
        return
    came = sorted({t.previous for t in taken if t.previous})
    names = ", ".join(t.domain for t in taken[:12]) + (f" AND {len(taken) - 12} MORE" if len(taken) > 12 else "")
    source = f" FROM {', '.join(came)} (LEASE RAN OUT)" if came else ""
    text = f"SYSTEM {membership.system} OWNS THE VOLUMES OF {len(taken)} DOMAIN(S){source}: {names}"
    record(site, "FPL774I", text)


async def own_every_domain(site: Site, membership: Membership, deadline: float) -> Ownership:
    """Before the server drives the site's relationships: every domain of volumes owned here, its
    commits fenced by the tokens taken; a domain another host still owns is waited for until its
    lease runs out (by `deadline`, on the monotonic clock), else the server does not start."""
    ownership = Ownership(membership)
    while True:
        taken = await asyncio.to_thread(ownership.claim)
        await asyncio.to_thread(record_taken, site, membership, taken)
        missing = sorted(set(ownership.domains.names()) - set(ownership.tokens))
        if not missing:
            site.catalog.fence = ownership.check
            return ownership
        if time.monotonic() > deadline:
            raise Fenced(
                f"system {membership.system} cannot own the volumes of {', '.join(missing[:8])}: another live host of the "
                "plex owns them, and one server drives every relationship of a site"
            )
        log.warning("serve: the volumes of %s are owned by another host until its lease runs out; waiting", missing[0])
        await asyncio.to_thread(membership.renew)
        await asyncio.sleep(membership.lease_seconds / 10)


async def keep(site: Site, membership: Membership, ownership: Ownership, stop: asyncio.Event) -> None:
    """Until the server stops: renew the lease, hold or take the primary and the domains of
    volumes whose owner died. A watch on the lease's own clock halts every volume write the moment
    the host may no longer trust its lease (a quarter lease before the catalog's end of it, so
    before any other host may take its volumes), whether the renewals fail, hang on a cut
    connection, or are refused (fenced); then the server stops."""
    renewing = asyncio.create_task(_renew(site, membership, ownership), name="flashpool-plex-renew")
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


async def _renew(site: Site, membership: Membership, ownership: Ownership) -> None:
    """Renew a third of a lease apart (retrying a catalog that cannot be reached), until fenced."""
    every = membership.lease_seconds / 3
    was_primary = False
    while True:
        try:
            await asyncio.to_thread(membership.renew)
            primary = await asyncio.to_thread(membership.claim_primary)
            await asyncio.to_thread(record_taken, site, membership, await asyncio.to_thread(ownership.claim))
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
