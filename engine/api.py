"""The site as its clients see it: everything the console, the CLI and scripts may ask of a
site, and nothing else. Two implementations: `LocalSite` runs it in this process (one user, no
server; and the server itself, once per request, for the identity that asked), and
`server.client.RemoteSite` sends it to the site's server over HTTP.

Reads are blocking (call them from a worker thread: they read the catalog, or the network);
actions are coroutines. Every function is authorized for the client's identity; a refusal is
`NotAuthorized` (reads) or a result with RC 36 (actions), and is in the audit trail.
"""

from __future__ import annotations

import abc
import asyncio
import enum
import functools
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from engine.catalog.models import RoleGrantRow
from engine.datasets.manager import DataSetInfo
from engine.errors import FlashpoolError
from engine.events import Event
from engine.flashcopy import RelationshipInfo
from engine.hsm import verify
from engine.hsm.impact import Impact, impact
from engine.hsm.messages import CommandResult, Rc
from engine.hsm.precheck import precheck
from engine.hsm.rules import Check as RuleCheck
from engine.hsm.verify import Expectation, Outcome
from engine.security import Access, AuditEntry, Check, Decision, Function, Identity, Kind, Role
from engine.security import store as security
from engine.security.access import valid_profile_name
from engine.security.store import ProfileListing
from engine.views import ActivityView, GroupView, PairView, PoolSummary, VersionView, VolumeView

if TYPE_CHECKING:
    from engine.site import Site

API_VERSION = "v1"


#: reads whose every allowed use is audited too (who looked at the security setup and the trail);
#: the views a console refreshes every second are audited when refused
AUDITED_READS = frozenset({Function.SECURITY, Function.AUDIT})


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


class Change(enum.Enum):
    """The security administration functions (STGADMIN.FPL.SECURITY, UPDATE)."""

    DEFINE = "define"  # a profile, with its UACC
    ALTER = "alter"  # a profile's UACC
    DELETE = "delete"  # a profile and its access list
    PERMIT = "permit"  # a user or group into a profile's access list
    REMOVE = "remove"  # ... out of it
    GRANT = "grant"  # a role bundle to a user or group
    REVOKE = "revoke"
    TOKEN = "token"  # a new API token for a user (its secret is shown once)
    UNTOKEN = "untoken"  # revoke a token


@dataclass(frozen=True, slots=True)
class SecurityChange:
    change: Change
    profile: str = ""
    uacc: Access = Access.NONE
    kind: Kind = Kind.USER
    name: str = ""  # user or group
    access: Access = Access.READ
    role: str = ""
    label: str = ""
    token_id: int = 0

    def describe(self) -> str:
        c = self.change
        who = f"{self.kind.value} {self.name}"
        return {
            Change.DEFINE: f"RDEFINE FACILITY {self.profile} UACC({self.uacc.name})",
            Change.ALTER: f"RALTER FACILITY {self.profile} UACC({self.uacc.name})",
            Change.DELETE: f"RDELETE FACILITY {self.profile}",
            Change.PERMIT: f"PERMIT {self.profile} CLASS(FACILITY) ID({self.name}) ACCESS({self.access.name})"
            + (" GROUP" if self.kind is Kind.GROUP else ""),
            Change.REMOVE: f"PERMIT {self.profile} CLASS(FACILITY) ID({self.name}) DELETE"
            + (" GROUP" if self.kind is Kind.GROUP else ""),
            Change.GRANT: f"GRANT ROLE({self.role.upper()}) TO {who}",
            Change.REVOKE: f"REVOKE ROLE({self.role.upper()}) FROM {who}",
            Change.TOKEN: f"TOKEN CREATE USER({self.name})" + (f" LABEL({self.label})" if self.label else ""),
            Change.UNTOKEN: f"TOKEN REVOKE ID({self.token_id})",
        }[c]


@dataclass(frozen=True, slots=True)
class WorkloadResult:
    copy_pool: str
    allocated: int
    updated: int
    deleted: int
    skipped: int
    bytes_written: int


