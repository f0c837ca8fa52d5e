"""FastReplication: executes HSM commands against the catalog and FlashCopy.

Every outcome is a CommandResult (ARC messages + return code) written to the activity log,
whether the command came from the CLI, the console's command line or a walkthrough.
Commands on one copy pool are serialised; commands on different pools run concurrently.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from engine.catalog import constructs as repo
from engine.command import CommandSyntaxError, FrBackup, FrDelete, FrRecov, Hold, ListCopyPool, Query, Request, parse_command
from engine.errors import FlashpoolError
from engine.hsm import messages as msg
from engine.hsm import rules
from engine.hsm.messages import CommandResult

if TYPE_CHECKING:
    from engine.site import Site


class FastReplication:
    def __init__(self, site: Site, clock: Callable[[], float] = time.time) -> None:
        self.site = site
        self.clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self.dumping: set[str] = set()  # target volumes being dumped right now
        self.background: set[asyncio.Task[None]] = set()  # dumps started with RETURNCONTROL(FREND)
        self._handed: set[str] = set()  # pools whose serialisation a background task now owns
        self.tape_lock = threading.Lock()  # tape volsers are handed out one at a time

    async def settle(self) -> None:
        """Wait for background work started by commands (dumps returned early with FREND)."""
        while self.background:
            await asyncio.gather(*list(self.background), return_exceptions=True)

    @property
    def flashcopy(self):  # noqa: ANN201 - the site's FlashCopyController
        return self.site.flashcopy

    def lock(self, pool: str) -> asyncio.Lock:
        return self._locks.setdefault(pool, asyncio.Lock())

    async def execute(self, command: str | Request, origin: str = "CLI") -> CommandResult:
        text = command if isinstance(command, str) else repr(command)
        res = CommandResult(text.strip())
        try:
            req = parse_command(command) if isinstance(command, str) else command
        except CommandSyntaxError as exc:
            res.add(exc.message_id, f"{exc.text} (COLUMN {exc.position}); COMMAND NOT PROCESSED")
            res.fail(msg.Rc.SYNTAX)
            await self.log(res, origin, None)
            return res
        pool = _pool_of(req)
        if pool is not None:
            await self.lock(pool).acquire()
        try:
            await self._dispatch(req, res)
        except FlashpoolError as exc:  # anything the engine refused that a handler did not expect
            res.add("ARC1806E", f"{req.verb} FAILED, RC=0012 - {exc}")
            res.fail(12)
        finally:
            if pool is not None and pool not in self._handed:
                self.lock(pool).release()
        for note in no_effect(req):
            res.add("FPL150I", note)
        await self.log(res, origin, pool)
        return res

    def hand_off(self, pool: str, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background *holding the pool's serialisation*, which the running
        command passes on instead of releasing: no other command on the pool runs until the
        background work has made its results final (e.g. an FREND dump and, with VERSIONS=0,
        the withdrawal after it)."""
        self._handed.add(pool)

        async def owned() -> None:
            try:
                await work
            finally:
                self._handed.discard(pool)
                self.lock(pool).release()

        task = asyncio.create_task(owned(), name=f"flashpool-background-{pool}")
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _dispatch(self, req: Request, res: CommandResult) -> None:
        from engine.hsm import backup, delete, listing, recover

        if isinstance(req, FrBackup):
            await backup.frbackup(self, req, res)
        elif isinstance(req, FrRecov):
            await recover.frrecov(self, req, res)
        elif isinstance(req, FrDelete):
            await delete.frdelete(self, req, res)
        elif isinstance(req, ListCopyPool):
            await asyncio.to_thread(listing.list_command, self, req, res)
        elif isinstance(req, Query):
            await asyncio.to_thread(listing.query_command, self, req, res)
        elif isinstance(req, Hold):
            await asyncio.to_thread(self._hold, req, res)

    async def schedule(self, interval: float) -> None:
        """Automatic dump of AUTODUMP copy pools' newest versions, and expiry, every interval."""
        from engine.hsm import dump

        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(dump.expire, self)
                await dump.auto_dump(self)
            except FlashpoolError as exc:  # never kills the loop; the operator sees it in the log
                res = CommandResult("AUTODUMP")
                res.add("ARC1806E", f"AUTOMATIC DUMP FAILED, RC=0012 - {exc}")
                res.fail(12)
                await self.log(res, "AUTO", None)

    async def finish_nocopy_version(self, pool: str, version_id: int, res: CommandResult) -> None:
        """VERSIONS=0: once every volume of the version has a COMPLETE dump copy, its NOCOPY
        relationships are withdrawn and the version lives on as dump copies only (the catalog
        says NONE before a single relationship goes)."""
        from engine.hsm import backup

        await self.flashcopy.batch(lambda core: backup.withdraw_nocopy_version(self, core, pool, version_id, res))

    # -- holds ------------------------------------------------------------------------------
    def _hold(self, req: Hold, res: CommandResult) -> None:
        with self.site.catalog.session() as s:
            held = repo.holds(s)
            for function, qualifier in req.functions:
                name = function + (f"({qualifier})" if qualifier else "")
                if req.release:
                    if function == "ALL":
                        held.clear()
                    else:
                        held -= {h for h in held if h == name or (qualifier is None and h.startswith(function))}
                else:
                    held.add(name)
            repo.set_holds(s, held)
            s.commit()
        res.add("ARC0100I", f"{req.verb} COMMAND COMPLETED; HELD: {', '.join(sorted(held)) or 'NONE'}")

    def holds(self) -> set[str]:
        with self.site.catalog.session() as s:
            return repo.holds(s)

    def held(self, function: str, qualifier: str | None = None) -> str | None:
        """The hold that stops this function now, if any (e.g. 'FRRECOV(TAPE)')."""
        return rules.hold_in_effect(self.holds(), function, (qualifier,) if qualifier else ())

    # -- activity -----------------------------------------------------------------------------
    async def record(self, origin: str, command: str, pool: str | None, rc: int, lines: list[str]) -> None:
        """A transcript (e.g. a console walkthrough) into the activity log, one FPL300I per line."""
        res = CommandResult(command)
        for line in lines:
            res.add("FPL300I", line)
        res.fail(rc)
        await self.log(res, origin, pool)

    async def log(self, res: CommandResult, origin: str, pool: str | None) -> None:
        def write() -> None:
            with self.site.catalog.session() as s:
                repo.log_activity(
                    s, self.clock(), origin, res.command, pool, res.rc,
                    [{"id": m.id, "severity": m.severity, "text": m.text} for m in res.messages],
                )
                s.commit()

        await asyncio.to_thread(write)


