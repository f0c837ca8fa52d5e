"""A host of the plex that stands by (another drives the site) still serves its own socket,
`run/flashpool-SYSTEM.sock`: it forwards every request, as it came, to the host that drives the
site, on behalf of the client who asked (server.onbehalf), and streams the answer back, event
streams included. So any host accepts any command, and its clients see every change of the site.

A web console's session is passed on as it is: the driving host knows it (the catalog is shared).
The driving host is reached at its own socket in this site's run/ folder, which must be a socket
of this server's user, never at an address the catalog names. When it does not answer, the
client is told so (503): this host takes the site over when that host's lease runs out, and
then serves the same socket itself. When it took the request and then dropped the connection
before it answered, the client is told that the request may have run (502), never that it could
not be forwarded: no client sends it again by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy.exc import DBAPIError
from yarl import URL

from engine.messages import CommandResult, Message
from engine.plex import Membership, hosts
from engine.security import Identity
from engine.security.auditkey import AuditKey
from engine.security.identity import user_name
from engine.security.sessions import SESSION_PREFIX
from server import jsonbytes, onbehalf, sockets, wire
from server.app import MAX_BODY, PEERCRED, http_log, json_error
from server.route_paths import PATHS
from server.wire import NO_DRIVER, STANDING_BY, UNANSWERED

log = logging.getLogger("flashpool.server")
PASSED_ON = ("Content-Type", "Accept", wire.CLIENT_HEADER)  # request headers the driving host needs as they came


class StandbyProxy:
    def __init__(self, site: Path, membership: Membership, key: AuditKey) -> None:
        self.site = site
        self.membership = membership
        self.key = key
        self.app = web.Application(client_max_size=MAX_BODY)  # what the driving host takes, no more
        self.app.router.add_route("*", "/{tail:.*}", self._forward)
        self._clients: dict[Path, aiohttp.ClientSession] = {}
        self._names = contextlib.ExitStack()
        self._known: tuple[str | None, float] = (None, 0.0)  # the driving host's system name, until when

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        sock = request.transport.get_extra_info("socket") if request.transport else None
        if sock is None or sock.family != socket.AF_UNIX:
            return json_error(400, "bad-request", "a host standing by serves its Unix socket only")
        if onbehalf.HEADER in request.headers or onbehalf.SEAL in request.headers:
            return json_error(400, "bad-request", "a request forwarded once is not forwarded again")
        pid, uid, gid = PEERCRED.unpack(
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, PEERCRED.size)  # type: ignore[attr-defined,unused-ignore]
        )
        if (request.method, request.path) == PATHS["stop_server"]:  # this host, not the one it forwards to
            given = request.headers.get("Authorization", "")
            return self._stop(-1 if given.startswith(f"Bearer {SESSION_PREFIX}") else uid)  # never a web session
        body = await request.read()
        headers = {h: request.headers[h] for h in PASSED_ON if h in request.headers}
        given = request.headers.get("Authorization", "")
        if given.startswith(f"Bearer {SESSION_PREFIX}"):
            headers["Authorization"] = given  # a web console's session: the driving host knows it
        else:
            who = await asyncio.to_thread(Identity.of_uid, uid, gid, via="unix", client=f"pid {pid}")
            system = self.membership.system
            headers |= onbehalf.seal(self.key, who, system, request.method, request.raw_path, body, time.time())
        try:
            driver = await asyncio.to_thread(self._driver)
        except (DBAPIError, OSError) as exc:
            return await self._unreachable(f"the catalog cannot be read to find the driving host ({exc})")
        if driver is None:
            return await self._unreachable("no host of the plex drives the site now", NO_DRIVER)
        answer: web.StreamResponse | None = None
        target = URL(f"http://plex{request.raw_path}", encoded=True)  # as it came: the seal is on it
        try:
            client = self._client(sockets.socket_path(self.site, driver))
            async with client.request(request.method, target, data=body, headers=headers) as up:
                answer = web.StreamResponse(status=up.status, headers={"Content-Type": up.content_type})
                await answer.prepare(request)
                while chunk := await _next_chunk(up, request):
                    await answer.write(chunk)
                if request.transport is not None and not request.transport.is_closing():
                    await answer.write_eof()
                return answer
        except (aiohttp.ClientError, OSError) as exc:
            if answer is not None:  # the answer had begun: it ends here, cut short
                return answer
            if isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError) and not isinstance(
                exc, aiohttp.ClientConnectorError
            ):  # connected, so the driving host may have the request, and may have run it
                return self._unanswered(driver, exc)
            why = getattr(getattr(exc, "os_error", None), "strerror", None) or str(exc) or type(exc).__name__
            # refused, or its socket gone: it does not run (a socket of another user's, a connection
            # that hangs: it may)
            gone = isinstance(exc, aiohttp.ClientConnectorError | FileNotFoundError)
            return await self._unreachable(
                f"system {driver}, which drives the site, does not answer ({why})", NO_DRIVER if gone else STANDING_BY
            )

    def _stop(self, uid: int) -> web.Response:
        """`flashpool stop` through this host's socket stops this host: it leaves the plex in good
        order (as on SIGTERM); the driving host goes on. Only the user this host runs as (the
        site's owner) may: a host standing by reads no profiles to decide for anyone else."""
        system = self.membership.system
        if uid != os.getuid():
            return json_error(
                403,
                "not-authorized",
                f"ICH408I only the site's owner stops system {system}, which stands by (or SIGTERM to process "
                f"{os.getpid()}); the driving host's server is stopped through its own socket",
            )
        user = user_name(uid)
        text = f"SYSTEM {system} (PID {os.getpid()}), STANDING BY, IS STOPPING AT THE REQUEST OF {user}"
        log.info("FPL610I %s", text)
        asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signal.SIGTERM)
        res = CommandResult("SERVER STOP", [Message("FPL610I", text)])
        return web.Response(body=jsonbytes.dumps(wire.encode(res)), content_type="application/json")

    def _driver(self) -> str | None:
        """The live host that drives the site (it owns its volumes), if any; read again at most
        once a second (a plex's hosts change in leases, not in milliseconds)."""
        now = time.monotonic()
        if now >= self._known[1]:
            me = self.membership.system
            driver = next(
                (h.system for h in hosts(self.membership.catalog) if h.live and h.domains and h.system != me), None
            )
            self._known = (driver, now + 1.0)
        return self._known[0]

    def _client(self, path: Path) -> aiohttp.ClientSession:
        """A connection to the driving host's socket, which must be this user's: a socket of
        another user's there would receive the clients' sessions and passwords."""
        if path.lstat().st_uid != os.getuid():
            raise aiohttp.ClientError(f"{path} is not a socket of this server's user")
        client = self._clients.get(path)
        if client is None:
            name = self._names.enter_context(sockets.short_path(path))
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=5.0)  # an event stream lasts
            client = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=name), timeout=timeout)
            self._clients[path] = client
        return client

    def _unanswered(self, driver: str, exc: Exception) -> web.Response:
        """The driving host took the connection, then dropped it before it answered (it died, or
        stopped, mid-command): the command may have run. Never "cannot forward", which invites
        the same command again (a second backup, another version rolled off)."""
        text = (
            f"FPL779E SYSTEM {self.membership.system} FORWARDED THE REQUEST TO SYSTEM {driver}, WHICH DROPPED THE "
            f"CONNECTION BEFORE IT ANSWERED ({str(exc) or type(exc).__name__}): WHETHER IT RAN IS NOT KNOWN; check "
            "LIST and the activity log before issuing it again"
        )
        log.warning("%s", text)
        return json_error(502, UNANSWERED, text)

    async def _unreachable(self, why: str, code: str = STANDING_BY) -> web.Response:
        try:
            seen = await asyncio.to_thread(hosts, self.membership.catalog)
        except (DBAPIError, OSError):
            seen = []
        lapsing = [h for h in seen if h.domains and h.system != self.membership.system]
        when = (
            "; ".join(
                f"{h.system}'s lease runs {h.lease_left:.0f} s more" if h.live else f"{h.system}: {h.role.lower()}"
                for h in lapsing
            )
            if lapsing
            else "the driving host's lease runs out"
        )
        text = (
            f"FPL777E SYSTEM {self.membership.system} STANDS BY AND CANNOT FORWARD THE REQUEST: {why}; "
            f"it takes the site over when it may ({when})"
        )
        log.warning("%s", text)
        return json_error(503, code, text)

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
        self._names.close()


