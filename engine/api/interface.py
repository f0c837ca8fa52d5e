"""What a client may ask of a site: `SiteAPI`, the one abstract API behind the server's routes,
its OpenAPI document and both clients (`LocalSite`, `server.client.RemoteSite`)."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from engine.config import ConfigChange, ConfigPlan, SiteConfiguration
from engine.datasets.info import DataSetInfo
from engine.events import Event
from engine.flashcopy import RelationshipInfo
from engine.hsm.alerts import AlertView
from engine.hsm.impact import Impact
from engine.hsm.rules import Check as RuleCheck
from engine.hsm.verify import Expectation, Outcome
from engine.messages import CommandResult
from engine.security import Check, Decision, Identity
from engine.security.access import ProfileListing
from engine.security.changes import SecurityChange
from engine.security.marks import AuditMark
from engine.states import Origin
from engine.storageviews import VolumeView
from engine.views import ActivityView, PairView, PoolSummary, VersionView

if TYPE_CHECKING:
    pass

from engine.api.values import (
    AuditExport,
    AuditReport,
    BandMap,
    Caller,
    RoleGrant,
    SettingView,
    SiteStatus,
    StorageView,
    TokenInfo,
    WorkloadResult,
)


class SiteAPI(abc.ABC):
    """What a client can ask of a site (see the module's docstring)."""

    mode: str  # embedded | server
    name: str  # the site directory's name
    path: Path  # where the site lies (as the client names it)
    who: Identity

    @property
    @abc.abstractmethod
    def demo(self) -> bool:
        """Whether the site is a demo site (the console says so)."""

    # -- reads (blocking) -------------------------------------------------------------------------
    @abc.abstractmethod
    def whoami(self) -> Caller:
        """Who the site takes the caller to be (open to any connected user)."""

    @abc.abstractmethod
    def status(self) -> SiteStatus: ...

    @abc.abstractmethod
    def pools(self, only: str | None = None) -> list[PoolSummary]: ...

    @abc.abstractmethod
    def versions(self, pool: str) -> list[VersionView]: ...

    @abc.abstractmethod
    def every_version(self) -> list[VersionView]:
        """Every version of every copy pool the caller may list, in one read (a monitor's scrape)."""

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
    def verify_backup(self, pool: str, version: int) -> list[Outcome]:
        """After FRBACKUP: whether the targets of the version it created (VERSION(version), the
        number its result's data names) hold what their sources held at the flash."""

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
    def settings(self) -> list[SettingView]:
        """The site's security settings (engine.catalog.settings)."""

    @abc.abstractmethod
    def audit_verify(self, against: list[AuditMark] | None = None) -> AuditReport:
        """Check the trail; `against`: checkpoints kept elsewhere (an earlier export, a log)."""

    @abc.abstractmethod
    def audit_export(self, since: float | None = None) -> AuditExport: ...

    @abc.abstractmethod
    def configuration(self) -> SiteConfiguration:
        """The storage groups, volumes, copy pools and dump classes, and the site definition."""

    @abc.abstractmethod
    def config_preview(self, change: ConfigChange) -> ConfigPlan:
        """What a configuration change would do, and why it may not (nothing is changed)."""

    @abc.abstractmethod
    def alerts(self, limit: int = 500) -> list[AlertView]:
        """The site's alerts, newest first: one list, one count and one acknowledgement for
        every console, kept across restarts."""

    # -- actions ----------------------------------------------------------------------------------
    @abc.abstractmethod
    async def command(self, text: str, origin: str = Origin.CLI) -> CommandResult: ...

    @abc.abstractmethod
    async def acknowledge_alerts(self, numbers: list[int] | None = None) -> int:
        """Acknowledge these alerts (None: every one not yet acknowledged) for every console,
        as the caller; how many changed."""

    @abc.abstractmethod
    async def record(self, origin: str, command: str, rc: int, lines: list[str]) -> None:
        """A walkthrough's transcript into the activity log, as the caller's entry: `command` is the
        HSM command it is about (`WALKTHROUGH <id> ` before it, for a walkthrough), and the copy pool
        of the entry is the one that command names."""

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
    async def change_config(self, change: ConfigChange, expect: str | None = None) -> CommandResult:
        """Make a configuration change, serialised with every command; `expect`: the digest of
        the preview it must still match (else nothing is changed)."""

    @abc.abstractmethod
    async def stop_server(self) -> CommandResult:
        """Stop the site's server (STGADMIN.FPL.SERVER): it finishes the commands it accepted,
        persists and exits; copies resume at its next start."""

    @abc.abstractmethod
    async def save_transcript(self, pool: str | None, name: str, text: str) -> str:
        """A walkthrough's transcript on copy pool `pool` into the site's transcripts/ folder, as
        a new file; returns its path."""

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
        while (parked := await self._copies_settled(progress)) is None:
            await asyncio.sleep(0.2)
        return parked

    async def _copies_settled(self, progress: Callable[[SiteStatus], None] | None) -> dict[int, str] | None:
        """One status read (shown to `progress`): the parked copies once every copy has completed
        or is parked, else None."""
        st = await asyncio.to_thread(self.status)
        if progress is not None:
            progress(st)
        return st.parked if st.copies <= len(st.parked) else None
