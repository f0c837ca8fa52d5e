"""`LocalSite`: the API over a `Site` in this process, for one identity."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import os
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from sqlmodel import SQLModel

from engine import config, plex, transcripts
from engine.catalog.models import DataSetRow, VolumeRow
from engine.catalog.settings import AuditReads
from engine.command import CommandSyntaxError, Request, parse_command
from engine.config import ConfigChange, ConfigPlan, SiteConfiguration
from engine.datasets.info import DataSetInfo
from engine.errors import FlashpoolError
from engine.events import Event
from engine.flashcopy import RelationshipInfo
from engine.hsm import alerts, verify
from engine.hsm.alerts import AlertView
from engine.hsm.impact import Impact, impact
from engine.hsm.precheck import precheck
from engine.hsm.rules import Check as RuleCheck
from engine.hsm.service import check_of
from engine.hsm.verify import Expectation, Outcome
from engine.messages import CommandResult, Rc, resource_problem
from engine.printable import printable
from engine.security import Check, Decision, Identity, Kind
from engine.security import store as security
from engine.security.access import ProfileListing
from engine.security.admin import apply_change
from engine.security.audit import OPEN, REJECTED
from engine.security.changes import Change, SecurityChange
from engine.security.marks import AuditMark
from engine.security.needs import Needs, rule_of
from engine.states import Origin
from engine.storageviews import VolumeView
from engine.views import ActivityView, PairView, PoolSummary, VersionView
from engine.visibility import EVERYTHING, Visibility, known, visibility

if TYPE_CHECKING:
    from engine.catalog import Catalog
    from engine.site import Site

from engine.api.interface import SiteAPI
from engine.api.values import (
    API_VERSION,
    AuditExport,
    AuditReport,
    BandMap,
    Caller,
    NotAuthorized,
    RoleGrant,
    SettingView,
    SiteStatus,
    StorageView,
    TokenInfo,
    WorkloadResult,
    refusal_lines,
)

_WALKTHROUGH = re.compile(r"WALKTHROUGH +\S+ +")


def _entry_request(text: str) -> Request:
    """The HSM command an activity entry a client writes is about: its text, after a walkthrough's
    `WALKTHROUGH <id> ` (CommandSyntaxError: it is none)."""
    walkthrough = _WALKTHROUGH.match(text)
    return parse_command(text[walkthrough.end() :] if walkthrough else text)


@functools.cache
def queued_pool(text: str) -> str | None:
    """The copy pool a queued request names (none: FRRECOV of a volume or of data sets)."""
    req = parse_command(text)  # it was parsed when it was queued
    pool = getattr(req, "copypool", None) or getattr(req, "from_copypool", None)
    return pool if isinstance(pool, str) else None


def _version() -> str:
    """The installed version, read once: importlib.metadata reads the distribution's files at
    every call (1.1 ms here), and every console asks for the site's status each second."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flashpool")
    except PackageNotFoundError:
        return "(not installed)"


