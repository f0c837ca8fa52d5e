"""The HSMplex: hosts serving one site through a shared catalog, each under a lease
(membership); the copy pools' serialisation across them (enqueue); the site's volumes in
domains (domains), each owned by one host under a fencing token (ownership)."""

from engine.plex.enqueue import PoolEnqueues
from engine.plex.membership import (
    LEASE_SECONDS,
    Fenced,
    Lease,
    Membership,
    PlexError,
    SystemInUse,
    hosts,
    live_systems,
)
from engine.plex.ownership import Ownership, Taken

__all__ = [
    "LEASE_SECONDS",
    "Fenced",
    "Lease",
    "Membership",
    "Ownership",
    "PlexError",
    "PoolEnqueues",
    "SystemInUse",
    "Taken",
    "hosts",
    "live_systems",
]
