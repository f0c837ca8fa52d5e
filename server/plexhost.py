"""A server as a host of the HSMplex (`flashpool serve --system NAME`): it joins under its system
name, renews its lease a third of a lease apart, holds or takes the primary (automatic dumps and
expiry run on the primary only), and stops when it is fenced: a host that lost its lease must not
act for the plex again (engine.plex). Joins and takeovers go to the activity log and the audit
trail; a fenced host only logs its own end (it may no longer write the catalog)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import DBAPIError

from engine.catalog import constructs as repo
from engine.plex import Fenced, Membership
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


async def keep(site: Site, membership: Membership, stop: asyncio.Event) -> None:
    """Until the server stops: renew, claim the primary, and say when the primary moves here or
    away. A catalog that cannot be reached is retried while the lease is still trusted; after
    that, or when fenced, the server stops."""
    every = membership.lease_seconds / 3
    was_primary = False
    while True:
        try:
            await asyncio.to_thread(membership.renew)
            primary = await asyncio.to_thread(membership.claim_primary)
        except Fenced as exc:
            log.error("FPL773E %s", exc)
            stop.set()
            return
        except (DBAPIError, OSError) as exc:
            if not membership.trusted():
                log.error(
                    "FPL773E SYSTEM %s COULD NOT RENEW ITS LEASE BEFORE IT RAN OUT (%s): IT STOPS",
                    membership.system,
                    exc,
                )
                stop.set()
                return
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
