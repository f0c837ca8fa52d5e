"""FastReplication: executes HSM commands against the catalog and FlashCopy.

Every outcome is a CommandResult (ARC messages + return code) written to the activity log,
whether the command came from the CLI, the console's command line or a walkthrough.
Commands on one copy pool are serialised; commands on different pools run concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import DatabaseError

from engine import diskspace
from engine import messages as msg
from engine.catalog import constructs as repo
from engine.command import (
    AuditCopyPools,
    CommandSyntaxError,
    Define,
    FrBackup,
    FrDelete,
    FrRecov,
    Hold,
    ListCopyPool,
    Query,
    Request,
    Setsys,
    keywords_of,
    parse_command,
)
from engine.errors import FlashpoolError
from engine.hostviews import EnqueueHolder
from engine.hsm import auditcp, backup, define, delete, dump, interrupted, listing, outputs, recover, rules, setsys
from engine.hsm import pool as pools
from engine.hsm.coalesce import Coalescer
from engine.hsm.context import Context, Outcome, log_and_audit_all
from engine.hsm.groupcommit import GroupCommit
from engine.hsm.limiter import Limiter
from engine.messages import CommandResult, Rc, resource_problem
from engine.plex import Fenced, PoolEnqueues
from engine.printable import printable
from engine.security import Check, Decision, Identity, command_check
from engine.security.audit import ERROR, REJECTED
from engine.states import Origin
from engine.visibility import EVERYTHING, Visibility, visibility, visibility_now

log = logging.getLogger("flashpool.hsm")
_BACKGROUND = "flashpool-background-"  # a background task's name, before its copy pool
ENQUEUE_RETRY = 0.2  # seconds between asks for a copy pool another host of the plex holds


class FastReplication:
    """Runs commands: parse on the loop, take the copy pool's serialisation, then the command
    as one synchronous unit in a worker thread with a Context (engine.hsm.context)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._locks: dict[str, asyncio.Lock] = {}
        self.background: set[asyncio.Task[None]] = set()  # dumps started with RETURNCONTROL(FREND)
        self.reads: Coalescer[CommandResult] = Coalescer()  # LIST and QUERY asked at once run once
        #: held NOWAIT requests, in the order they came (kept by a server only: see `queueing`)
        self.queued: list[Queued] = []
        self.queueing = False  # a site's server queues held NOWAIT requests; one command alone cannot
        defaults = setsys.SetsysValues()
        #: SETSYS MAXCOPYPOOLTASKS: FRBACKUP and FRRECOV commands running at once, the rest wait
        self.tasks = {"FRBACKUP": Limiter(defaults.frbackup_tasks), "FRRECOV": Limiter(defaults.frrecov_tasks)}
        self.journal: GroupCommit[Outcome] = GroupCommit(_log_and_audit_all)  # their entries: one commit
        #: in an HSMplex, the copy pools' serialisation across the hosts (set by the server that joins it)
        self.enqueues: PoolEnqueues | None = None
        #: who holds each copy pool's serialisation on this host now, for the RC 28 that names them
        self.holders: dict[str, EnqueueHolder] = {}

    async def log_and_audit(
        self,
        ctx: Context,
        res: CommandResult,
        pool: str | None,
        decision: Decision | None,
        action: str | None = None,
        *,
        log_line: bool = False,
        verdict: str = "",
    ) -> None:
        """A result's activity and audit entries, committed with those asked for at the same time
        (and, with `log_line`, its line in the site's log written from the same thread)."""
        await self.journal.write(
            Outcome(ctx, res, pool, decision, res.command if action is None else action, log_line, verdict)
        )

    async def settle(self) -> None:
        """Wait for background work started by commands (dumps returned early with FREND)."""
        while self.background:
            await asyncio.gather(*list(self.background), return_exceptions=True)

    def apply_setsys(self, values: setsys.SetsysValues) -> None:
        """SETSYS in force: the command limits here, the background copiers' in the controller."""
        self.tasks["FRBACKUP"].limit = values.frbackup_tasks
        self.tasks["FRRECOV"].limit = values.frrecov_tasks
        self.ctx.flashcopy.limit = values.dss_tasks

    def background_pools(self) -> list[str]:
        """The copy pool of each piece of background work running now (one entry each)."""
        return [t.get_name().removeprefix(_BACKGROUND) for t in self.background]

    def lock(self, pool: str) -> asyncio.Lock:
        return self._locks.setdefault(pool, asyncio.Lock())

    async def serialise(self, pool: str, user: str, command: str, wait: bool = True) -> EnqueueHolder | None:
        """Take copy pool `pool`'s serialisation: this host's lock on it, then, in an HSMplex, the
        plex's ENQ on it (engine.plex.enqueue), waiting for another host's holder to finish.
        Without `wait`, a pool held here or elsewhere is not waited for: its holder is returned
        and nothing is held."""
        lock = self.lock(pool)
        if not wait and lock.locked():
            return self.holders[pool]
        await lock.acquire()
        system = self.enqueues.membership.system if self.enqueues is not None else ""
        self.holders[pool] = EnqueueHolder(system, user, printable(command)[:120], time.time())
        try:
            while self.enqueues is not None:
                holder = await asyncio.to_thread(self.enqueues.take, pool, user, printable(command)[:120])
                if holder is None:
                    break
                if not wait:
                    self._let_go(pool)
                    return holder
                await asyncio.sleep(ENQUEUE_RETRY)
        except BaseException:
            self._let_go(pool)
            raise
        return None

    def _let_go(self, pool: str) -> None:
        del self.holders[pool]
        self.lock(pool).release()

    async def unserialise(self, pool: str) -> None:
        """Give copy pool `pool`'s serialisation up: the plex's ENQ (a release that cannot be
        written is taken back by this host's next take, or lapses with its lease), then the lock."""
        try:
            if self.enqueues is not None:
                with contextlib.suppress(DatabaseError, OSError):
                    await asyncio.to_thread(self.enqueues.release, pool)
        finally:
            self._let_go(pool)

    @contextlib.asynccontextmanager
    async def serialised(self, pool: str, user: str, command: str) -> AsyncIterator[None]:
        await self.serialise(pool, user, command)
        try:
            yield
        finally:
            await self.unserialise(pool)

    @contextlib.asynccontextmanager
    async def every_pool(self, user: str = "", command: str = "") -> AsyncIterator[None]:
        """Every copy pool's serialisation, taken in name order, so that no command is half done
        meanwhile (AUDIT of every copy pool, a configuration change)."""
        held: list[str] = []
        try:
            for name in sorted(await asyncio.to_thread(auditcp.pool_names, self.ctx)):
                await self.serialise(name, user or self.ctx.who.user, command or "EVERY COPY POOL")
                held.append(name)
            yield
        finally:
            for name in reversed(held):
                await self.unserialise(name)

    async def execute(
        self, command: str | Request, origin: str = Origin.CLI, who: Identity | None = None
    ) -> CommandResult:
        """Parse, authorize (a refused command changes nothing: ARC1806E RC=36), run; every
        command goes to the activity log and the audit trail with who asked."""
        self.ctx.catalog.off_loop()
        self.ctx.flashcopy.bind()
        ctx = self.ctx.asked_by(origin, who)
        text = command if isinstance(command, str) else repr(command)
        res = CommandResult(printable(text.strip()))
        try:
            req = parse_command(command) if isinstance(command, str) else command
        except CommandSyntaxError as exc:
            res.add(exc.message_id, f"{exc.text} (COLUMN {exc.position}); COMMAND NOT PROCESSED")
            res.fail(msg.Rc.SYNTAX)
            # no profile was asked; its line in the site's log too (a script's garbage is found there)
            await self.log_and_audit(ctx, res, None, None, log_line=True, verdict=REJECTED)
            return res
        try:
            now = authorize_now(ctx, req)
            check, decision = now if now is not None else await asyncio.to_thread(authorize, ctx, req)
        except (DatabaseError, OSError, UnicodeDecodeError) as exc:  # the profiles cannot be read
            res.add(
                "ARC1806E",
                f"{req.verb} FAILED, RC=0012 - THE PROFILES COULD NOT BE READ: {resource_problem(exc, ctx.root)}",
            )
            res.fail(12)
            await self.log_and_audit(ctx, res, _pool_of(req), None, verdict=ERROR)
            return res
        named = check.copy_pool  # the copy pool the command is about, for the activity log
        if not decision.allowed:
            why = decision.refusal(ctx.who)
            volser = _pool_from_volume(req)
            if volser is not None and named is not None:  # a pool the caller never named: hidden?
                sees = await asyncio.to_thread(visibility, ctx.catalog, ctx.guard, ctx.who)
                why = why if sees.pool(named) else rules.hidden_volume(ctx.who.user, volser)
            res.add("ARC1806E", f"{req.verb} FAILED, RC={Rc.NOT_AUTHORIZED:04d} - {why}")
            res.fail(Rc.NOT_AUTHORIZED)
            log.warning("%s refused for %s: %s", res.command, ctx.who.user, decision.refusal(ctx.who))
            await self.log_and_audit(ctx, res, named, decision)
            return res
        pool = _pool_of(req)
        if isinstance(req, (ListCopyPool, Query)):  # reads: each asker authorized, logged and audited
            seen = visibility_now(ctx.guard, ctx.who)
            if seen is None:
                seen = await asyncio.to_thread(visibility, ctx.catalog, ctx.guard, ctx.who)
            hidden = seen.restricted(req.copypool) if isinstance(req, Query) and req.copypool else None
            if hidden is not None:  # QUERY would show what a profile restricting LIST of the pool hides
                res.add("ARC1806E", f"{req.verb} FAILED, RC={Rc.NOT_AUTHORIZED:04d} - {hidden.refusal(ctx.who)}")
                res.fail(Rc.NOT_AUTHORIZED)
                await self.log_and_audit(ctx, res, named, hidden)
                return res
            answer = await self.reads.run((req, seen), lambda: self._read(ctx, req, pool, seen))
            _copy_answer(answer, res)
            await self.log_and_audit(ctx, res, named, decision, log_line=True)
            return res
        if isinstance(req, FrBackup | FrRecov) and req.wait is False:
            hold = rules.request_hold(await asyncio.to_thread(ctx.holds), req)
            if hold is not None:
                self._hold_back(ctx, res, hold)
                await self.log_and_audit(ctx, res, named, decision, log_line=True)
                return res
        nowait = isinstance(req, FrBackup | FrRecov) and req.wait is False
        if nowait and pool is not None and self.lock(pool).locked():  # IBM: one function at a time, else RC 28
            rules.report(res, *function_of(req), rules.pool_busy(pool, self.holders[pool]))
            await self.log_and_audit(ctx, res, named, decision, log_line=True)
            return res
        slots = self.tasks.get(req.verb) if isinstance(req, FrBackup | FrRecov) else None
        if slots is not None:
            await slots.acquire()  # SETSYS MAXCOPYPOOLTASKS: its turn among the others
        try:
            # a command on one copy pool holds its serialisation; AUDIT of every copy pool holds all
            # of them (in name order), so that no command is half done while it looks
            if pool is None and isinstance(req, AuditCopyPools):
                async with self.every_pool(ctx.who.user, res.command):
                    # leaves out what may not be listed
                    audited = await asyncio.to_thread(visibility, ctx.catalog, ctx.guard, ctx.who)
                    await asyncio.to_thread(_run, ctx, req, res, pool, decision, audited)
            elif pool is None:
                await asyncio.to_thread(_run, ctx, req, res, pool, decision)
            else:
                holder = await self.serialise(pool, ctx.who.user, res.command, wait=not nowait)
                if holder is not None:  # NOWAIT: IBM runs one function at a time on a pool, else RC 28
                    rules.report(res, *function_of(req), rules.pool_busy(pool, holder))
                    await self.log_and_audit(ctx, res, named, decision, log_line=True)
                    return res
                try:
                    await asyncio.to_thread(_run, ctx, req, res, pool, decision)
                finally:
                    if ctx.background:
                        self._hand_off(pool, ctx.background)
                    else:
                        await self.unserialise(pool)
        finally:
            if slots is not None:
                slots.release()
        if isinstance(req, Setsys) and res.rc < 8:
            self.apply_setsys(await asyncio.to_thread(ctx.setsys))
        if isinstance(req, Hold) and req.release and res.rc == 0 and self.queued:
            task = asyncio.create_task(self._run_released(), name="flashpool-released")
            self.background.add(task)
            task.add_done_callback(self.background.discard)
        return res

    def _hold_back(self, ctx: Context, res: CommandResult, hold: rules.Refusal) -> None:
        """A held NOWAIT request: queued until its hold is released (IBM keeps its MWE), by a
        server; a command that runs alone cannot keep it and says so (RC 50)."""
        release = hold.alternatives[0].command if hold.alternatives else None
        name = release.removeprefix("RELEASE ") if release else "the hold"
        if not self.queueing:
            res.add(
                "ARC1806E",
                f"{res.command.split()[0]} FAILED, RC={Rc.HELD:04d} - {hold.text}; A HELD NOWAIT REQUEST IS QUEUED "
                "ONLY BY THE SITE'S SERVER, AND NONE RUNS",
            )
            res.fail(Rc.HELD)
            return
        self.queued.append(Queued(res.command, ctx.origin, ctx.who))
        res.add(
            "FPL180I",
            f"THE REQUEST IS HELD ({name}) AND QUEUED, {len(self.queued)} IN THE QUEUE: IT RUNS WHEN {name} IS "
            "RELEASED, ITS RESULT GOES TO THE ACTIVITY LOG (QUEUED REQUESTS ARE KEPT WHILE THE SERVER RUNS)",
        )

    async def _run_released(self) -> None:
        """After a RELEASE: every queued request no hold stops any more, in the order they came,
        each as its issuer (authorized again, logged and audited as any command)."""
        holds = await asyncio.to_thread(self.ctx.holds)
        ready = []
        for q in list(self.queued):
            req = parse_command(q.text)
            if isinstance(req, FrBackup | FrRecov) and rules.request_hold(holds, req) is None:
                ready.append(q)
                self.queued.remove(q)
        for q in ready:
            await self.execute(q.text, q.origin, q.who)  # held again meanwhile: queued again

    async def _read(self, ctx: Context, req: ListCopyPool | Query, pool: str | None, seen: Visibility) -> CommandResult:
        """One run of a LIST or QUERY, holding its copy pool's serialisation like any command;
        what the askers may not see (`seen`, part of the run's key) is left out."""
        answer = CommandResult(repr(req))
        if pool is not None:
            await self.serialise(pool, ctx.who.user, repr(req))
        try:
            await asyncio.to_thread(_perform, ctx, req, answer, pool, seen)
        finally:
            if pool is not None:
                await self.unserialise(pool)
        return answer

    def _hand_off(self, pool: str, work: list[Callable[[], None]]) -> None:
        """Run `work` in the background *holding the pool's serialisation*, which the command
        passes on instead of releasing: no other command on the pool runs until the background
        work has made its results final (e.g. an FREND dump and, with VERSIONS=0, the
        withdrawal after it)."""

        async def owned() -> None:
            try:
                for fn in work:
                    await asyncio.to_thread(fn)
            finally:
                await self.unserialise(pool)

        task = asyncio.create_task(owned(), name=f"{_BACKGROUND}{pool}")
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def schedule(self, interval: float, primary: Callable[[], bool] = lambda: True) -> None:
        """Every interval: expiry, and automatic dump when the dump cycle and AUTODUMPSTART say
        so on the site's clock (engine.hsm.dumpcycle); in an HSMplex only while this host is the
        primary (`primary`, engine.plex), as DFSMShsm runs automatic functions on its primary host."""
        while True:
            await asyncio.sleep(interval)
            if primary():
                await self.auto_dump(scheduled=True)

    async def auto_dump(self, scheduled: bool = False) -> list[str]:
        """Expiry, then automatic dump, each pool's job holding the pool's serialisation; returns
        the pools dumped. `scheduled`: only what the schedule makes due now; else every AUTODUMP
        pool's newest version to every class it lacks. Failures go to the activity log, never
        kill the schedule."""
        ctx = self.ctx.asked_by(Origin.AUTO)
        done: list[str] = []
        try:
            await asyncio.to_thread(dump.expire, ctx)
            jobs = dump.scheduled_jobs if scheduled else dump.auto_dump_jobs
            for job in await asyncio.to_thread(jobs, ctx):
                async with self.serialised(job.pool, ctx.who.user, f"AUTODUMP COPYPOOL({job.pool})"):
                    if await asyncio.to_thread(dump.auto_dump_one, ctx, job, backup.finish_nocopy_version):
                        done.append(job.pool)
        except (FlashpoolError, DatabaseError, OSError) as exc:  # the schedule goes on; the log says why
            res = CommandResult("AUTODUMP")
            why = exc if isinstance(exc, FlashpoolError) else resource_problem(exc, ctx.root)
            log.error("automatic dump failed: %s", why, exc_info=not isinstance(exc, FlashpoolError))
            res.add("ARC1806E", f"AUTOMATIC DUMP FAILED, RC=0012 - {why}")
            res.fail(12)
            await asyncio.to_thread(ctx.log, res, None)
        return done

    async def record(
        self, origin: str, command: str, pool: str | None, rc: int, lines: list[str], who: Identity | None = None
    ) -> None:
        """A transcript (e.g. a console walkthrough) into the activity log, one FPL300I per line."""
        res = CommandResult(command)
        for line in lines:
            res.add("FPL300I", line)
        res.fail(rc)
        await asyncio.to_thread(self.ctx.asked_by(origin, who).log, res, pool)


