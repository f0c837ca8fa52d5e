"""Alerts: the moments an operator must hear about without watching a screen — a version's
background copy completed, a dump completed, a fast-reverse-restore window closed, a copy parked
(e.g. a full disk) or resumed, the next FRBACKUP about to be refused because the version it rolls
off has an incomplete REQUIRED dump class.

Each is derived, never stored as a state: the watcher computes the facts from the catalog and the
live relationships (`facts`) after anything changed, and an alert is a change between two
readings (`changes`). Alerts are published on the site's event bus for every client and written
to the activity log once, by the site that raised them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.exc import DatabaseError
from sqlmodel import col, select

from engine.catalog import constructs as repo
from engine.catalog.models import AlertRow, BackupVersionRow, VersionPairRow
from engine.events import (
    ActivityLogged,
    CopyFailed,
    CopyProgress,
    Event,
    FlashCopyChanged,
    RelationshipChanged,
    RelationshipEnded,
)
from engine.hsm import backup, rules
from engine.messages import CommandResult
from engine.states import DasdState, DumpState, Origin

if TYPE_CHECKING:
    from engine.hsm.context import Context

log = logging.getLogger("flashpool.hsm")


class Severity(enum.Enum):
    """Textual's toast severities, so a client can show an alert as it is."""

    INFORMATION = "information"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rc(self) -> int:
        return {"information": 0, "warning": 4, "error": 8}[self.value]


class AlertKind(enum.Enum):
    COPY_COMPLETE = ("FPL400I", Severity.INFORMATION)
    DUMP_COMPLETE = ("FPL401I", Severity.INFORMATION)
    FRR_WINDOW_CLOSED = ("FPL402W", Severity.WARNING)
    COPY_PARKED = ("FPL403E", Severity.ERROR)
    COPY_RESUMED = ("FPL404I", Severity.INFORMATION)
    REQUIRED_DUMP_AT_RISK = ("FPL405W", Severity.WARNING)

    @property
    def message_id(self) -> str:
        return self.value[0]

    @property
    def severity(self) -> Severity:
        return self.value[1]

    @property
    def title(self) -> str:
        return self.name.replace("_", " ").lower()


@dataclass(frozen=True, slots=True)
class AlertRaised(Event):
    kind: AlertKind
    copy_pool: str | None
    text: str
    number: int = 0  # the site's number for it (its row in the catalog's alert list)

    @property
    def severity(self) -> Severity:
        return self.kind.severity


@dataclass(frozen=True, slots=True)
class AlertAcknowledged(Event):
    """One alert acknowledged, for every console at once."""

    number: int
    copy_pool: str | None
    user: str