class LocalSite(SiteAPI):
    """The API over a Site in this process, for one identity. Every function is let through by
    its rule in engine.security.needs and no other way (`_enter`, `_judge`)."""

    def __init__(
        self,
        site: Site,
        who: Identity | None = None,
        *,
        mode: str = "embedded",
        clients: Callable[[], int] = lambda: 0,
        attached: Callable[[], tuple[int, int]] = lambda: (0, 0),
        backlog: Callable[[], int] = lambda: 0,
        started_at: float | None = None,
        origin: str | None = None,
    ) -> None:
        self.engine = site
        self.who = who or Identity.current()
        self.mode = mode
        self.name = site.path.name
        self.path = site.path
        self.origin = origin or ("API" if mode == "server" else "CLI")  # how the audit trail names the route
        self._clients = clients
        self._attached = attached  # (consoles, CLI clients waiting on a command) of the clients
        self._backlog = backlog
        self._started_at = started_at if started_at is not None else time.time()

    @property
    def demo(self) -> bool:
        return self.engine.demo

    def as_user(self, who: Identity, origin: str | None = None) -> LocalSite:
        """The same site for another identity (the server: one per request)."""
        return LocalSite(
            self.engine,
            who,
            mode=self.mode,
            clients=self._clients,
            attached=self._attached,
            backlog=self._backlog,
            started_at=self._started_at,
            origin=origin,
        )

    # -- authorization ------------------------------------------------------------------------------
    def _decide(self, check: Check) -> Decision:
        return self.engine.context.guard.decide(self.who, check)

    def _visibility(self) -> Visibility:
        ctx = self.engine.context
        return visibility(ctx.catalog, ctx.guard, self.who)

    def _judge(self, call: str, args: dict[str, object]) -> tuple[Decision, str, Visibility]:
        """What `call`'s rule decides for these arguments (blocking): the decision (for a thing
        named that holds data of a copy pool the caller may not list, that pool's LIST
        decision), the refusal's text ("" when allowed) and what the caller may see."""
        rule = rule_of(call)
        if not isinstance(rule, Needs):
            raise TypeError(f"{call} is not decided by profiles here ({rule.describe()})")
        pool = self._pool(rule, args)
        decisions = [self._decide(Check(f, pool, rule.access)) for f in rule.functions]
        decision = next((d for d in decisions if d.allowed), decisions[0])
        if not decision.allowed:
            return decision, "ICH408I " + refusal_lines(decision, self.who)[0], EVERYTHING
        named = _named(rule, args, self.engine.catalog)
        if not (rule.filtered or named):
            return decision, "", EVERYTHING
        seen = self._visibility()
        for what, text, exists in named:
            if not seen.answers(seen.text(text), exists):
                mentioned = set(re.findall(r"[A-Z0-9@#$.\-]+", text.upper()))
                hidden = next((p for p in sorted(seen.pools) if p in mentioned), min(seen.pools))
                return (
                    seen.why(hidden) or decision,
                    f"ICH408I USER({self.who.user}) {what} INSUFFICIENT ACCESS AUTHORITY: IT HOLDS OR NAMES DATA "
                    "OF A COPY POOL YOU MAY NOT LIST",
                    seen,
                )
        return decision, "", seen

    def _pool(self, rule: Needs, args: dict[str, object]) -> str | None:
        """The copy pool a restricted profile decides for (blocking): the one the rule's argument
        names; when that argument is the command, the one the command is about (CommandSyntaxError:
        the text is no HSM command)."""
        if rule.pool is not None and rule.pool == rule.command:
            return self._entry_pool(str(args.get(rule.command) or ""))
        return _text_arg(args.get(rule.pool)) if rule.pool else None

    def _entry_pool(self, text: str) -> str | None:
        """The copy pool an activity entry's command is about (blocking; CommandSyntaxError)."""
        return check_of(self.engine.context, _entry_request(text)).copy_pool

    def _enter(self, call: str, **args: object) -> Visibility:
        """A read let through by its rule: NotAuthorized (audited) if refused; what the caller
        may see if allowed (audited too when the rule or the site's audit-reads say so)."""
        decision, refused, seen = self._judge(call, args)
        action = _action_text(call, args)
        if refused:
            self._audit(action, decision, Rc.NOT_AUTHORIZED, ("ICH408I",))
            raise NotAuthorized(refused)
        rule = rule_of(call)
        if isinstance(rule, Needs) and (
            rule.audited or self.engine.context.guard.settings().audit_reads is AuditReads.ALL
        ):
            self._audit(action, decision, 0, ())
        return seen

    def _audit(self, action: str, decision: Decision | None, rc: int, ids: tuple[str, ...], verdict: str = "") -> None:
        ctx = self.engine.context
        ctx.audit.record(self.who, self.origin, action, ctx.clock(), decision, rc, ids, verdict=verdict)

    def check_read(self) -> Visibility:
        """May this identity follow the site's events? NotAuthorized (audited) if not; what it
        may be told if so."""
        return self._enter("events")

    def check_metrics(self) -> Visibility:
        """May this identity scrape the site's metrics (GET /metrics)? NotAuthorized (audited) if
        not; the reads of the scrape then show only what it may list."""
        return self._enter("metrics")

    def still_sees(self) -> Visibility:
        """What a stream already let through may be told now (asked again every second, not
        audited again); NotAuthorized, audited, once the identity may not follow it any more."""
        decision, refused, seen = self._judge("events", {})
        if refused:
            self._audit("EVENTS", decision, Rc.NOT_AUTHORIZED, ("ICH408I",))
            raise NotAuthorized(refused)
        return seen

    def reject(self, action: str, why: str) -> None:
        """A request refused before any profile was asked (it does not fit the API): audited."""
        self._audit(f"{action}: {printable(why)[:300]}", None, 12, ("FPL590E",), verdict=REJECTED)

    def _open(self, call: str) -> None:
        """An open function: nothing to decide; audited only when the site audits every read."""
        if self.engine.context.guard.settings().audit_reads is AuditReads.ALL:
            self._audit(call.upper(), None, 0, (), verdict=OPEN)

    def may(self, checks: list[Check]) -> list[Decision]:
        self._open("may")
        return [self._decide(c) for c in checks]

    def whoami(self) -> Caller:
        self._open("whoami")
        return Caller(self.who.user, self.who.groups, self.who.via, self.name, os.getpid(), self.mode)

    # -- reads --------------------------------------------------------------------------------------
    def status(self) -> SiteStatus:
        seen = self._enter("status")
        fc = self.engine.flashcopy
        copying = [r for r in fc.core.copy_candidates() if seen.pair(r.source, r.target)]
        parked = dict(fc.failed)
        if not seen.everything:
            shown = {r.id for r in fc.core.relationships() if seen.pair(r.source, r.target)}
            parked = {rid: why for rid, why in parked.items() if rid in shown}
        consoles, waiting = self._attached()
        return SiteStatus(
            site=self.name,
            demo=self.engine.demo,
            mode=self.mode,
            user=self.who.user,
            clock=fc.clock(),
            copies=len(copying),
            out_of_sync=sum(r.out_of_sync for r in copying),
            tracks=sum(r.length for r in copying),
            parked=parked,
            background=sum(1 for pool in self.engine.hsm.background_pools() if seen.pool(pool)),
            holds=tuple(sorted(self.engine.context.holds())),
            pid=os.getpid(),
            started_at=self._started_at,
            clients=self._clients(),
            backlog=self._backlog(),
            version=_version(),
            durable=self.engine.catalog.durable,
            hosts=tuple(plex.hosts(self.engine.catalog)),
            consoles=consoles,
            waiting=waiting,
            queued=tuple(
                q.text for q in self.engine.hsm.queued if seen.pool(queued_pool(q.text)) and seen.text(q.text)
            ),
        )

    def pools(self, only: str | None = None) -> list[PoolSummary]:
        seen = self._enter("pools", only=only)
        return [p for p in self.engine.views.pools(only) if seen.pool(p.name)]

    def versions(self, pool: str) -> list[VersionView]:
        self._enter("versions", pool=pool)
        return self.engine.views.versions(pool)

    def every_version(self) -> list[VersionView]:
        seen = self._enter("every_version")
        return [v for v in self.engine.views.every_version() if seen.pool(v.copy_pool)]

    def pairs(self, pool: str, version: int) -> list[PairView]:
        self._enter("pairs", pool=pool)
        return self.engine.views.pairs(pool, version)

    def volumes(self) -> list[VolumeView]:
        seen = self._enter("volumes")
        return [v for v in self.engine.views.volumes() if seen.volume(v.volser)]

    def storage(self) -> StorageView:
        seen = self._enter("storage")
        volumes = [v for v in self.engine.views.volumes() if seen.volume(v.volser)]
        groups = [
            dataclasses.replace(g, copy_pools=tuple(p for p in g.copy_pools if seen.pool(p)))
            for g in self.engine.views.groups(volumes)
            if seen.group(g.name)
        ]
        grouped = {v.volser for g in groups for v in g.volumes}
        return StorageView(tuple(groups), tuple(v for v in volumes if v.volser not in grouped))

    def relationships(self, volser: str | None = None) -> list[RelationshipInfo]:
        seen = self._enter("relationships", volser=volser)
        fc = self.engine.flashcopy
        found = fc.relationships() if volser is None else fc.relationships_of(volser)
        return [r for r in found if seen.pair(r.source, r.target)]

    def activity(self, limit: int = 500, pool: str | None = None) -> list[ActivityView]:
        seen = self._enter("activity", pool=pool)
        if seen.everything:
            return self.engine.views.activity(limit, pool)
        return self.engine.views.activity(limit, pool, keep=lambda a: _activity_visible(seen, a))

    def alerts(self, limit: int = 500) -> list[AlertView]:
        seen = self._enter("alerts")
        return [a for a in alerts.listed(self.engine.context, limit) if _alert_visible(seen, a.copy_pool, a.text)]

    def band_map(self, volser: str, cells: int) -> BandMap:
        self._enter("band_map", volser=volser)
        if volser not in self.engine.volumes:
            raise FlashpoolError(f"volume {volser} is not available")
        n, bands = self.engine.views.band_map(volser, cells)
        return BandMap(n, tuple(bands))

    def datasets(self, pattern: str | None = None) -> list[DataSetInfo]:
        seen = self._enter("datasets")
        return [d for d in self.engine.datasets.cataloged(pattern) if seen.dataset(d.name)]

    def dataset(self, name: str) -> DataSetInfo | None:
        self._enter("dataset", name=name)
        return self.engine.datasets.get(name)

    def datasets_on(self, volsers: list[str]) -> list[DataSetInfo]:
        self._enter("datasets_on", volsers=volsers)
        return self.engine.datasets.on_volumes(volsers)

    def precheck(self, command: str) -> list[RuleCheck]:
        self._enter("precheck", command=command)
        return precheck(self.engine.context, command)

    def impact(self, command: str) -> Impact:
        self._enter("impact", command=command)
        return impact(self.engine.context, command)

    def expect(self, command: str) -> list[Expectation]:
        self._enter("expect", command=command)
        return verify.expect_for(self.engine.context, command)

    def verify(self, expected: list[Expectation]) -> list[Outcome]:
        self._enter("verify", expected=expected)
        return verify.check(self.engine.context, expected)

    def verify_backup(self, pool: str, version: int) -> list[Outcome]:
        self._enter("verify_backup", pool=pool, version=version)
        return verify.check_backup(self.engine.context, pool, version)

    def volume_digest(self, volser: str) -> str:
        self._enter("volume_digest", volser=volser)
        self.engine.context.volume(volser)  # an unknown volser is a clear error before anything is read
        return verify.volume_digest(self.engine.context, volser)

    def dataset_digest(self, name: str) -> str:
        self._enter("dataset_digest", name=name)
        return hashlib.sha256(self.engine.context.datasets.read(name)).hexdigest()

    def profiles(self, pattern: str | None = None) -> list[ProfileListing]:
        self._enter("profiles", pattern=pattern)
        with self.engine.catalog.session() as s:
            return security.listing(s, pattern.upper() if pattern else None)

    def role_grants(self) -> list[RoleGrant]:
        self._enter("role_grants")
        with self.engine.catalog.session() as s:
            return [RoleGrant(g.role, Kind(g.kind), g.name, g.granted_by, g.at) for g in security.grants(s)]

    def tokens(self) -> list[TokenInfo]:
        self._enter("tokens")
        with self.engine.catalog.session() as s:
            return [
                TokenInfo(t.key, t.user, t.label, t.created_at, t.created_by, t.revoked_at, t.expires_at)
                for t in security.tokens(s)
            ]

    def settings(self) -> list[SettingView]:
        self._enter("settings")
        return [SettingView(n, v, m) for n, v, m in self.engine.settings().describe()]

    def audit_verify(self, against: list[AuditMark] | None = None) -> AuditReport:
        decision, refused, _ = self._judge("audit_verify", {})
        if refused:
            self._audit("AUDIT VERIFY", decision, Rc.NOT_AUTHORIZED, ("ICH408I",))
            raise NotAuthorized(refused)
        trail = self.engine.context.audit
        n, problems = trail.verify(against or ())  # before this look is itself recorded
        head = trail.mark()
        self._audit("AUDIT VERIFY", decision, 8 if problems else 0, ())
        return AuditReport(n, tuple(problems), head)

    def audit_export(self, since: float | None = None) -> AuditExport:
        self._enter("audit_export", since=since)
        trail = self.engine.context.audit
        head = trail.mark()  # read first: every entry up to it is in the export
        return AuditExport(tuple(e for e in trail.entries(since) if e.seq <= head.seq), head)

    def configuration(self) -> SiteConfiguration:
        seen = self._enter("configuration")
        return config.configuration(self.engine.context, str(self.path), seen)

    def config_preview(self, change: ConfigChange) -> ConfigPlan:
        seen = self._enter("config_preview", change=change)
        plan = config.prepare(self.engine.context, change)[0]
        if _plan_names_hidden(seen, plan):
            self._audit(f"CONFIG_PREVIEW {printable(change.describe())}", None, Rc.NOT_AUTHORIZED, ("ICH408I",))
            raise NotAuthorized(self._hidden_change())
        return plan

    def _hidden_change(self) -> str:
        """The refusal of a change whose plan reaches what the caller may not LIST."""
        return (
            f"ICH408I USER({self.who.user}) THE CHANGE INSUFFICIENT ACCESS AUTHORITY: IT REACHES DATA OF A COPY POOL "
            "YOU MAY NOT LIST"
        )

    # -- actions ------------------------------------------------------------------------------------
    async def command(self, text: str, origin: str = Origin.CLI) -> CommandResult:
        return await self.engine.hsm.execute(text, origin, self.who)

    async def acknowledge_alerts(self, numbers: list[int] | None = None) -> int:
        """Only alerts the caller may see; each told to every client, the whole audited once."""
        decision, refused, seen = await asyncio.to_thread(self._judge, "acknowledge_alerts", {})
        action = "ACKNOWLEDGE ALERTS " + ("ALL" if numbers is None else " ".join(map(str, numbers)))
        if refused:
            await asyncio.to_thread(self._audit, action, decision, Rc.NOT_AUTHORIZED, ("ICH408I",))
            raise NotAuthorized(refused)
        done = await asyncio.to_thread(
            alerts.acknowledge,
            self.engine.context,
            numbers,
            self.who.user,
            functools.partial(_alert_visible, seen),
        )
        for event in done:
            self.engine.flashcopy.events.publish(event)
        await asyncio.to_thread(self._audit, f"{action}: {len(done)} ACKNOWLEDGED", decision, 0, ())
        return len(done)

    async def record(self, origin: str, command: str, rc: int, lines: list[str]) -> None:
        """About the copy pool its command names (never one stated beside it): authorized and
        audited as that pool's operator, refused when its text is no HSM command or it names what
        the caller may not LIST; written as the caller's entry."""
        args: dict[str, object] = {"command": command, "lines": lines}
        action = f"RECORD {origin} {printable(command)}"

        def judged() -> tuple[Decision, str, str | None]:
            decision, refused, _ = self._judge("record", args)
            return decision, refused, self._entry_pool(command)

        try:
            decision, refused, pool = await asyncio.to_thread(judged)
        except CommandSyntaxError as exc:
            why = f"the entry's text is no HSM command: {exc}"
            await asyncio.to_thread(self.reject, action, why)
            raise FlashpoolError(why) from None
        if refused:
            await asyncio.to_thread(self._audit, action, decision, Rc.NOT_AUTHORIZED, ("ICH408I",))
            raise NotAuthorized(refused)
        await self.engine.hsm.record(origin, command, pool, rc, lines, self.who)
        await asyncio.to_thread(self._audit, action, decision, 0, ())

    async def _action(
        self,
        call: str,
        args: dict[str, object],
        text: str,
        run: Callable[[CommandResult], object],
        activity: bool = True,
    ) -> CommandResult:
        """A function that is not an HSM command: let through by its rule, run, logged and
        audited as one (`activity=False`: audited only, as RACF's changes go to SMF, not to
        DFSMShsm's log)."""
        res = CommandResult(text)
        d, refused, _ = await asyncio.to_thread(self._judge, call, args)
        if refused:
            res.add("ICH408I", refused.removeprefix("ICH408I "))
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
                res.add(
                    "FPL590E",
                    f"{text} FAILED - {resource_problem(exc, self.path) if isinstance(exc, OSError) else exc}",
                )
                res.fail(12)
        if not activity:
            await asyncio.to_thread(self._audit, text, d, res.rc, tuple(m.id for m in res.messages))
            return res
        ctx = self.engine.context.asked_by(self.origin, self.who)
        pool = _text_arg(args.get("copy_pool"))
        await self.engine.hsm.log_and_audit(ctx, res, pool, d, text)
        return res

    async def damage(self, volser: str, first: int, last: int) -> CommandResult:
        async def run(res: CommandResult) -> None:
            vol = self.engine.context.volume(volser)
            vol.geometry.check_extent(first, last - first + 1)
            garbage = [os.urandom(vol.geometry.track_size) for _ in range(last - first + 1)]
            await self.engine.flashcopy.write_run(volser, first, garbage)
            res.add("FPL600I", f"{volser} TRACKS {first}-{last} OVERWRITTEN WITH GARBAGE")

        return await self._action("damage", {"volser": volser}, f"VOLUME DAMAGE {volser} TRACKS({first}-{last})", run)

    async def damage_dataset(self, name: str) -> CommandResult:
        async def run(res: CommandResult) -> None:
            info = await asyncio.to_thread(self.engine.datasets.get, name)
            if info is None:
                raise FlashpoolError(f"data set {name} is not cataloged")
            for e in info.extents:
                size = self.engine.context.volume(e.volser).geometry.track_size
                await self.engine.flashcopy.write_run(e.volser, e.first, [os.urandom(size) for _ in range(e.tracks)])
            res.add("FPL601I", f"{name}: {info.tracks} TRACK(S) OVERWRITTEN WITH GARBAGE")
            res.data = {"tracks": info.tracks}

        return await self._action("damage_dataset", {"name": name}, f"DATASET DAMAGE {name}", run)

    async def workload(self, copy_pool: str, rate: float, seconds: float, seed: int | None) -> WorkloadResult:
        from engine.workload import run_workload

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
            "workload", {"copy_pool": copy_pool}, f"WORKLOAD COPYPOOL({copy_pool}) SECONDS({seconds:g})", run
        )
        if res.rc:
            raise NotAuthorized(res.lines()[0]) if res.rc == Rc.NOT_AUTHORIZED else FlashpoolError(res.lines()[-1])
        return out[0]

    async def change_security(self, change: SecurityChange) -> CommandResult:
        def run(res: CommandResult) -> None:
            with self.engine.catalog.session() as s:
                apply_change(s, self.who, change, res, self.engine.context.clock())
            self.engine.context.guard.changed()
            if change.change is Change.SET and change.name.strip().lower() == "share-group":
                for r in self.engine.secure_files():
                    res.add("FPL503I", f"{r.describe()}")

        # the security setup's changes are the audit trail's alone: the activity log, which every
        # monitor reads, does not show who was given what
        return await self._action(
            "change_security", {}, printable(change.describe()), run_in_thread(run), activity=False
        )

    async def change_config(self, change: ConfigChange, expect: str | None = None) -> CommandResult:
        def reaches_hidden() -> bool:
            seen = self._visibility()
            return not seen.everything and _plan_names_hidden(seen, config.prepare(self.engine.context, change)[0])

        async def run(res: CommandResult) -> None:
            async with self.engine.hsm.every_pool(command="CONFIGURATION CHANGE"):  # no command is half done meanwhile
                if await asyncio.to_thread(reaches_hidden):
                    res.add("ICH408I", self._hidden_change().removeprefix("ICH408I "))
                    res.fail(Rc.NOT_AUTHORIZED)
                    return
                await asyncio.to_thread(config.apply, self.engine.context, change, expect, res)

        return await self._action("change_config", {"change": change}, printable(change.describe()), run)

    async def stop_server(self) -> CommandResult:
        def run(res: CommandResult) -> None:
            if self.mode != "server":
                raise FlashpoolError("no server runs for this site")
            res.add("FPL610I", f"THE SERVER (PID {os.getpid()}) IS STOPPING AT THE REQUEST OF {self.who.user}")

        return await self._action("stop_server", {}, "SERVER STOP", run)

    async def save_transcript(self, pool: str | None, name: str, text: str) -> str:
        decision, refused, _ = await asyncio.to_thread(self._judge, "save_transcript", {"pool": pool})
        action = f"SAVE TRANSCRIPT {transcripts.safe_name(name)}" + (f" COPYPOOL({pool})" if pool else "")
        if refused:
            await asyncio.to_thread(self._audit, action, decision, Rc.NOT_AUTHORIZED, ("ICH408I",))
            raise NotAuthorized(refused)
        try:
            path = await asyncio.to_thread(transcripts.save, self.engine.path, name, text)
        except (transcripts.TranscriptRefused, OSError) as exc:
            why = resource_problem(exc, self.path) if isinstance(exc, OSError) else str(exc)
            await asyncio.to_thread(self._audit, action, decision, 12, ("FPL604E",))
            raise FlashpoolError(f"the transcript was not saved: {why}") from None
        await asyncio.to_thread(self._audit, f"{action} AS {path.name}", decision, 0, ("FPL603I",))
        return str(path)

    async def events(self) -> AsyncIterator[Event]:
        """Only what the caller may see: an event about a copy pool it may not list, or about a
        volume or relationship holding such a pool's data, is left out (its profiles asked
        again at most every second)."""
        seen = await asyncio.to_thread(self.check_read)
        asked = time.monotonic()
        async for e in self.engine.events.subscribe():
            if time.monotonic() - asked >= 1.0:
                seen = await asyncio.to_thread(self.still_sees)
                asked = time.monotonic()
            if seen.event(e):
                yield e

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