@dataclass(frozen=True, slots=True)
class Queued:
    text: str
    origin: str
    who: Identity


def check_of(ctx: Context, req: Request) -> Check:
    """Blocking: the command's function and the copy pool it is about (a volume's, the catalog's word)."""

    def pool_of_volume(volser: str) -> str | None:
        with ctx.catalog.session() as s:
            found = pools.of_volume(s, volser, None)
        return found if isinstance(found, str) else None

    return command_check(req, pool_of_volume)


def _pool_from_volume(req: Request) -> str | None:
    """The volume whose copy pool a command is checked for when it names no copy pool itself
    (FRRECOV TOVOLUME without FROMCOPYPOOL, LIST PVOL): security.command_check's lookup."""
    if isinstance(req, FrRecov) and req.volume and not (req.copypool or req.from_copypool):
        return req.volume
    if isinstance(req, ListCopyPool) and req.pvol and not req.copypool:
        return req.pvol
    return None


def authorize(ctx: Context, req: Request) -> tuple[Check, Decision]:
    """Blocking: the command's function and copy pool, decided for who asked."""
    check = check_of(ctx, req)
    return check, ctx.guard.decide(ctx.who, check)


class _NeedsCatalog(Exception):
    """The check names a volume whose copy pool only the catalog knows."""


