"""A host of the site's HSMplex as `flashpool status` and the console show it: a value without
the catalog's code (engine.plex reads it), so thin clients can read it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

#: a system name as DFSMShsm's hosts have them (an SMF system ID): 1-8 letters, digits, @ # $, not a digit first
SYSTEM_NAME = re.compile(r"[A-Z@#$][A-Z0-9@#$]{0,7}")
LEASE_SECONDS = 10.0  # a host's lease in the plex, unless `serve --lease` says otherwise (engine.plex)


@dataclass(frozen=True, slots=True)
class HostView:
    system: str
    epoch: int  # rises at each join: what fences off an earlier instance of the name
    pid: int
    address: str  # where the other hosts reach its server
    joined_at: float
    renewed_ago: float  # seconds since it last renewed its lease, when read (the database's clock)
    lease_left: float  # seconds its lease still runs, when read (0 or less: lapsed)
    live: bool  # its lease runs and it has not left
    primary: bool
    left: bool  # it stopped in good order
    domains: tuple[str, ...] = ()  # the domains of volumes it owns (engine.plex.domains): it drives them
    volumes: int = 0  # how many volumes those domains hold

    @property
    def role(self) -> str:
        """What the host is to the plex now, in the words `flashpool status` and the console use."""
        if self.left:
            return "stopped"
        if not self.live:
            return "LEASE LAPSED"
        return "primary" if self.primary else "drives volumes" if self.domains else "standing by"

    def describe(self) -> str:
        if self.left:
            return f"{self.system} (stopped)"
        owns = f", owns {self.volumes} volume(s) in {len(self.domains)} domain(s)" if self.domains else ""
        if not self.live:
            until = " until taken over" if self.domains else ""
            return f"{self.system} (LEASE LAPSED {-self.lease_left:.0f} s ago, pid {self.pid}, epoch {self.epoch}{owns}{until})"
        role = "" if self.role == "drives volumes" else f"{self.role}, "
        return f"{self.system} ({role}pid {self.pid}, epoch {self.epoch}, renewed {self.renewed_ago:.1f} s ago{owns})"


def summary(hosts: Sequence[HostView]) -> str:
    """The plex in a few words for a status line ("plex SYS1 primary 40 vols, SYS2 standing by"):
    the hosts that have not stopped, and how many volumes each drives; "" for a site served by
    one unnamed server."""
    shown = [h for h in hosts if not h.left]
    if not shown:
        return ""
    words = [
        h.system + ("" if h.role == "drives volumes" else f" {h.role}") + (f" {h.volumes} vols" if h.domains else "")
        for h in shown
    ]
    return "plex " + ", ".join(words)


@dataclass(frozen=True, slots=True)
class EnqueueHolder:
    """Who holds a copy pool's serialisation (on which host of the plex, "" for a site's one
    server), as DFSMShsm names the holder of an ENQ a request found taken."""

    system: str
    user: str
    command: str
    since: float  # the database's clock

    def describe(self) -> str:
        where = f"SYSTEM {self.system} HOLDS IT" if self.system else "IT IS HELD"
        return f"{where} FOR USER {self.user} ({self.command})"