@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert as the site keeps it: every console shows the same list and the same count."""

    number: int
    at: float
    kind: AlertKind
    copy_pool: str | None
    text: str
    acknowledged_by: str | None
    acknowledged_at: float | None

    @property
    def severity(self) -> Severity:
        return self.kind.severity

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_by is not None


_KINDS = {k.message_id: k for k in AlertKind}


def listed(ctx: Context, limit: int = 500) -> list[AlertView]:
    """The newest `limit` alerts, newest first (blocking)."""
    with ctx.catalog.session() as s:
        rows = s.exec(select(AlertRow).order_by(col(AlertRow.id).desc()).limit(limit)).all()
        return [
            AlertView(r.key, r.at, _KINDS[r.message_id], r.copy_pool, r.text, r.acknowledged_by, r.acknowledged_at)
            for r in rows
            if r.message_id in _KINDS
        ]


def acknowledge(
    ctx: Context, numbers: list[int] | None, user: str, may_see: Callable[[str | None, str], bool]
) -> list[AlertAcknowledged]:
    """Acknowledge these alerts (None: every one not yet acknowledged) that `may_see` lets the
    user see, once for all consoles, with who and when; returns what changed (blocking)."""
    now = ctx.clock()
    out = []
    with ctx.catalog.session() as s:
        query = select(AlertRow).where(col(AlertRow.acknowledged_by).is_(None))
        if numbers is not None:
            query = query.where(col(AlertRow.id).in_(numbers))
        for row in s.exec(query).all():
            if may_see(row.copy_pool, row.text):
                row.acknowledged_by, row.acknowledged_at = user, now
                s.add(row)
                out.append(AlertAcknowledged(now, row.key, row.copy_pool, user))
        s.commit()
    return out


@dataclass(frozen=True, slots=True)
class VersionFacts:
    number: int
    dasd_state: str
    dump_state: str
    copying: bool  # a relationship of the version still has tracks to copy
    frr_eligible: bool  # FRRECOV would use fast reverse restore now (rules.frr_methods)
    relationships: frozenset[int]  # the ids its pairs were made with (ended ones too)
    fcfrr: bool  # made to be recovered by fast reverse restore


@dataclass(frozen=True, slots=True)
class Facts:
    versions: dict[tuple[str, int], VersionFacts] = field(default_factory=dict)  # (pool, version key)
    at_risk: dict[str, tuple[int, str]] = field(default_factory=dict)  # pool -> (version, REQUIRED class)


def facts(ctx: Context) -> Facts:
    """One reading of everything alerts are derived from (blocking: a worker thread calls it).
    It runs after every change, in a thread that shares the interpreter with the console's loop:
    it reads plain columns, not ORM rows, and full pairs only where fast reverse restore is asked
    about (a 2,000-volume site has 85,000 pair rows)."""
    core = ctx.flashcopy.core
    out = Facts()
    with ctx.catalog.session() as s:
        rels: dict[int, set[int]] = {}
        for vid, rid in s.exec(select(VersionPairRow.version_id, VersionPairRow.relationship_id)):
            if rid is not None:
                rels.setdefault(vid, set()).add(rid)
        by_pool: dict[str, list[BackupVersionRow]] = {}
        for v in s.exec(select(BackupVersionRow).where(col(BackupVersionRow.dasd_state) != DasdState.PREPARE)):
            by_pool.setdefault(v.copy_pool, []).append(v)
        for pool in repo.copy_pools(s):
            vers = by_pool.get(pool.name, [])
            for v in vers:
                ids = frozenset(rels.get(v.key, ()))
                copying = any((r := core.find(i)) is not None and r.uncopied.any() for i in ids)
                eligible = (
                    v.fcfrr
                    and v.dasd_state in rules.FRR_STATES
                    and rules.frr_methods(core, v, repo.pairs(s, v.key)) is not None
                )
                out.versions[(pool.name, v.key)] = VersionFacts(
                    v.version, v.dasd_state, v.dump_state, copying, eligible, ids, v.fcfrr
                )
            for victim in backup.rolled_off_next(vers, pool.versions):  # PREPARE entries never roll off
                blocking = rules.required_dump_incomplete(s, pool, victim)
                if blocking:
                    out.at_risk[pool.name] = (victim.version, blocking)
                    break
    return out


def baseline(first: Facts, first_unseen: int) -> Facts:
    """The first reading, against which the next is compared. A command may run while it is
    taken, so a version made with relationships the watcher saw established (ids from
    `first_unseen` on) counts as it was made — copying, and FRR-eligible if made for fast
    reverse restore — whatever the reading caught of it: its completion is news."""
    return Facts(
        {
            key: dataclasses.replace(v, copying=True, frr_eligible=v.fcfrr)
            if any(r >= first_unseen for r in v.relationships)
            else v
            for key, v in first.versions.items()
        },
        first.at_risk,
    )


#: commands that change what alerts are about (a background dump logs its FRBACKUP)
CHANGING_VERBS = ("FRBACKUP", "FRRECOV", "FRDELETE", "HOLD", "RELEASE")

_DUMPED = tuple(s for s in DumpState if s.dumped)


def changes(
    before: Facts, after: Facts, now: float, completed: set[int] | frozenset[int] = frozenset()
) -> list[AlertRaised]:
    """What became true between two readings. A version that came or went is no alert (the
    command that did it said so), unless one of its copies completed in between (`completed`:
    relationships whose copy the controller saw complete; 30 tracks copy before a reading)."""
    out: list[AlertRaised] = []
    for key, new in after.versions.items():
        old = before.versions.get(key)
        if old is None:
            if not new.relationships & completed:
                continue
            old = dataclasses.replace(new, copying=True, frr_eligible=new.fcfrr)  # as it was made
        pool, name = key[0], f"VERSION {new.number:03d} OF COPY POOL {key[0]}"
        if old.copying and not new.copying and new.dasd_state == DasdState.RECOVERABLE:
            out.append(
                AlertRaised(
                    now,
                    AlertKind.COPY_COMPLETE,
                    pool,
                    f"BACKGROUND COPY OF {name} IS COMPLETE: ITS TARGETS HOLD THE WHOLE POINT IN TIME",
                )
            )
        if new.dump_state in _DUMPED and old.dump_state != new.dump_state and old.dump_state not in _DUMPED:
            out.append(AlertRaised(now, AlertKind.DUMP_COMPLETE, pool, f"DUMP OF {name} IS {new.dump_state}"))
        if old.frr_eligible and not new.frr_eligible and new.dasd_state == DasdState.RECOVERABLE:
            out.append(
                AlertRaised(
                    now,
                    AlertKind.FRR_WINDOW_CLOSED,
                    pool,
                    f"{name} CAN NO LONGER BE RECOVERED BY FAST REVERSE RESTORE (ITS RELATIONSHIPS ENDED); "
                    "FRRECOV NOW COPIES EVERY TRACK BACK",
                )
            )
    for pool, (number, dump_class) in after.at_risk.items():
        if before.at_risk.get(pool) != (number, dump_class):
            out.append(
                AlertRaised(
                    now,
                    AlertKind.REQUIRED_DUMP_AT_RISK,
                    pool,
                    f"THE NEXT FRBACKUP OF COPY POOL {pool} ROLLS OFF VERSION {number:03d}, WHOSE REQUIRED DUMP "
                    f"CLASS {dump_class} IS INCOMPLETE: IT WILL BE REFUSED (FRBACKUP COPYPOOL({pool}) DUMPONLY "
                    f"VERSION({number}) FIRST, OR FORCE)",
                )
            )
    return out


def changed_the_site(event: ActivityLogged) -> bool:
    """A command that changed copy pools, versions or holds (an alert's own entry, LIST and
    QUERY change nothing): the one answer for the alerts and for every client's notices."""
    return event.origin != Origin.ALERT and event.command.lstrip().upper().startswith(CHANGING_VERBS)