def authorize_now(ctx: Context, req: Request) -> tuple[Check, Decision] | None:
    """On the event loop when nothing needs the catalog (the profiles are read and no volume's
    copy pool must be looked up); else None, and `authorize` decides in a worker thread."""

    def pool_of_volume(volser: str) -> str | None:
        raise _NeedsCatalog(volser)

    try:
        check = command_check(req, pool_of_volume)
    except _NeedsCatalog:
        return None
    decision = ctx.guard.decide_now(ctx.who, check)
    return None if decision is None else (check, decision)


def _log_and_audit(ctx: Context, res: CommandResult, pool: str | None, decision: Decision | None) -> None:
    _log_and_audit_all([Outcome(ctx, res, pool, decision, res.command)])


def _log_and_audit_all(outcomes: Sequence[Outcome]) -> None:
    for o in outcomes:
        if o.log_line:  # a logging call costs ~40 us of Python: here, not on the event loop
            _log_outcome(o.res, o.ctx.origin)
    try:
        log_and_audit_all(outcomes)
    except (DatabaseError, OSError, Fenced) as exc:  # the results still reach whoever asked
        why = str(exc) if isinstance(exc, Fenced) else resource_problem(exc, outcomes[0].ctx.root)
        for o in outcomes:
            log.error("the activity log and the audit trail could not be written for %s: %s", o.res.command, exc)
            o.res.add("FPL151W", f"THE ACTIVITY LOG COULD NOT BE WRITTEN: {why}")
            o.res.add("FPL152W", f"THE AUDIT TRAIL COULD NOT BE WRITTEN: {why}")