def _text_arg(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


#: the catalog rows of what an expectation may name (its other kinds are states, not names)
_EXPECTED_ROWS: dict[str, type[SQLModel]] = {"volume": VolumeRow, "dataset": DataSetRow}


def _named(rule: Needs, args: dict[str, object], catalog: Catalog) -> list[tuple[str, str, Callable[[], bool]]]:
    """(what, its text, whether the site knows it) for every volume, data set, command or
    expectation the arguments name."""
    out: list[tuple[str, str, Callable[[], bool]]] = []
    if rule.volumes:
        value = args.get(rule.volumes)
        for v in value if isinstance(value, list) else [value] if isinstance(value, str) else []:
            out.append((f"VOLUME {v}", str(v), known(catalog, VolumeRow, str(v))))
    if rule.dataset and isinstance(name := args.get(rule.dataset), str):
        out.append((f"DATA SET {name}", name, known(catalog, DataSetRow, name)))
    if rule.command and isinstance(args.get(rule.command), str):
        out.append(("THE COMMAND", printable(str(args[rule.command])), _always))
    if rule.expectations:
        for e in args.get(rule.expectations) or []:  # type: ignore[attr-defined]
            row = _EXPECTED_ROWS.get(e.kind)
            out.append((f"{e.kind.upper()} {e.name}", e.name, known(catalog, row, e.name) if row else _always))
    if rule.change and isinstance(change := args.get(rule.change), ConfigChange):
        out.append(("THE CHANGE", f"{change.describe()} {change.definition}", _always))
    if rule.lines:
        out += [("A LINE", printable(str(line)), _always) for line in args.get(rule.lines) or []]  # type: ignore[attr-defined]
    return out


def _always() -> bool:
    """A command, a change or a line is text, not a name of something the site might not know."""
    return True


def _plan_names_hidden(seen: Visibility, plan: ConfigPlan) -> bool:
    """Whether a change's preview would tell of a copy pool, storage group or volume the caller
    may not LIST (a storage group's change names the copy pools that use it, its volumes, their
    versions)."""
    texts = [*plan.steps, *plan.effects, *plan.problems, *plan.images_created, *plan.images_deleted]
    return not seen.text(*texts, *(r.copy_pool for r in plan.roll_offs))


def _alert_visible(seen: Visibility, pool: str | None, text: str) -> bool:
    return (pool is None or seen.pool(pool)) and seen.text(text)


def _activity_visible(seen: Visibility, a: ActivityView) -> bool:
    return seen.pool(a.copy_pool) and seen.text(a.command, *(text for _, text in a.messages))


def _action_text(call: str, args: dict[str, object]) -> str:
    """How the audit trail names a read: the function and what it named."""
    parts = [call.upper()]
    for key, value in args.items():
        if value is None or value == [] or value == "" or key == "expected":
            continue
        if key == "command":
            parts.append(printable(str(value)))
        elif isinstance(value, list):
            parts.append(f"{key.upper()}({','.join(str(v) for v in value)[:200]})")
        else:
            parts.append(f"{key.upper()}({printable(str(value))[:200]})")
    return " ".join(parts)


__all__ = [
    "API_VERSION",
    "AuditExport",
    "AuditReport",
    "BandMap",
    "Caller",
    "Change",
    "LocalSite",
    "NotAuthorized",
    "RoleGrant",
    "SecurityChange",
    "SettingView",
    "SiteAPI",
    "SiteStatus",
    "StorageView",
    "TokenInfo",
    "WorkloadResult",
    "refusal_lines",
]
