"""`RemoteSite`: the site API of a server, over its Unix socket or over TLS with a token.

The client keeps its own event loop in a thread, with one aiohttp session (kept-alive
connections): the blocking reads a console calls from its worker threads and the actions it
awaits on its own loop both run there, so neither loop waits on the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
import time
from collections.abc import AsyncGenerator, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from engine.api import (
    AuditExport,
    AuditReport,
    BandMap,
    Caller,
    NotAuthorized,
    RoleGrant,
    SecurityChange,
    SettingView,
    SiteAPI,
    SiteStatus,
    StorageView,
    TokenInfo,
    WorkloadResult,
)
from engine.config import ConfigChange, ConfigPlan, SiteConfiguration
from engine.datasets.info import DataSetInfo
from engine.errors import FlashpoolError
from engine.events import CopyFailed, CopyProgress, Event, FlashCopyChanged, RelationshipEnded
from engine.flashcopy import RelationshipInfo
from engine.hsm.alerts import AlertView
from engine.hsm.impact import Impact
from engine.hsm.rules import Check as RuleCheck
from engine.hsm.verify import Expectation, Outcome
from engine.messages import CommandResult
from engine.security import Check, Decision, Identity
from engine.security.access import ProfileListing
from engine.security.marks import AuditMark
from engine.states import Origin
from engine.storageviews import VolumeView
from engine.views import ActivityView, PairView, PoolSummary, VersionView
from server import jsonbytes, sockets, wire
from server.routes import BY_CALL, EVENTS_PATH

T = TypeVar("T")
log = logging.getLogger("flashpool.client")


def _ends_a_copy(event: Event) -> bool:
    """An event after which the copies running may be fewer: one ended, stopped on an error, or
    the stream broke (the server stopped or restarted)."""
    if isinstance(event, CopyProgress):
        return event.out_of_sync == 0
    return isinstance(event, RelationshipEnded | CopyFailed | FlashCopyChanged)


def url_problem(url: str) -> str | None:
    """Why `url` cannot name a server's TCP listener (https://host:port, TLS only), else None."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return str(exc)
    if parts.scheme != "https":
        return "the API is served over TLS only" if parts.scheme == "http" else "it names no https:// server"
    if not parts.hostname:
        return "it names no host"
    if port is None:
        return "it names no port"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "a server's URL has no path"
    return None


class ServerGone(FlashpoolError):
    """The server cannot be reached (it stopped, or never ran)."""


