"""The HSMplex: hosts serving one site through a shared catalog, each under a lease
(membership), and the copy pools' serialisation across them (enqueue)."""

from engine.plex.enqueue import PoolEnqueues
from engine.plex.membership import LEASE_SECONDS, Fenced, Lease, Membership, PlexError, SystemInUse, hosts

__all__ = ["LEASE_SECONDS", "Fenced", "Lease", "Membership", "PlexError", "PoolEnqueues", "SystemInUse", "hosts"]