def _copy_answer(answer: CommandResult, res: CommandResult) -> None:
    """A shared read's answer as this asker's result (its `data` is shared: read it, do not change it)."""
    res.messages.extend(answer.messages)
    res.listing.extend(answer.listing)
    res.data = answer.data
    res.fail(answer.rc)


def function_of(req: Request) -> tuple[str, str]:
    """(function, what) as ARC1806E names them for a fast replication command."""
    if isinstance(req, FrBackup):
        return backup.function_of(req)
    if isinstance(req, FrRecov):
        return recover.function_of(req)
    if isinstance(req, FrDelete):
        return "DELETE", f"COPY POOL {req.copypool}"
    return req.verb, "THE REQUEST"


def not_serialised(text: str, why: str) -> CommandResult:
    """A command that cannot have the site because another process holds it (DFSMShsm's enqueue
    failing): ARC1806E RC=30 for a fast replication command, the reason for any other."""
    res = CommandResult(printable(text.strip()))
    try:
        req = parse_command(text)
    except CommandSyntaxError as exc:
        res.add(exc.message_id, f"{exc.text} (COLUMN {exc.position}); COMMAND NOT PROCESSED")
        res.fail(msg.Rc.SYNTAX)
        return res
    if isinstance(req, FrBackup | FrRecov | FrDelete):
        res.messages.append(msg.failed(*function_of(req), msg.Rc.ENQUEUE, f"ENQUEUE ERROR: {why.upper()}"))
    else:
        res.add("FPL591E", f"{req.verb} NOT PROCESSED: {why.upper()}")
    res.fail(msg.Rc.ENQUEUE)
    return res