#: events after which the facts may have changed (progress only when a copy reaches its end)
def _relevant(event: Event) -> bool:
    if isinstance(event, CopyProgress):
        return event.out_of_sync == 0
    if isinstance(event, ActivityLogged):
        return changed_the_site(event)
    return isinstance(event, (FlashCopyChanged, RelationshipChanged, RelationshipEnded, CopyFailed))


class AlertWatch:
    """Runs while the site runs: reads the facts after every relevant change (coalesced, at most
    every `interval` seconds), publishes what changed and logs it once."""

    def __init__(self, ctx: Context, interval: float = 0.5) -> None:
        self.ctx = ctx
        self.interval = interval
        self.raised: list[AlertRaised] = []  # this run's alerts, oldest first
        self._parked: set[int] = set()
        self._completed: set[int] = set()  # relationships whose copy completed since the last reading
        self._facts: Facts | None = None
        self._dirty = asyncio.Event()
        self._pending: list[AlertRaised] = []
        self._writer: asyncio.Task[None] | None = None

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen(self.ctx.flashcopy.events.subscribe()))
        first_unseen = self.ctx.flashcopy.core.next_id
        await asyncio.sleep(0)  # subscribed before the first reading: no change falls between
        first = await asyncio.to_thread(self._read)
        self._facts = None if first is None else baseline(first, first_unseen)
        try:
            while True:
                await self._dirty.wait()
                self._dirty.clear()
                after = await asyncio.to_thread(self._read)
                if after is not None and self._facts is not None:
                    self._raise(changes(self._facts, after, self.ctx.clock(), self._completed))
                    self._completed.clear()
                self._facts = after if after is not None else self._facts
                await asyncio.sleep(self.interval)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self, stream: AsyncIterator[Event]) -> None:
        async for event in stream:
            self._parking(event)
            if _relevant(event):
                self._dirty.set()

    def _parking(self, event: Event) -> None:
        if isinstance(event, CopyProgress) and event.out_of_sync == 0:
            self._completed.add(event.rel_id)
        """A copy that failed is one alert until it moves again, not one per retry."""
        if isinstance(event, CopyFailed) and event.rel_id not in self._parked:
            self._parked.add(event.rel_id)
            self._raise(
                [
                    AlertRaised(
                        event.at,
                        AlertKind.COPY_PARKED,
                        None,
                        f"BACKGROUND COPY {event.source} -> {event.target} STOPPED: {event.message}; "
                        "IT IS RETRIED EVERY FEW SECONDS AND NOTHING COPIED IS LOST",
                    )
                ]
            )
        elif isinstance(event, CopyProgress) and event.rel_id in self._parked:  # only a step that copied reports
            self._parked.discard(event.rel_id)
            self._raise(
                [
                    AlertRaised(
                        event.at,
                        AlertKind.COPY_RESUMED,
                        None,
                        f"BACKGROUND COPY {event.source} -> {event.target} RESUMED "
                        f"({event.percent_complete:.0f}% COPIED)",
                    )
                ]
            )
        elif isinstance(event, RelationshipEnded):
            self._parked.discard(event.rel_id)

    def _read(self) -> Facts | None:
        try:
            return facts(self.ctx)
        except (DatabaseError, OSError) as exc:  # a full disk or a busy catalog: read again later
            log.warning("alerts: the catalog could not be read: %s", exc)
            return None

    def _raise(self, alerts: list[AlertRaised]) -> None:
        """In the order raised, each is numbered in the site's alert list, logged, then told to
        every client (one writer: numbers follow the order)."""
        self._pending.extend(alerts)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        while self._pending:
            alert = self._pending.pop(0)
            number = await asyncio.to_thread(self._record, alert)
            alert = dataclasses.replace(alert, number=number)
            self.raised.append(alert)
            log.log(logging.INFO if alert.severity is Severity.INFORMATION else logging.WARNING, alert.text)
            self.ctx.flashcopy.events.publish(alert)

    async def settle(self) -> None:
        """Wait until every alert raised so far is in the alert list and the activity log."""
        while self._writer is not None and not self._writer.done():
            await self._writer

    def _record(self, alert: AlertRaised) -> int:
        """Its number in the site's alert list (0: the catalog could not be written; it is still
        told, never lost silently)."""
        res = CommandResult(f"ALERT {alert.kind.title.upper()}")
        res.add(alert.kind.message_id, alert.text)
        res.fail(alert.severity.rc)
        try:
            with self.ctx.catalog.session() as s:
                row = AlertRow(
                    at=alert.at, message_id=alert.kind.message_id, copy_pool=alert.copy_pool, text=alert.text
                )
                s.add(row)
                s.commit()
                number = row.key
            self.ctx.log(res, alert.copy_pool, origin=Origin.ALERT)
        except (DatabaseError, OSError) as exc:
            log.warning("alerts: the alert list or the activity log could not be written: %s", exc)
            return 0
        return number