class SiteAPI(abc.ABC):
    """What a client can ask of a site (see the module's docstring)."""

    mode: str  # embedded | server
    name: str  # the site directory's name
    path: Path  # where the site lies (as the client names it)
    demo: bool
    who: Identity

    # -- reads (blocking) -------------------------------------------------------------------------
    @abc.abstractmethod
    def status(self) -> SiteStatus: ...

    @abc.abstractmethod
    def pools(self, only: str | None = None) -> list[PoolSummary]: ...

    @abc.abstractmethod
    def versions(self, pool: str) -> list[VersionView]: ...

    @abc.abstractmethod
    def pairs(self, pool: str, version: int) -> list[PairView]:
        """The volume pairs of one version of a pool (`version` is its VersionView.id)."""

    @abc.abstractmethod
    def volumes(self) -> list[VolumeView]: ...

    @abc.abstractmethod
    def storage(self) -> StorageView: ...

    @abc.abstractmethod
    def relationships(self, volser: str | None = None) -> list[RelationshipInfo]: ...

    @abc.abstractmethod
    def activity(self, limit: int = 500, pool: str | None = None) -> list[ActivityView]: ...

    @abc.abstractmethod
    def band_map(self, volser: str, cells: int) -> BandMap: ...

    @abc.abstractmethod
    def datasets(self, pattern: str | None = None) -> list[DataSetInfo]: ...

    @abc.abstractmethod
    def dataset(self, name: str) -> DataSetInfo | None: ...

    @abc.abstractmethod
    def datasets_on(self, volsers: list[str]) -> list[DataSetInfo]: ...

    @abc.abstractmethod
    def precheck(self, command: str) -> list[RuleCheck]: ...

    @abc.abstractmethod
    def impact(self, command: str) -> Impact: ...

    @abc.abstractmethod
    def expect(self, command: str) -> list[Expectation]: ...

    @abc.abstractmethod
    def verify(self, expected: list[Expectation]) -> list[Outcome]: ...

    @abc.abstractmethod
    def verify_backup(self, pool: str) -> list[Outcome]: ...

    @abc.abstractmethod
    def volume_digest(self, volser: str) -> str: ...

    @abc.abstractmethod
    def dataset_digest(self, name: str) -> str: ...

    @abc.abstractmethod
    def may(self, checks: list[Check]) -> list[Decision]:
        """What this identity may do (the console greys the rest and says why)."""

    @abc.abstractmethod
    def profiles(self, pattern: str | None = None) -> list[ProfileListing]: ...

    @abc.abstractmethod
    def role_grants(self) -> list[RoleGrant]: ...

    @abc.abstractmethod
    def tokens(self) -> list[TokenInfo]: ...

    @abc.abstractmethod
    def audit_verify(self) -> AuditReport: ...

    @abc.abstractmethod
    def audit_export(self, since: float | None = None) -> list[AuditEntry]: ...

    # -- actions ----------------------------------------------------------------------------------
    @abc.abstractmethod
    async def command(self, text: str, origin: str = "CLI") -> CommandResult: ...

    @abc.abstractmethod
    async def record(self, origin: str, command: str, pool: str | None, rc: int, lines: list[str]) -> None:
        """A transcript (a walkthrough's) into the activity log."""

    @abc.abstractmethod
    async def damage(self, volser: str, first: int, last: int) -> CommandResult:
        """Overwrite tracks with garbage through the write path (recovery drills)."""

    @abc.abstractmethod
    async def damage_dataset(self, name: str) -> CommandResult: ...

    @abc.abstractmethod
    async def workload(self, copy_pool: str, rate: float, seconds: float, seed: int | None) -> WorkloadResult: ...

    @abc.abstractmethod
    async def change_security(self, change: SecurityChange) -> CommandResult: ...

    @abc.abstractmethod
    async def stop_server(self) -> CommandResult:
        """Stop the site's server (STGADMIN.FPL.SERVER): it finishes the commands it accepted,
        persists and exits; copies resume at its next start."""

    @abc.abstractmethod
    async def save_transcript(self, name: str, text: str) -> str:
        """Into the site's transcripts/ folder; returns the file's path."""

    @abc.abstractmethod
    def events(self) -> AsyncIterator[Event]:
        """Every engine event of the site, as it happens (progress coalesced by a server)."""

    @abc.abstractmethod
    async def start(self, background: bool = True) -> None:
        """Begin: in-process, the site now lives on this event loop and, with `background`, its
        copies, dumps and alerts run here; a server's client has nothing to start."""

    @abc.abstractmethod
    async def settle(self) -> None:
        """Before leaving: in-process, background dumps started here finish first; a server
        finishes them itself."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    async def wait_copies(self, progress: Callable[[SiteStatus], None] | None = None) -> dict[int, str]:
        """Until every background copy has completed or is parked; returns the parked ones."""
        while True:
            st = await asyncio.to_thread(self.status)
            if progress is not None:
                progress(st)
            if st.copies <= len(st.parked):
                return st.parked
            await asyncio.sleep(0.2)


@functools.cache
def _version() -> str:
    """The installed version, read once: importlib.metadata reads the distribution's files at
    every call (1.1 ms here), and every console asks for the site's status each second."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flashpool")
    except PackageNotFoundError:
        return "(not installed)"