def _run(
    ctx: Context, req: Request, res: CommandResult, pool: str | None, decision: Decision, seen: Visibility = EVERYTHING
) -> None:
    """One command, start to end, in a worker thread; its outcome goes to the activity log."""
    _perform(ctx, req, res, pool, seen)
    _log_outcome(res, ctx.origin)
    _log_and_audit(ctx, res, pool, decision)


def _perform(ctx: Context, req: Request, res: CommandResult, pool: str | None, seen: Visibility = EVERYTHING) -> None:
    """What the command does, and what it says (LIST and QUERY: leaving out what `seen` hides)."""
    try:
        if pool is not None and isinstance(req, (FrBackup, FrRecov, FrDelete)):
            for _, text in interrupted.finish(ctx, pool):  # what a failed command on the pool left
                res.add("FPL140I", text)
        if isinstance(req, FrBackup):
            backup.frbackup(ctx, req, res)
        elif isinstance(req, FrRecov):
            recover.frrecov(ctx, req, res)
        elif isinstance(req, FrDelete):
            delete.frdelete(ctx, req, res)
        elif isinstance(req, ListCopyPool):
            listing.list_command(ctx, req, res, seen)
        elif isinstance(req, Query):
            listing.query_command(ctx, req, res)
        elif isinstance(req, Hold):
            _hold(ctx, req, res)
        elif isinstance(req, Setsys):
            _setsys(ctx, req, res)
        elif isinstance(req, Define):
            define.define(ctx, req, res)
        elif isinstance(req, AuditCopyPools):
            auditcp.audit(ctx, req.copypool, req.fix, res, seen)
        if isinstance(req, ListCopyPool | AuditCopyPools) and req.out_dataset and res.listing:
            outputs.write_listing(ctx.root, req.out_dataset, res)
    except FlashpoolError as exc:  # anything the engine refused that a handler did not expect
        res.add("ARC1806E", f"{req.verb} FAILED, RC=0012 - {exc}")
        res.fail(12)
        log.warning("%s failed: %s", res.command, exc)
    except (DatabaseError, OSError, UnicodeDecodeError) as exc:
        why = resource_problem(exc, ctx.root)
        full = diskspace.full(ctx.root, exc)  # a full disk is one line; anything else has its traceback
        log.error("%s: the catalog or a file said no: %s", res.command, why if full else exc, exc_info=not full)
        res.add("ARC1806E", f"{req.verb} FAILED, RC=0012 - {why}")
        res.fail(12)
    except Exception as exc:  # a defect of flashpool's: still an answer, logged and audited as any outcome
        log.exception("%s: internal error", res.command)
        res.add(
            "ARC1806E",
            f"{req.verb} FAILED, RC=0016 - INTERNAL ERROR ({type(exc).__name__}: {exc}); THE TRACEBACK IS IN THE "
            "SITE'S LOG",
        )
        res.fail(16)
    for note in no_effect(req):
        res.add("FPL150I", note)