def no_effect(req: Request) -> list[str]:
    """Keywords the language accepts as DFSMShsm documents them but that change nothing here:
    each is answered, never silently ignored."""
    out = []
    wait = getattr(req, "wait", None)
    if wait is not None:
        out.append(f"{'WAIT' if wait else 'NOWAIT'} HAS NO EFFECT HERE: A COMMAND ALWAYS RETURNS WHEN IT HAS ENDED "
                   "(BACKGROUND WORK CONTINUES IN THE PROCESS THAT HOLDS THE SITE)")
    if isinstance(req, FrRecov) and req.allow_pprcp is not None:
        out.append(f"ALLOWPPRCP({req.allow_pprcp}) HAS NO EFFECT HERE: THE SITE HAS NO PEER-TO-PEER REMOTE COPY")
    if isinstance(req, FrRecov) and req.apply_incremental:
        out.append("APPLYINCREMENTAL HAS NO EFFECT HERE: THERE ARE NO INCREMENTAL DATA SET BACKUPS TO APPLY AFTER A VOLUME RESTORE")
    if isinstance(req, FrBackup) and req.incremental_all:
        out.append(f"{req.incremental.value if req.incremental else 'FCINCREMENTAL'}(ALL) HAS NO EFFECT HERE: EACH SOURCE "
                   "VOLUME HAS ONE INCREMENTAL TARGET (MULTIPLE INCREMENTAL FLASHCOPY IS OFF)")
    return out


def _pool_of(req: Request) -> str | None:
    if isinstance(req, (FrBackup, FrDelete)):
        return req.copypool
    if isinstance(req, FrRecov):
        return req.copypool or req.from_copypool
    return None