class LocalSite(SiteAPI):
    """The API over a Site in this process, for one identity."""

    def __init__(
        self,
        site: Site,
        who: Identity | None = None,
        *,
        mode: str = "embedded",
        clients: Callable[[], int] = lambda: 0,
        backlog: Callable[[], int] = lambda: 0,
        started_at: float | None = None,
    ) -> None:
        self.engine = site
        self.who = who or Identity.current()
        self.mode = mode
        self.name = site.path.name
        self.path = site.path
        self.demo = site.demo
        self._clients = clients
        self._backlog = backlog
        self._started_at = started_at if started_at is not None else time.time()

    def as_user(self, who: Identity) -> LocalSite:
        """The same site for another identity (the server: one per request)."""
        return LocalSite(
            self.engine, who, mode=self.mode, clients=self._clients, backlog=self._backlog, started_at=self._started_at
        )

    # -- authorization ------------------------------------------------------------------------------
    def _decide(self, check: Check) -> Decision:
        return self.engine.context.guard.decide(self.who, check)

    def _allow(self, check: Check, action: str, audit: bool = True) -> Decision:
        """A read: allowed, or refused (audited) with NotAuthorized. An allowed read of the
        security setup or the trail is audited too (`audit=False`: the caller does it after)."""
        d = self._decide(check)
        if not d.allowed:
            ich, _ = refusal_lines(d, self.who)
            self._audit(action, d, Rc.NOT_AUTHORIZED, ("ICH408I",))
            raise NotAuthorized(f"ICH408I {ich}")
        if check.function in AUDITED_READS and audit:
            self._audit(action, d, 0, ())
        return d

    def _audit(self, action: str, decision: Decision | None, rc: int, ids: tuple[str, ...]) -> None:
        ctx = self.engine.context
        ctx.audit.record(self.who, "API" if self.mode == "server" else "CLI", action, ctx.clock(), decision, rc, ids)

    def check_read(self, pool: str | None = None) -> None:
        """May this identity see the site (or the copy pool)? NotAuthorized, audited, if not."""
        self._allow(Check(Function.LIST, pool), "READ " + (f"COPYPOOL({pool})" if pool else "SITE"))

    def may(self, checks: list[Check]) -> list[Decision]:
        return [self._decide(c) for c in checks]

    # -- reads --------------------------------------------------------------------------------------
    def status(self) -> SiteStatus:
        fc = self.engine.flashcopy
        copying = fc.core.copy_candidates()
        return SiteStatus(
            site=self.name,
            demo=self.engine.demo,
            mode=self.mode,
            user=self.who.user,
            clock=fc.clock(),
            copies=len(copying),
            out_of_sync=sum(r.out_of_sync for r in copying),
            tracks=sum(r.length for r in copying),
            parked=dict(fc.failed),
            background=len(self.engine.hsm.background),
            holds=tuple(sorted(self.engine.context.holds())),
            pid=os.getpid(),
            started_at=self._started_at,
            clients=self._clients(),
            backlog=self._backlog(),
            version=_version(),
        )

    def pools(self, only: str | None = None) -> list[PoolSummary]:
        self.check_read(only)
        return self.engine.views.pools(only)

    def versions(self, pool: str) -> list[VersionView]:
        self.check_read(pool)
        return self.engine.views.versions(pool)

    def pairs(self, pool: str, version: int) -> list[PairView]:
        self.check_read(pool)
        return self.engine.views.pairs(pool, version)

    def volumes(self) -> list[VolumeView]:
        self.check_read()
        return self.engine.views.volumes()

    def storage(self) -> StorageView:
        self.check_read()
        volumes = self.engine.views.volumes()
        groups = self.engine.views.groups(volumes)
        grouped = {v.volser for g in groups for v in g.volumes}
        return StorageView(tuple(groups), tuple(v for v in volumes if v.volser not in grouped))

    def relationships(self, volser: str | None = None) -> list[RelationshipInfo]:
        self.check_read()
        fc = self.engine.flashcopy
        return fc.relationships() if volser is None else fc.relationships_of(volser)

    def activity(self, limit: int = 500, pool: str | None = None) -> list[ActivityView]:
        self.check_read(pool)
        return self.engine.views.activity(limit, pool)

    def band_map(self, volser: str, cells: int) -> BandMap:
        self.check_read()
        if volser not in self.engine.volumes:
            raise FlashpoolError(f"volume {volser} is not available")
        n, bands = self.engine.views.band_map(volser, cells)
        return BandMap(n, tuple(bands))

    def datasets(self, pattern: str | None = None) -> list[DataSetInfo]:
        self.check_read()
        return self.engine.datasets.cataloged(pattern)

    def dataset(self, name: str) -> DataSetInfo | None:
        self.check_read()
        return self.engine.datasets.get(name)

    def datasets_on(self, volsers: list[str]) -> list[DataSetInfo]:
        self.check_read()
        return self.engine.datasets.on_volumes(volsers)

    def precheck(self, command: str) -> list[RuleCheck]:
        self.check_read()
        return precheck(self.engine.context, command)

    def impact(self, command: str) -> Impact:
        self.check_read()
        return impact(self.engine.context, command)

    def expect(self, command: str) -> list[Expectation]:
        self.check_read()
        return verify.expect_for(self.engine.context, command)

    def verify(self, expected: list[Expectation]) -> list[Outcome]:
        self.check_read()
        return verify.check(self.engine.context, expected)

    def verify_backup(self, pool: str) -> list[Outcome]:
        self.check_read(pool)
        return verify.check_backup(self.engine.context, pool)

    def volume_digest(self, volser: str) -> str:
        self.check_read()
        self.engine.volume(volser)  # an unknown volser is a clear error before anything is read
        return verify.volume_digest(self.engine.context, volser)

    def dataset_digest(self, name: str) -> str:
        self.check_read()
        return hashlib.sha256(self.engine.context.datasets.read(name)).hexdigest()

    def profiles(self, pattern: str | None = None) -> list[ProfileListing]:
        self._allow(Check(Function.SECURITY), "LIST PROFILES")
        with self.engine.catalog.session() as s:
            return security.listing(s, pattern.upper() if pattern else None)

    def role_grants(self) -> list[RoleGrant]:
        self._allow(Check(Function.SECURITY), "LIST ROLES")
        with self.engine.catalog.session() as s:
            return [RoleGrant(g.role, Kind(g.kind), g.name, g.granted_by, g.at) for g in security.grants(s)]

    def tokens(self) -> list[TokenInfo]:
        self._allow(Check(Function.SECURITY), "LIST TOKENS")
        with self.engine.catalog.session() as s:
            return [
                TokenInfo(t.key, t.user, t.label, t.created_at, t.created_by, t.revoked_at) for t in security.tokens(s)
            ]

    def audit_verify(self) -> AuditReport:
        d = self._allow(Check(Function.AUDIT), "AUDIT VERIFY", audit=False)
        n, problems = self.engine.context.audit.verify()  # before this look is itself recorded
        self._audit("AUDIT VERIFY", d, 8 if problems else 0, ())
        return AuditReport(n, tuple(problems))

    def audit_export(self, since: float | None = None) -> list[AuditEntry]:
        self._allow(Check(Function.AUDIT), "AUDIT EXPORT")
        return list(self.engine.context.audit.entries(since))

    # -- actions ------------------------------------------------------------------------------------
    async def command(self, text: str, origin: str = "CLI") -> CommandResult:
        return await self.engine.hsm.execute(text, origin, self.who)

    async def record(self, origin: str, command: str, pool: str | None, rc: int, lines: list[str]) -> None:
        await self.engine.hsm.record(origin, command, pool, rc, lines, self.who)

    async def _action(
        self, check: Check, text: str, run: Callable[[CommandResult], object], pool: str | None = None
    ) -> CommandResult:
        """A function that is not an HSM command: authorized, run, logged and audited as one."""
        res = CommandResult(text)
        d = await asyncio.to_thread(self._decide, check)
        if not d.allowed:
            ich, _ = refusal_lines(d, self.who)
            res.add("ICH408I", ich)
            res.fail(Rc.NOT_AUTHORIZED)
        else:
            try:
                done = run(res)
                if asyncio.iscoroutine(done):
                    await done
            except FlashpoolError as exc:
                res.add("FPL590E", f"{text} FAILED - {exc}")
                res.fail(12)
            except (OSError, ValueError) as exc:
                res.add("FPL590E", f"{text} FAILED - {exc}")
                res.fail(12)
        ctx = self.engine.context.asked_by("API" if self.mode == "server" else "CLI", self.who)

        await self.engine.hsm.log_and_audit(ctx, res, pool, d, text)
        return res

    async def damage(self, volser: str, first: int, last: int) -> CommandResult:
        async def run(res: CommandResult) -> None:
            vol = self.engine.volume(volser)
            vol.geometry.check_extent(first, last - first + 1)
            garbage = [os.urandom(vol.geometry.track_size) for _ in range(last - first + 1)]
            await self.engine.flashcopy.write_run(volser, first, garbage)
            res.add("FPL600I", f"{volser} TRACKS {first}-{last} OVERWRITTEN WITH GARBAGE")

        return await self._action(Check(Function.DAMAGE), f"VOLUME DAMAGE {volser} TRACKS({first}-{last})", run)

    async def damage_dataset(self, name: str) -> CommandResult:
        async def run(res: CommandResult) -> None:
            info = await asyncio.to_thread(self.engine.datasets.get, name)
            if info is None:
                raise FlashpoolError(f"data set {name} is not cataloged")
            for e in info.extents:
                size = self.engine.volume(e.volser).geometry.track_size
                await self.engine.flashcopy.write_run(e.volser, e.first, [os.urandom(size) for _ in range(e.tracks)])
            res.add("FPL601I", f"{name}: {info.tracks} TRACK(S) OVERWRITTEN WITH GARBAGE")
            res.data = {"tracks": info.tracks}

        return await self._action(Check(Function.DAMAGE), f"DATASET DAMAGE {name}", run)

    async def workload(self, copy_pool: str, rate: float, seconds: float, seed: int | None) -> WorkloadResult:
        from engine.datasets.workload import run_workload

        out: list[WorkloadResult] = []

        async def run(res: CommandResult) -> None:
            stats = await run_workload(self.engine, copy_pool, rate=rate, seconds=seconds, seed=seed)
            out.append(
                WorkloadResult(
                    copy_pool, stats.allocated, stats.updated, stats.deleted, stats.skipped, stats.bytes_written
                )
            )
            res.add("FPL602I", f"WORKLOAD ON {copy_pool}: {stats.allocated} ALLOCATED, {stats.updated} UPDATED")

        res = await self._action(
            Check(Function.WORKLOAD), f"WORKLOAD COPYPOOL({copy_pool}) SECONDS({seconds:g})", run, copy_pool
        )
        if res.rc:
            raise NotAuthorized(res.lines()[0]) if res.rc == Rc.NOT_AUTHORIZED else FlashpoolError(res.lines()[-1])
        return out[0]

    async def change_security(self, change: SecurityChange) -> CommandResult:
        def run(res: CommandResult) -> None:
            apply_change(self.engine, self.who, change, res)

        res = await self._action(Check(Function.SECURITY, needed=Access.UPDATE), change.describe(), run_in_thread(run))
        if res.rc == 0:
            self.engine.context.guard.changed()
        return res

    async def stop_server(self) -> CommandResult:
        def run(res: CommandResult) -> None:
            if self.mode != "server":
                raise FlashpoolError("no server runs for this site")
            res.add("FPL610I", f"THE SERVER (PID {os.getpid()}) IS STOPPING AT THE REQUEST OF {self.who.user}")

        return await self._action(Check(Function.SERVER), "SERVER STOP", run)

    async def save_transcript(self, name: str, text: str) -> str:
        from engine.paths import Sharing

        safe = "".join(c for c in name if c.isalnum() or c in "-_.")[:80] or "transcript"

        def write() -> str:
            folder = self.engine.path / "transcripts"
            Sharing.of(self.engine.path).make_dir(folder)
            path = folder / f"{safe}.txt"
            fd = Sharing.of(self.engine.path).create(path, os.O_WRONLY | os.O_TRUNC)
            with open(fd, "w") as f:
                f.write(text)
            return str(path)

        self.check_read()
        return await asyncio.to_thread(write)

    def events(self) -> AsyncIterator[Event]:
        return self.engine.events.subscribe()

    async def start(self, background: bool = True) -> None:
        if background:
            await self.engine.start()
        else:
            self.engine.off_loop()

    async def settle(self) -> None:
        await self.engine.hsm.settle()

    async def wait_copies(self, progress: Callable[[SiteStatus], None] | None = None) -> dict[int, str]:
        """Without background copiers (a console or tool that did not start them), they are
        started here: a copy that fails (a full disk) is parked and reported, never raised."""
        fc = self.engine.flashcopy
        if not fc.running:
            fc.start()
        return await super().wait_copies(progress)

    async def close(self) -> None:
        await self.engine.close()