class RemoteSite(SiteAPI):
    def __init__(
        self,
        site: Path | None = None,
        *,
        url: str | None = None,
        token: str | None = None,
        cafile: str | None = None,
        timeout: float = 600.0,
        kind: str = wire.STREAM,
    ) -> None:
        """The server of `site` (its socket), or the one at `url` (https://host:port, with a token);
        `kind`: what its event stream says it is (wire.CONSOLE for a console: `flashpool stop`
        counts consoles apart from CLI clients waiting on a command and other readers)."""
        if (site is None) == (url is None):
            raise ValueError("name a site or a server URL")
        if url is not None and (why := url_problem(url)):
            raise FlashpoolError(f"{url!r} is not an https URL (https://host:port): {why}")
        self.mode = "server"
        self.kind = kind
        self.path = site or Path(str(url))
        self.where = f"the server of {site}" if site is not None else f"the server at {url}"  # for messages
        self._url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._cafile = cafile
        self._timeout = timeout
        self._unix: contextlib.ExitStack | None = None
        self._socket: Path | None = None  # the socket this client reaches now (a site's, not a URL's)
        self._choosing: asyncio.Lock | None = None  # made on the client's own loop
        self._retired: set[asyncio.Task[None]] = set()  # sessions left for another socket, closing later
        self._busy: dict[aiohttp.ClientSession, int] = {}  # requests in flight on each session
        self._readers: set[asyncio.Task[None]] = set()  # event streams being read, ended at close
        self._closing = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="flashpool-client", daemon=True)
        self._thread.start()
        self._session: aiohttp.ClientSession | None = None
        try:
            self._run(self._open())
            caller = self.whoami()  # open to every connected user: nothing of the site yet
        except BaseException:
            with contextlib.suppress(Exception):  # refused or unreachable: its session closed, not dumped
                self._run(self._close_session())
            self._shutdown()
            raise
        self._know(caller)
        self._demo: bool | None = None

    @property
    def demo(self) -> bool:
        """Whether the site is a demo (read from its status, which needs LIST, when first asked)."""
        if self._demo is None:
            self._demo = self.status().demo
        return self._demo

    # -- plumbing -------------------------------------------------------------------------------------
    async def _open(self) -> None:
        if self._url is None:
            self._base = "http://flashpool"
            self._socket = await asyncio.to_thread(sockets.client_socket, self.path)
        else:
            self._base = self._url.rstrip("/")
        self._session, self._unix = self._session_for(self._socket)

    def _session_for(self, path: Path | None) -> tuple[aiohttp.ClientSession, contextlib.ExitStack | None]:
        """A session on the site's socket `path` (with the name it is reached by, valid while the
        returned stack is open), or on the client's URL (path None)."""
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        if path is None:
            ctx = ssl.create_default_context(cafile=self._cafile)
            connector: aiohttp.BaseConnector = aiohttp.TCPConnector(ssl=ctx, limit=32)
            return aiohttp.ClientSession(connector=connector, timeout=timeout, headers=self._headers), None
        names = contextlib.ExitStack()
        try:
            name = names.enter_context(sockets.short_path(path))
            connector = aiohttp.UnixConnector(path=name, limit=32)
        except BaseException:
            names.close()
            raise
        return aiohttp.ClientSession(connector=connector, timeout=timeout, headers=self._headers), names

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self._thread:
            raise RuntimeError("a blocking call on the client's own loop")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def _await(self, coro: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    async def _request(self, call: str, args: dict[str, object], follow: bool = True) -> Any:
        """One call; `follow`: when the server cannot be connected to, once more where the site
        answers now (_choose_again)."""
        route = BY_CALL[call]
        path, query, body = route.url(args)
        for again in (follow, False):
            session = self._session
            if session is None:
                raise ServerGone(f"this client of {self.where} was closed")
            self._busy[session] = self._busy.get(session, 0) + 1
            try:
                async with session.request(route.method, self._base + path, params=query, json=body) as r:
                    raw = await r.read()
                break
            except aiohttp.ClientConnectorError as exc:
                # no connection was made, so no server has the request (aiohttp sends a GET again
                # on a new connection when a reused one broke: a read, which the client may repeat).
                # A stop is for the server this client reached, never for another host
                if again and call != "stop_server" and await self._choose_again(session):
                    continue
                raise ServerGone(f"{self.where} cannot be reached ({exc})") from None
            except (aiohttp.ClientConnectionError, FileNotFoundError, ConnectionError) as exc:
                raise ServerGone(f"{self.where} cannot be reached ({exc})") from None
            finally:
                if left := self._busy[session] - 1:
                    self._busy[session] = left
                else:
                    del self._busy[session]
        try:
            return wire.decode(route.returns, wire.answer(r.status, raw, jsonbytes.loads))
        except wire.Refused as exc:
            if exc.status in (401, 403, 429):
                raise NotAuthorized(str(exc)) from None
            if exc.status == 503:  # stopping: gone for this client's purposes, back when a server runs
                raise ServerGone(str(exc)) from None
            raise FlashpoolError(str(exc)) from None

    async def _choose_again(self, failed: aiohttp.ClientSession) -> bool:
        """After `failed` could not connect: whether the client now reaches another socket of the
        site (client_socket chooses again), where it chose a host of the plex because the site's
        own socket did not answer and that host has stopped since, or the site's server is back.
        A client FLASHPOOL_SYSTEM pins to one host, or one of a URL, stays where it is. The new
        session is ready before it replaces the old one, which is closed once what it has in
        flight has its answers; who the client is, and the server's pid, are read again."""
        if self._url is not None or sockets.chosen_system():
            return False
        if self._choosing is None:
            self._choosing = asyncio.Lock()
        async with self._choosing:
            if self._session is not failed:  # another request of this client chose already
                return self._session is not None
            try:
                now = await asyncio.to_thread(sockets.client_socket, self.path)
                if now == self._socket:
                    return False
                session, names = self._session_for(now)
            except OSError as exc:
                log.info("the server of %s could not be looked for again: %s", self.path, exc)
                return False
            if self._closing:  # the client was closed meanwhile
                await session.close()
                if names is not None:
                    names.close()
                return False
            log.info("the server of %s answers on %s now (no longer on %s)", self.path, now, self._socket)
            old = (failed, self._unix)
            self._session, self._unix, self._socket = session, names, now
            task = asyncio.ensure_future(self._retire(*old))
            self._retired.add(task)
            task.add_done_callback(self._retired.discard)
        with contextlib.suppress(FlashpoolError):  # gone again: the next request says so
            self._know(await self._request("whoami", {}, follow=False))
        return True

    def _know(self, caller: Caller) -> None:
        """Who the server that answers takes this client to be, and its pid."""
        self.name = caller.site
        self.pid = caller.pid
        self.who = Identity(caller.user, caller.groups, caller.via, f"server pid {caller.pid}")

    async def _retire(self, session: aiohttp.ClientSession, names: contextlib.ExitStack | None) -> None:
        """Close a session the client left once its requests in flight have their answers (a
        server that stops answers what it accepted), within the client's timeout."""
        try:
            deadline = asyncio.get_running_loop().time() + self._timeout
            while self._busy.get(session, 0) and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.1)
        finally:
            await session.close()
            if names is not None:
                names.close()

    def _get(self, call: str, **args: object) -> Any:
        return self._run(self._request(call, args))

    async def _do(self, call: str, **args: object) -> Any:
        return await self._await(self._request(call, args))

    # -- reads ----------------------------------------------------------------------------------------
    def whoami(self) -> Caller:
        result: Caller = self._get("whoami")
        return result

    def status(self) -> SiteStatus:
        result: SiteStatus = self._get("status")
        return result

    def pools(self, only: str | None = None) -> list[PoolSummary]:
        return list(self._get("pools", only=only))

    def versions(self, pool: str) -> list[VersionView]:
        return list(self._get("versions", pool=pool))

    def volumes(self) -> list[VolumeView]:
        return list(self._get("volumes"))

    def storage(self) -> StorageView:
        result: StorageView = self._get("storage")
        return result

    def relationships(self, volser: str | None = None) -> list[RelationshipInfo]:
        return list(self._get("relationships", volser=volser))

    def activity(self, limit: int = 500, pool: str | None = None) -> list[ActivityView]:
        return list(self._get("activity", limit=limit, pool=pool))

    def alerts(self, limit: int = 500) -> list[AlertView]:
        return list(self._get("alerts", limit=limit))

    def every_version(self) -> list[VersionView]:
        return list(self._get("every_version"))

    def pairs(self, pool: str, version: int) -> list[PairView]:
        return list(self._get("pairs", pool=pool, version=version))

    def band_map(self, volser: str, cells: int) -> BandMap:
        result: BandMap = self._get("band_map", volser=volser, cells=cells)
        return result

    def datasets(self, pattern: str | None = None) -> list[DataSetInfo]:
        return list(self._get("datasets", pattern=pattern))

    def dataset(self, name: str) -> DataSetInfo | None:
        result: DataSetInfo | None = self._get("dataset", name=name)
        return result

    def datasets_on(self, volsers: list[str]) -> list[DataSetInfo]:
        return list(self._get("datasets_on", volsers=volsers))

    def precheck(self, command: str) -> list[RuleCheck]:
        return list(self._get("precheck", command=command))

    def impact(self, command: str) -> Impact:
        result: Impact = self._get("impact", command=command)
        return result

    def expect(self, command: str) -> list[Expectation]:
        return list(self._get("expect", command=command))

    def verify(self, expected: list[Expectation]) -> list[Outcome]:
        return list(self._get("verify", expected=expected))

    def verify_backup(self, pool: str, version: int) -> list[Outcome]:
        return list(self._get("verify_backup", pool=pool, version=version))

    def volume_digest(self, volser: str) -> str:
        return str(self._get("volume_digest", volser=volser))

    def dataset_digest(self, name: str) -> str:
        return str(self._get("dataset_digest", name=name))

    def may(self, checks: list[Check]) -> list[Decision]:
        return list(self._get("may", checks=checks))

    def profiles(self, pattern: str | None = None) -> list[ProfileListing]:
        return list(self._get("profiles", pattern=pattern))

    def role_grants(self) -> list[RoleGrant]:
        return list(self._get("role_grants"))

    def tokens(self) -> list[TokenInfo]:
        return list(self._get("tokens"))

    def settings(self) -> list[SettingView]:
        return list(self._get("settings"))

    def audit_verify(self, against: list[AuditMark] | None = None) -> AuditReport:
        result: AuditReport = self._get("audit_verify", against=against or [])
        return result

    def audit_export(self, since: float | None = None) -> AuditExport:
        result: AuditExport = self._get("audit_export", since=since)
        return result

    def configuration(self) -> SiteConfiguration:
        result: SiteConfiguration = self._get("configuration")
        return result

    def config_preview(self, change: ConfigChange) -> ConfigPlan:
        result: ConfigPlan = self._get("config_preview", change=change)
        return result

    # -- actions --------------------------------------------------------------------------------------
    async def command(self, text: str, origin: str = Origin.CLI) -> CommandResult:
        result: CommandResult = await self._do("command", text=text, origin=origin)
        return result

    async def record(self, origin: str, command: str, rc: int, lines: list[str]) -> None:
        await self._do("record", origin=origin, command=command, rc=rc, lines=lines)

    async def damage(self, volser: str, first: int, last: int) -> CommandResult:
        result: CommandResult = await self._do("damage", volser=volser, first=first, last=last)
        return result

    async def damage_dataset(self, name: str) -> CommandResult:
        result: CommandResult = await self._do("damage_dataset", name=name)
        return result

    async def workload(self, copy_pool: str, rate: float, seconds: float, seed: int | None) -> WorkloadResult:
        result: WorkloadResult = await self._do("workload", copy_pool=copy_pool, rate=rate, seconds=seconds, seed=seed)
        return result

    async def change_security(self, change: SecurityChange) -> CommandResult:
        result: CommandResult = await self._do("change_security", change=change)
        return result

    async def change_config(self, change: ConfigChange, expect: str | None = None) -> CommandResult:
        result: CommandResult = await self._do("change_config", change=change, expect=expect)
        return result

    async def stop_server(self) -> CommandResult:
        result: CommandResult = await self._do("stop_server")
        return result

    async def acknowledge_alerts(self, numbers: list[int] | None = None) -> int:
        return int(await self._do("acknowledge_alerts", numbers=numbers))

    async def save_transcript(self, pool: str | None, name: str, text: str) -> str:
        return str(await self._do("save_transcript", pool=pool, name=name, text=text))

    # -- events ---------------------------------------------------------------------------------------
    async def events(self) -> AsyncGenerator[Event, None]:
        """The server's events; when the stream breaks (the server restarted, or this client fell
        behind) it is opened again; a FlashCopyChanged, when it breaks and when it is back, says
        everything may have changed."""
        async for event in self._events_as(self.kind):
            yield event

    async def _events_as(self, kind: str) -> AsyncGenerator[Event, None]:
        """events(), its stream named to the server as a client of `kind` (wire.CLIENT_HEADER)."""
        here = asyncio.get_running_loop()
        inbox: asyncio.Queue[Event] = asyncio.Queue()
        reader = asyncio.run_coroutine_threadsafe(self._read_events(here, inbox, kind), self._loop)
        try:
            while True:
                yield await inbox.get()
        finally:
            reader.cancel()

    async def _read_events(self, here: asyncio.AbstractEventLoop, inbox: asyncio.Queue[Event], kind: str) -> None:
        reader = asyncio.current_task()
        assert reader is not None
        self._readers.add(reader)  # a stream left unclosed is ended by close(), never left pending
        reader.add_done_callback(self._readers.discard)
        first = True
        while (session := self._session) is not None:
            streaming = False
            try:
                async with session.get(
                    self._base + EVENTS_PATH,
                    timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
                    headers={wire.CLIENT_HEADER: kind},
                ) as r:
                    if r.status != 200:
                        raise ServerGone(f"event stream refused ({r.status})")
                    if not first:
                        here.call_soon_threadsafe(inbox.put_nowait, FlashCopyChanged(time.time()))
                    first, streaming = False, True
                    async for line in r.content:
                        if line.startswith(b"data: "):
                            try:
                                event = wire.decode(Event, jsonbytes.loads(line[6:]))
                            except ValueError as exc:  # a newer server's event: skipped, the rest go on
                                log.warning("an event this client does not know was skipped: %s", exc)
                                continue
                            here.call_soon_threadsafe(inbox.put_nowait, event)
            except aiohttp.ClientConnectorError:
                await self._choose_again(session)
            except (aiohttp.ClientError, ConnectionError, FileNotFoundError, ServerGone, ValueError):
                pass
            if streaming:  # the server stopped or restarted: a reader finds out at once, not at its next poll
                here.call_soon_threadsafe(inbox.put_nowait, FlashCopyChanged(time.time()))
            await asyncio.sleep(1.0)

    async def wait_copies(self, progress: Callable[[SiteStatus], None] | None = None) -> dict[int, str]:
        """Until every background copy has completed or is parked, following the event stream: the
        status is read again as soon as a copy ends or stops (and at least every 2 s, or every
        0.25 s while a progress line is drawn), never polled in a loop."""
        loop = asyncio.get_running_loop()
        stream = self._events_as(wire.WAITING).__aiter__()  # subscribed before the first read: no end is missed
        pending: asyncio.Future[Event] = asyncio.ensure_future(stream.__anext__())
        try:
            while (parked := await self._copies_settled(progress)) is None:
                deadline = loop.time() + (0.25 if progress is not None else 2.0)
                while (left := deadline - loop.time()) > 0:
                    done, _ = await asyncio.wait({pending}, timeout=left)
                    if not done:
                        break
                    event = pending.result()
                    pending = asyncio.ensure_future(stream.__anext__())
                    if _ends_a_copy(event):
                        break
            return parked
        finally:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending  # the generator is done running before it is closed
            await stream.aclose()  # type: ignore[attr-defined]

    # -- life -----------------------------------------------------------------------------------------
    async def start(self, background: bool = True) -> None:
        """The server runs the site's background work; a client has nothing to start."""

    async def settle(self) -> None:
        """The server finishes background dumps itself."""

    async def close(self) -> None:
        await self._await(self._close_session())
        self._shutdown()

    def close_now(self) -> None:
        """From outside any loop (a CLI call's end)."""
        if self._thread.is_alive():
            self._run(self._close_session())
        self._shutdown()

    async def _close_session(self) -> None:
        self._closing = True
        for reader in list(self._readers):  # event streams its caller did not close
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        for task in list(self._retired):  # each closes its session as it ends
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _shutdown(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        if self._unix is not None:
            self._unix.close()
            self._unix = None


__all__ = ["RemoteSite", "ServerGone", "url_problem"]
