"""A server as a host of the HSMplex (`flashpool serve --system NAME`): it joins under its system
name, renews its lease a third of a lease apart, holds or takes the primary (automatic dumps and
expiry run on the primary only), and stops when it is fenced: a host that lost its lease must not
act for the plex again (engine.plex)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import DBAPIError

from engine.plex import Fenced, Membership

log = logging.getLogger("flashpool.server")


async def keep(membership: Membership, stop: asyncio.Event) -> None:
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
            if primary != was_primary:
                if primary:
                    log.info("FPL771I SYSTEM %s IS THE PRIMARY HOST OF THE PLEX", membership.system)
                else:
                    log.info("FPL772I SYSTEM %s IS NO LONGER THE PRIMARY HOST", membership.system)
                was_primary = primary
        await asyncio.sleep(every)
