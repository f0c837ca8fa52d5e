"""A host of the plex that stands by (another drives the site) still serves its own socket,
`run/flashpool-SYSTEM.sock`: it forwards every request, as it came, to the host that drives the
site, on behalf of the client who asked (server.onbehalf), and streams the answer back, event
streams included. So any host accepts any command, and its clients see every change of the site.

A web console's session is passed on as it is: the driving host knows it (the catalog is shared).
When the driving host does not answer, the client is told so (503): this host takes the site
over when that host's lease runs out, and then serves the same socket itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from engine.plex import Membership, hosts
from engine.security import Identity
from engine.security.auditkey import AuditKey
from engine.security.sessions import SESSION_PREFIX
from server import onbehalf, sockets
from server.app import PEERCRED, http_log, json_error

log = logging.getLogger("flashpool.server")
PASSED_ON = ("Content-Type", "Accept")  # request headers the driving host needs as they came


class StandbyProxy:
    def __init__(self, membership: Membership, key: AuditKey) -> None:
        self.membership = membership
        self.key = key
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/{tail:.*}", self._forward)
        self._clients: dict[str, aiohttp.ClientSession] = {}
        self._names = contextlib.ExitStack()
        self._known: tuple[str | None, float] = (None, 0.0)  # the driving host's socket, until when

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        sock = request.transport.get_extra_info("socket") if request.transport else None
        if sock is None or sock.family != socket.AF_UNIX:
            return json_error(400, "bad-request", "a host standing by serves its Unix socket only")
        pid, uid, gid = PEERCRED.unpack(
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, PEERCRED.size)  # type: ignore[attr-defined,unused-ignore]
        )
        body = await request.read()
        headers = {h: request.headers[h] for h in PASSED_ON if h in request.headers}
        given = request.headers.get("Authorization", "")
        if given.startswith(f"Bearer {SESSION_PREFIX}"):
            headers["Authorization"] = given  # a web console's session: the driving host knows it
        else:
            who = await asyncio.to_thread(Identity.of_uid, uid, gid, via="unix", client=f"pid {pid}")
            system = self.membership.system
            headers |= onbehalf.seal(self.key, who, system, request.method, request.path_qs, body, time.time())
        driver = await asyncio.to_thread(self._driver)
        if driver is None:
            return self._unreachable("no host of the plex drives the site now")
        try:
            client = self._client(driver)
            async with client.request(
                request.method, f"http://plex{request.path_qs}", data=body, headers=headers
            ) as up:
                answer = web.StreamResponse(status=up.status, headers={"Content-Type": up.content_type})
                await answer.prepare(request)
                async for chunk in up.content.iter_any():
                    await answer.write(chunk)
                await answer.write_eof()
                return answer
        except (aiohttp.ClientError, OSError) as exc:
            return self._unreachable(f"{driver} does not answer ({exc})")

    def _driver(self) -> str | None:
        """The socket of the live host that drives the site (it owns its volumes), if any; read
        again at most once a second (a plex's hosts change in leases, not in milliseconds)."""
        now = time.monotonic()
        if now >= self._known[1]:
            found = hosts(self.membership.catalog)
            driver = next(
                (h.address for h in found if h.live and h.domains and h.system != self.membership.system), None
            )
            self._known = (driver, now + 1.0)
        return self._known[0]

    def _client(self, address: str) -> aiohttp.ClientSession:
        if address.startswith("https://"):
            raise aiohttp.ClientError("the driving host serves TCP only with tokens; forwarding goes to its socket")
        client = self._clients.get(address)
        if client is None:
            name = self._names.enter_context(sockets.short_path(Path(address)))
            client = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=name))
            self._clients[address] = client
        return client

    def _unreachable(self, why: str) -> web.Response:
        text = (
            f"FPL777E SYSTEM {self.membership.system} STANDS BY AND CANNOT FORWARD THE REQUEST: {why}; "
            "it takes the site over when the driving host's lease runs out"
        )
        log.warning("%s", text)
        return json_error(503, "standing-by", text)

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
        self._names.close()


async def serve(site: Path, membership: Membership, key: AuditKey, gid: int | None) -> web.AppRunner:
    """The proxy on this host's socket, until the returned runner is cleaned up."""
    proxy = StandbyProxy(membership, key)
    runner = web.AppRunner(proxy.app, access_log=None, handle_signals=False, logger=http_log)
    proxy.app.on_cleanup.append(lambda _app: proxy.close())
    await runner.setup()
    await web.SockSite(runner, sockets.bind(site, gid, membership.system)).start()
    log.info("FPL775I SYSTEM %s FORWARDS WHAT ITS CLIENTS ASK TO THE HOST THAT DRIVES THE SITE", membership.system)
    return runner


__all__ = ["StandbyProxy", "serve"]