async def _next_chunk(up: aiohttp.ClientResponse, request: web.Request) -> bytes:
    """The answer's next bytes; b"" at its end, or within a second of its client going away (a
    quiet event stream shows no write to fail), so the driving host lets its stream go too."""
    while True:
        try:
            return await asyncio.wait_for(up.content.readany(), 1.0)
        except TimeoutError:
            if request.transport is None or request.transport.is_closing():
                return b""


async def serve(site: Path, membership: Membership, key: AuditKey, gid: int | None) -> web.AppRunner:
    """The proxy on this host's socket, until the returned runner is cleaned up."""
    proxy = StandbyProxy(site, membership, key)
    # when it takes the site over, a request still in flight (a client that sends slowly) must not
    # hold it back: the site waits, opened by nobody, while this host's lease runs
    runner = web.AppRunner(proxy.app, access_log=None, handle_signals=False, shutdown_timeout=1.0, logger=http_log)
    proxy.app.on_cleanup.append(lambda _app: proxy.close())
    await runner.setup()
    await web.SockSite(runner, sockets.bind(site, gid, membership.system)).start()
    log.info("FPL775I SYSTEM %s FORWARDS WHAT ITS CLIENTS ASK TO THE HOST THAT DRIVES THE SITE", membership.system)
    return runner


__all__ = ["StandbyProxy", "serve"]