def _log_outcome(res: CommandResult, origin: str) -> None:
    log.log(
        logging.INFO if res.rc < 8 else logging.WARNING,
        "%s %s RC=%d: %s",
        origin,
        res.command,
        res.rc,
        "; ".join(
            str(m)
            for m in res.messages
            if m.id[-1] in "EW" or m.id in ("ARC1802I", "FPL140I") or m.id.startswith("IKJ")
        )
        or "-",
    )


def _hold(ctx: Context, req: Hold, res: CommandResult) -> None:
    with ctx.catalog.session() as s:
        held = repo.holds(s)
        for function, qualifier in req.functions:
            name = function + (f"({qualifier})" if qualifier else "")
            if req.release:
                if function == "ALL":
                    held.clear()
                else:
                    if "ALL" in held:  # HOLD ALL is every function held: release this one of them
                        held = (held - {"ALL"}) | {f for f in keywords_of("HOLD") if f != "ALL"}
                    held -= {h for h in held if h == name or (qualifier is None and h.startswith(function))}
            else:
                held.add(name)
        repo.set_holds(s, held)
        s.commit()
    res.add("ARC0100I", f"{req.verb} COMMAND COMPLETED; HELD: {', '.join(sorted(held)) or 'NONE'}")


def _setsys(ctx: Context, req: Setsys, res: CommandResult) -> None:
    with ctx.catalog.transaction() as c:
        values, notes = setsys.changed(setsys.read(c), req)
        setsys.write(c, values)
    for mid, text in notes:
        res.add(mid, text)
        res.fail(4)
    res.add("ARC0100I", "SETSYS COMMAND COMPLETED")
    res.add("ARC1823I", values.arc1823i())
    if req.autodump_start is not None:
        res.add("ARC0638I", values.arc0638i())