def run_in_thread(fn: Callable[[CommandResult], None]) -> Callable[[CommandResult], object]:
    """A blocking step of an action (catalog writes) as the coroutine _action awaits."""
    return lambda res: asyncio.to_thread(fn, res)


def apply_change(site: Site, who: Identity, change: SecurityChange, res: CommandResult) -> None:
    """One security administration function (blocking): its messages into `res`."""
    c, at = change.change, site.context.clock()
    name = change.profile.strip().upper()
    if c in (Change.DEFINE, Change.ALTER, Change.DELETE, Change.PERMIT, Change.REMOVE):
        if why := valid_profile_name(name):
            raise FlashpoolError(why)
    if c in (Change.GRANT, Change.REVOKE, Change.PERMIT, Change.REMOVE, Change.TOKEN) and not change.name.strip():
        raise FlashpoolError("name a user or a group")
    with site.catalog.session() as s:
        if c is Change.DEFINE:
            if not security.define(s, name, change.uacc, who.user, at):
                raise FlashpoolError(f"profile {name} is already defined (alter its UACC instead)")
            res.add("FPL500I", f"PROFILE {name} DEFINED, UACC({change.uacc.name})")
        elif c is Change.ALTER:
            if not security.alter(s, name, change.uacc):
                raise FlashpoolError(f"profile {name} is not defined")
            res.add("FPL500I", f"PROFILE {name} UACC({change.uacc.name})")
        elif c is Change.DELETE:
            if not security.delete(s, name):
                raise FlashpoolError(f"profile {name} is not defined")
            res.add("FPL500I", f"PROFILE {name} DELETED WITH ITS ACCESS LIST")
        elif c is Change.PERMIT:
            if not security.permit(s, name, change.kind, change.name, change.access):
                raise FlashpoolError(f"profile {name} is not defined (define it first)")
            res.add("FPL500I", f"{change.kind.value} {change.name} HAS {change.access.name} ON {name}")
        elif c is Change.REMOVE:
            if not security.remove(s, name, change.kind, change.name):
                raise FlashpoolError(f"{change.kind.value.lower()} {change.name} is not in the access list of {name}")
            res.add("FPL500I", f"{change.kind.value} {change.name} REMOVED FROM {name}")
        elif c in (Change.GRANT, Change.REVOKE):
            role = Role.named(change.role)
            if c is Change.GRANT:
                if not security.grant(s, role, change.kind, change.name, who.user, at):
                    raise FlashpoolError(f"{change.kind.value.lower()} {change.name} has role {role.value} already")
                res.add("FPL500I", f"ROLE {role.value} GRANTED TO {change.kind.value} {change.name}: {role.title}")
            else:
                if not security.revoke(s, role, change.kind, change.name):
                    raise FlashpoolError(f"{change.kind.value.lower()} {change.name} does not have role {role.value}")
                if role is Role.SECURITY and not _security_left(s):
                    raise FlashpoolError("that would leave the site without a security administrator")
                res.add("FPL500I", f"ROLE {role.value} REVOKED FROM {change.kind.value} {change.name}")
        elif c is Change.TOKEN:
            token_id, secret = security.create_token(s, change.name, change.label, who.user, at)
            res.add("FPL501I", f"TOKEN {token_id} CREATED FOR USER {change.name}; IT IS SHOWN ONCE, KEEP IT SAFE")
            res.data = {"token_id": token_id, "token": secret, "user": change.name}
        elif c is Change.UNTOKEN:
            if not security.revoke_token(s, change.token_id, at):
                raise FlashpoolError(f"there is no live token {change.token_id}")
            res.add("FPL500I", f"TOKEN {change.token_id} REVOKED")
        s.commit()


def _security_left(s: Session) -> bool:
    return s.exec(select(RoleGrantRow).where(RoleGrantRow.role == Role.SECURITY.value)).first() is not None


__all__ = [
    "API_VERSION",
    "AuditReport",
    "BandMap",
    "Change",
    "LocalSite",
    "NotAuthorized",
    "RoleGrant",
    "SecurityChange",
    "SiteAPI",
    "SiteStatus",
    "StorageView",
    "TokenInfo",
    "WorkloadResult",
    "refusal_lines",
]
