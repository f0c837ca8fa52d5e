"""What an HSM command works with, and nothing more: the catalog, FlashCopy, the volumes, the
data sets, the clock and who asked. A command runs as one synchronous unit in a worker thread
with a Context; it never reaches back through the Site."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from engine.catalog import Catalog
from engine.catalog import constructs as repo
from engine.datasets.manager import DataSetStore
from engine.errors import VolumeError
from engine.events import ActivityLogged
from engine.flashcopy import FlashCopyController, FlashCopyCore
from engine.hsm import rules
from engine.hsm.setsys import SetsysValues
from engine.hsm.setsys import read as read_setsys
from engine.messages import CommandResult
from engine.security import Auditable, AuditTrail, Decision, Guard, Identity
from engine.states import Origin
from engine.storage import Volume

T = TypeVar("T")


@dataclass
class Shared:
    """State every command of a site shares across threads."""

    tape_lock: threading.Lock = field(default_factory=threading.Lock)  # tape volsers one at a time
    dumping: set[str] = field(default_factory=set)  # target volumes being dumped right now


@dataclass(frozen=True, slots=True)
class Outcome:
    """A command's result as the activity log and the audit trail record it."""

    ctx: Context
    res: CommandResult
    pool: str | None
    decision: Decision | None
    action: str
    log_line: bool = False  # its one line in the site's log is written with its entries (off the loop)
    verdict: str = ""  # the decision when no profile took it (engine.security.audit: REJECTED, ERROR)


def log_and_audit_all(outcomes: Sequence[Outcome]) -> None:
    """Blocking: every outcome's activity entry and audit entry, in this order, in one
    transaction (a group commit); then each is told to the listeners."""
    if not outcomes:
        return
    entries = [o.ctx._activity(o.res, o.pool, None, None) for o in outcomes]
    audit = outcomes[0].ctx.audit
    audit.record_all(
        [
            Auditable(
                o.ctx.who,
                o.ctx.origin,
                o.action,
                e.at,
                o.decision,
                o.res.rc,
                tuple(m.id for m in o.res.messages),
                o.verdict,
            )
            for o, e in zip(outcomes, entries, strict=True)
        ],
        also=lambda c: repo.log_activities(c, entries),
    )
    for o, e in zip(outcomes, entries, strict=True):
        o.ctx.announce(e)


@dataclass
class Context:
    root: Path
    catalog: Catalog
    flashcopy: FlashCopyController
    volumes: Mapping[str, Volume]
    unavailable: MutableMapping[str, str]  # volser -> why its image cannot be used (a deleted volume leaves)
    datasets: DataSetStore
    clock: Callable[[], float]
    guard: Guard
    audit: AuditTrail
    shared: Shared = field(default_factory=Shared)
    origin: str = Origin.CLI  # how it was asked (an Origin)
    who: Identity = field(default_factory=Identity.current)  # who asked (the server's own work: its user)
    system: str = "FLASHPOOL"  # the host that runs the command, as LIST's header names it: a plex host's name
    #: work the command hands on to run after it, in the background, holding its copy pool
    background: list[Callable[[], None]] = field(default_factory=list)

    def asked_by(self, origin: str, who: Identity | None = None) -> Context:
        return dataclasses.replace(self, origin=origin, who=who or self.who, background=[])

    @property
    def core(self) -> FlashCopyCore:
        return self.flashcopy.core

    def make_durable(self, volsers: Iterable[str]) -> None:
        """What the command wrote to these volumes reaches the disk before the catalog vouches
        for it (a power cut, docs/ATOMICITY.md); nothing to do on a site opened without
        durability. Blocking."""
        if self.flashcopy.core.options.durable:
            self.flashcopy.core.flush(volsers)

    def volume(self, volser: str) -> Volume:
        """The open volume, or why it cannot be used (missing or short image, outside the site)."""
        if volser in self.unavailable:
            raise VolumeError(f"volume {volser} is unavailable: {self.unavailable[volser]}")
        return self.flashcopy.core.volume(volser)

    def batch(self, fn: Callable[[FlashCopyCore], T]) -> T:
        """Core operations as one unit under the FlashCopy lock (one point in time)."""
        return self.flashcopy.batch_blocking(fn)

    def setsys(self) -> SetsysValues:
        """SETSYS in force (blocking)."""
        with self.catalog.transaction() as c:
            return read_setsys(c)

    def holds(self) -> set[str]:
        with self.catalog.session() as s:
            return repo.holds(s)

    def held(self, function: str, qualifier: str | None = None) -> str | None:
        """The hold that stops this function now, if any (e.g. 'FRRECOV(TAPE)')."""
        return rules.hold_in_effect(self.holds(), function, (qualifier,) if qualifier else ())

    def log(self, res: CommandResult, pool: str | None, origin: str | None = None, at: float | None = None) -> None:
        """Into the activity log, then told to every listener (a client shows who changed what)."""
        entry = self._activity(res, pool, origin, at)
        with self.catalog.transaction() as c:
            repo.log_activity(c, entry)
        self.announce(entry)

    def _activity(
        self, res: CommandResult, pool: str | None, origin: str | None, at: float | None
    ) -> repo.ActivityEntry:
        return repo.ActivityEntry(
            self.clock() if at is None else at,
            origin or self.origin,
            res.command,
            pool,
            res.rc,
            [{"id": m.id, "severity": m.severity, "text": m.text} for m in res.messages],
            user=self.who.user,
        )

    def announce(self, e: repo.ActivityEntry) -> None:
        """The entry, just logged, to every event stream (ActivityLogged)."""
        self.flashcopy.publish_threadsafe(ActivityLogged(e.at, e.origin, e.command, e.copy_pool, e.return_code, e.user))
