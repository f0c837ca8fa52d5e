"""FastReplication: executes HSM commands against the catalog and FlashCopy.

Every outcome is a CommandResult (ARC messages + return code) written to the activity log,
whether the command came from the CLI, the console's command line or a walkthrough.
Commands on one copy pool are serialised; commands on different pools run concurrently.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.catalog import constructs as repo
from engine.command import CommandSyntaxError, FrBackup, FrDelete, FrRecov, Hold, ListCopyPool, Query, Request, parse_command
from engine.errors import FlashpoolError
from engine.hsm import messages as msg
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
            res.fail(msg.RC_SYNTAX)
            await self._log(res, origin, None)
            return res
        pool = _pool_of(req)
        try:
            if pool is not None:
                async with self.lock(pool):
                    await self._dispatch(req, res)
            else:
                await self._dispatch(req, res)
        except FlashpoolError as exc:  # anything the engine refused that a handler did not expect
            res.add("ARC1806E", f"{req.verb} FAILED, RC=0012 - {exc}")
            res.fail(12)
        await self._log(res, origin, pool)
        return res

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
            except FlashpoolError:
                pass  # reported on the next command that touches the pool; never kills the loop

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

    def held(self, function: str, qualifier: str | None = None) -> str | None:
        """The hold that stops this function now, if any (e.g. 'FRRECOV(TAPE)')."""
        with self.site.catalog.session() as s:
            held = repo.holds(s)
        for h in ("ALL", function, f"{function}({qualifier})" if qualifier else None):
            if h and h in held:
                return h
        return None

    # -- activity -----------------------------------------------------------------------------
    async def record(self, origin: str, command: str, pool: str | None, rc: int, lines: list[str]) -> None:
        """A transcript (e.g. a console walkthrough) into the activity log, one FPL300I per line."""
        res = CommandResult(command)
        for line in lines:
            res.add("FPL300I", line)
        res.fail(rc)
        await self._log(res, origin, pool)

    async def _log(self, res: CommandResult, origin: str, pool: str | None) -> None:
        def write() -> None:
            with self.site.catalog.session() as s:
                repo.log_activity(
                    s, self.clock(), origin, res.command, pool, res.rc,
                    [{"id": m.id, "severity": m.severity, "text": m.text} for m in res.messages],
                )
                s.commit()

        await asyncio.to_thread(write)


def _pool_of(req: Request) -> str | None:
    if isinstance(req, (FrBackup, FrDelete)):
        return req.copypool
    if isinstance(req, FrRecov):
        return req.copypool or req.from_copypool
    return None
