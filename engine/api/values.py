"""The values a site's API answers with (its DTOs): what the server sends and every client reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.errors import FlashpoolError
from engine.hostviews import HostView
from engine.security import AuditEntry, Decision, Identity, Kind
from engine.security.marks import AuditMark
from engine.storageviews import GroupView, VolumeView

if TYPE_CHECKING:
    pass

API_VERSION = "v1"


class NotAuthorized(FlashpoolError):
    """A read the identity may not make (the server answers 403 with the same text)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def refusal_lines(decision: Decision, who: Identity) -> tuple[str, str]:
    """RACF's ICH408I for a denial, in its order of fields, and its short form."""
    group = who.groups[0] if who.groups else "-"
    generic = " (G)" if any(c in decision.profile for c in "*%") else ""
    source = f"FROM {decision.profile}{generic}" if decision.profile else "(NO PROFILE PROTECTS IT)"
    return (
        f"USER({who.user}) GROUP({group}) {decision.resource} CL(FACILITY) INSUFFICIENT ACCESS AUTHORITY "
        f"{source} ACCESS INTENT({decision.needed.name}) ACCESS ALLOWED({decision.held.name})",
        decision.refusal(who),
    )


@dataclass(frozen=True, slots=True)
class SiteStatus:
    """What the status line and `flashpool status` show: cheap to read, read often."""

    site: str  # the site directory's name
    demo: bool
    mode: str  # embedded | server
    user: str  # who is asking
    clock: float  # the site's clock
    copies: int  # relationships with tracks still to copy in the background
    out_of_sync: int
    tracks: int
    parked: dict[int, str]  # relationship id -> why its copy is parked
    background: int  # background dumps (RETURNCONTROL(FREND)) still running
    holds: tuple[str, ...]
    pid: int  # the process that holds the site
    started_at: float
    clients: int  # clients connected to the server (0 embedded)
    backlog: int  # the largest number of events a client's stream has not yet been sent
    version: str
    durable: bool  # every promise kept through a power cut (False: opened --no-durable)
    hosts: tuple[HostView, ...] = ()  # the site's HSMplex (engine.plex): none for one unnamed server
    consoles: int = 0  # of the clients: consoles attached (their event streams)
    waiting: int = 0  # of the clients: CLI clients waiting on a command's copies (hsm --wait)
    queued: tuple[str, ...] = ()  # held NOWAIT requests the server keeps until their RELEASE (FPL180I)


@dataclass(frozen=True, slots=True)
class StorageView:
    """The storage groups with their volumes, and the volumes in no group."""

    groups: tuple[GroupView, ...]
    ungrouped: tuple[VolumeView, ...]


@dataclass(frozen=True, slots=True)
class BandMap:
    tracks: int
    bands: tuple[tuple[float, float], ...]  # per band: share still to copy onto / off the volume


@dataclass(frozen=True, slots=True)
class AuditReport:
    entries: int
    problems: tuple[str, ...]
    head: AuditMark  # the newest entry, as a checkpoint records it


@dataclass(frozen=True, slots=True)
class AuditExport:
    """Entries, and the head of the trail when they were read: kept elsewhere, a later
    `audit verify --against` proves the trail was not rewritten since."""

    entries: tuple[AuditEntry, ...]
    head: AuditMark


@dataclass(frozen=True, slots=True)
class Caller:
    """Who the site takes the caller to be."""

    user: str
    groups: tuple[str, ...]
    via: str  # process | unix | token
    site: str  # the site directory's name
    pid: int  # the process that holds the site
    mode: str  # embedded | server


@dataclass(frozen=True, slots=True)
class SettingView:
    name: str
    value: str
    meaning: str


@dataclass(frozen=True, slots=True)
class RoleGrant:
    role: str
    kind: Kind
    name: str
    granted_by: str
    at: float


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    user: str
    label: str
    created_at: float
    created_by: str
    revoked_at: float | None
    expires_at: float | None  # None: made before tokens expired (it never does)

    def state(self, now: float) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "live"


@dataclass(frozen=True, slots=True)
class WorkloadResult:
    copy_pool: str
    allocated: int
    updated: int
    deleted: int
    skipped: int
    bytes_written: int