def no_effect(req: Request) -> list[str]:
    """Keywords the language accepts as DFSMShsm documents them but that change nothing here:
    each is answered, never silently ignored."""
    out = []
    wait = getattr(req, "wait", None)
    if wait is True:
        out.append(
            "WAIT IS HOW EVERY COMMAND RUNS HERE: IT RETURNS WHEN IT HAS ENDED (A HELD WAIT REQUEST IS NOT KEPT)"
        )
    elif wait is False:
        out.append(
            "NOWAIT: NOTHING HELD THIS REQUEST, SO IT RAN AT ONCE AND RETURNED WHEN IT HAD ENDED (A HELD NOWAIT "
            "REQUEST IS QUEUED BY THE SITE'S SERVER UNTIL ITS RELEASE)"
        )
    if isinstance(req, FrRecov) and req.allow_pprcp is not None:
        out.append(f"ALLOWPPRCP({req.allow_pprcp}) HAS NO EFFECT HERE: THE SITE HAS NO PEER-TO-PEER REMOTE COPY")
    if isinstance(req, FrRecov) and req.apply_incremental:
        out.append(
            "APPLYINCREMENTAL HAS NO EFFECT HERE: THERE ARE NO INCREMENTAL DATA SET BACKUPS TO APPLY AFTER A VOLUME RESTORE"
        )
    if isinstance(req, FrBackup) and req.incremental_all:
        out.append(
            f"{req.incremental.value if req.incremental else 'FCINCREMENTAL'}(ALL) HAS NO EFFECT HERE: EACH SOURCE "
            "VOLUME HAS ONE INCREMENTAL TARGET (MULTIPLE INCREMENTAL FLASHCOPY IS OFF)"
        )
    return out


def _pool_of(req: Request) -> str | None:
    if isinstance(req, (FrBackup, FrDelete, AuditCopyPools)):
        return req.copypool
    if isinstance(req, FrRecov):
        return req.copypool or req.from_copypool
    return None
