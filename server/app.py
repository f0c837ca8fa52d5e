"""The site server's HTTP application: the route table over `LocalSite`, once per request for
the identity that asked, plus the event stream and the stop function.

Nothing a client sends can harm the server or the other clients: a body over `MAX_BODY`, JSON
that is not an object of the function's arguments, an unknown path or method, each get a JSON
error with a status and a message; a function's own refusal is 403 (not authorized) or 422 (the
site says no), with the site's message. An action is run as a task the request only waits for,
so it finishes (and is logged and audited) even when its client goes away.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from engine.api import LocalSite, NotAuthorized
from engine.errors import FlashpoolError
from engine.messages import Rc
from engine.security import Identity
from engine.security import store as security
from engine.security.audit import UNAUTHENTICATED
from engine.security.identity import user_name
from engine.security.needs import rule_of
from engine.security.sessions import SESSION_PREFIX
from engine.states import Origin
from server import jsonbytes, metrics, onbehalf, wire
from server.fanout import FanOut, TooSlow
from server.logins import Throttle, Unauthenticated
from server.routes import EVENTS_PATH, METRICS_PATH, ROUTES, Route, from_query
from server.sessions import WebLogins

log = logging.getLogger("flashpool.server")

MAX_BODY = 1 << 20  # a command, a transcript: far below a megabyte
#: what a client may name as a command's origin (AUTO, OPEN, SERVER are the site's own)
PEERCRED = struct.Struct("3i")


class _OneLine(logging.Filter):
    """aiohttp logs a request it cannot parse with its traceback: for a client's garbage, one
    line (the reason) is the whole story."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()}: {record.exc_info[1]!s}".replace("\n", " ")
            record.args = ()
        record.exc_info = None
        record.exc_text = None
        return True


#: the HTTP layer's own log (requests that never reached a handler)
http_log = logging.getLogger("flashpool.server.http")
http_log.addFilter(_OneLine())


#: how long the groups the kernel's user database gives a Unix user are believed (README)
GROUPS_TTL = 5.0


def json_error(status: int, code: str, text: str) -> web.Response:
    return web.json_response({"error": code, "message": text}, status=status)


class SiteServer:
    """The application and the state it serves: the site, the clients' event streams, the
    actions in flight."""

    def __init__(self, api: LocalSite, *, on_stop: Callable[[], None]) -> None:
        self.api = api
        self.site = api.engine
        self.fanout = FanOut(self.site.events)
        self.on_stop = on_stop
        self.in_flight: set[asyncio.Task[Any]] = set()
        self.stopping = False
        self.requests = 0
        self._identities: dict[tuple[int, int], tuple[Identity, float]] = {}
        self.throttle = Throttle()
        self.app = web.Application(client_max_size=MAX_BODY, middlewares=[self._errors])
        for route in ROUTES:
            route.rule  # noqa: B018 - a route without a declared access stops the server here (KeyError)
            self.app.router.add_route(route.method, route.path, self._handler(route))
        rule_of("events")
        self.app.router.add_get(EVENTS_PATH, self._events)
        rule_of("metrics")
        self.counts = metrics.ServerCounts()
        self.app.router.add_get(METRICS_PATH, self._metrics)
        self.logins = WebLogins(api, self.throttle, self.caller)
        self.logins.add_routes(self.app)

    def clients(self) -> int:
        """Clients attached: one per event stream (a console, a CLI client waiting on its
        command's copies, a script); a CLI call is not one."""
        return len(self.fanout.outboxes)

    def attached(self) -> tuple[int, int]:
        """Of the clients: consoles, and CLI clients waiting on a command (as each names itself)."""
        kinds = [box.kind for box in self.fanout.outboxes]
        return kinds.count(wire.CONSOLE), kinds.count(wire.WAITING)

    # -- identity -----------------------------------------------------------------------------------
    async def identity(self, request: web.Request) -> Identity:
        """Who asks: the kernel's word on the Unix socket (its groups read again after
        GROUPS_TTL seconds, so a user removed from a group loses what the group gave it) unless
        a web console names its session there (server.sessions), a live token's user over TCP.
        A failed authentication is audited and counted against the client's address
        (server.logins)."""
        sock = request.transport.get_extra_info("socket") if request.transport else None
        if sock is not None and sock.family == socket.AF_UNIX:
            header = request.headers.get("Authorization", "")
            if header.startswith(f"Bearer {SESSION_PREFIX}"):
                return await self.logins.identity(header[7:].strip())
            pid, uid, gid = PEERCRED.unpack(
                sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, PEERCRED.size)  # type: ignore[attr-defined,unused-ignore]
            )
            if onbehalf.HEADER in request.headers or onbehalf.SEAL in request.headers:
                return await self._forwarded(request, uid, pid)
            now = time.monotonic()
            known = self._identities.get((uid, gid))
            if known is None or known[1] <= now:
                base = await asyncio.to_thread(Identity.of_uid, uid, gid, via="unix", client="")
                if len(self._identities) > 4096:
                    self._identities.clear()
                self._identities[(uid, gid)] = (base, now + GROUPS_TTL)
            else:
                base = known[0]
            return Identity(base.user, base.groups, "unix", f"pid {pid}")
        peer = request.remote or "?"
        now = time.time()
        left = self.throttle.locked(peer, now)
        if left:
            raise Unauthenticated(
                f"too many failed authentications from {peer}: refused for {left:.0f} more seconds", 429
            )
        header = request.headers.get("Authorization", "")
        secret = header[7:].strip() if header.startswith("Bearer ") else ""
        if not secret:
            await self._refused_login(peer, "", "FPL730E", "NO API TOKEN")
            raise Unauthenticated("this port needs an API token: Authorization: Bearer fpl_...")
        found = await asyncio.to_thread(self._token_user, secret, now)
        if found.user is None:
            code, text = {
                "revoked": ("FPL732E", "A REVOKED API TOKEN"),
                "expired": ("FPL733E", "AN EXPIRED API TOKEN"),
            }.get(found.why, ("FPL731E", "AN UNKNOWN API TOKEN"))
            await self._refused_login(peer, found.owner, code, text)
            raise Unauthenticated(f"the API token is not valid ({found.why})")
        return await asyncio.to_thread(Identity.of_user, found.user, via="token", client=peer)

    async def caller(self, request: web.Request) -> str:
        """The user a web console's front end runs as, as the kernel says on the socket, or as the
        seal of the host of the plex that forwarded its login says (never the forwarding host's
        own user): what a login's throttle counts against besides the browser's address."""
        sock = request.transport.get_extra_info("socket") if request.transport else None
        if sock is None:
            return "caller ?"
        pid, uid, _ = PEERCRED.unpack(
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, PEERCRED.size)  # type: ignore[attr-defined,unused-ignore]
        )
        if onbehalf.HEADER in request.headers or onbehalf.SEAL in request.headers:
            return f"caller {(await self._forwarded(request, uid, pid)).user}"
        return f"caller {await asyncio.to_thread(user_name, uid)}"

    async def _forwarded(self, request: web.Request, uid: int, pid: int) -> Identity:
        """A request another host of the plex forwarded for its client (server.onbehalf): taken
        only from a peer running as this server's user, with a seal right for this request."""
        try:
            if uid != os.getuid():
                raise onbehalf.ForgedOnBehalf(f"it came from a process of another user (uid {uid})")
            body = await request.read()
            key = self.site.context.audit.key
            return onbehalf.unseal(key, request.headers, request.method, request.raw_path, body, time.time())
        except onbehalf.ForgedOnBehalf as exc:
            await self._refused_login(f"pid {pid}", "", "FPL776E", f"A FORGED ON-BEHALF HEADER ({exc})".upper())
            raise Unauthenticated(f"FPL776E the request names a client on another host's behalf, but {exc}") from None

    def _api(self, who: Identity) -> LocalSite:
        """The site as `who` asks it: a web console's reads and commands are audited as WEB."""
        return self.api.as_user(who, Origin.WEB if who.via == "web" else None)

    def _token_user(self, secret: str, now: float) -> security.TokenCheck:
        with self.site.catalog.session() as s:
            return security.token_user(s, secret, now)

    async def _refused_login(self, peer: str, owner: str, code: str, what: str) -> None:
        """Audited with the address (and the user an expired or revoked token was made for);
        the failure that locks the address out is audited as such, the refusals after it are
        answered without a look at the catalog."""
        locked = self.throttle.failed(peer, time.time())
        who = Identity(owner or "?", (), "token", peer)
        text = f"AUTHENTICATE WITH {what}" + (" - THE ADDRESS IS NOW LOCKED OUT" if locked else "")
        log.warning("%s %s from %s%s", code, text, peer, f" (user {owner})" if owner else "")
        ctx = self.site.context
        ids = (code, "FPL734E") if locked else (code,)
        await asyncio.to_thread(
            ctx.audit.record, who, "API", text, ctx.clock(), None, Rc.NOT_AUTHORIZED, ids, None, UNAUTHENTICATED
        )

    # -- middleware ---------------------------------------------------------------------------------
    @web.middleware
    async def _errors(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self.requests += 1
        started = time.perf_counter()
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            reason = {
                404: f"there is no {request.path} in this API (see docs/openapi.json)",
                405: f"{request.path} does not take {request.method}",
                413: f"the request body is over {MAX_BODY} bytes",
            }.get(exc.status, exc.reason)
            return json_error(exc.status, exc.reason.lower().replace(" ", "-"), reason)
        except Unauthenticated as exc:
            return json_error(exc.status, "unauthenticated" if exc.status == 401 else "locked-out", str(exc))
        except wire.WireError as exc:
            return json_error(400, "bad-request", f"the request does not fit the API: {exc}")
        except NotAuthorized as exc:
            return json_error(403, "not-authorized", exc.text)
        except FlashpoolError as exc:
            return json_error(422, "refused", str(exc))
        except (ValueError, OSError) as exc:
            return json_error(422, "refused", str(exc))
        except Exception as exc:
            log.error("%s %s failed", request.method, request.path, exc_info=True)
            return json_error(500, "internal", f"the server could not do this ({type(exc).__name__}: {exc})")
        finally:
            if request.path != EVENTS_PATH:  # a stream lasts as long as its client: no latency
                route = request.match_info.route.resource
                self.counts.requests.labels(
                    method=request.method, route=route.canonical if route is not None else "unknown"
                ).observe(time.perf_counter() - started)

    # -- the route table ----------------------------------------------------------------------------
    def _handler(self, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            # the status too: a console told "live" by a server that is stopping would show it so
            if self.stopping and (route.action or route.call == "status"):
                return json_error(503, "stopping", "the server is stopping and takes no more commands")
            who = await self.identity(request)
            web_console = who.via == "web"  # the session says where it comes from, not the client
            api = self._api(who)
            try:
                args = await self._arguments(route, request)
                if route.call in ("command", "record"):
                    args["origin"] = Origin.WEB if web_console else _origin(args.get("origin"))
            except wire.WireError as exc:  # refused before any profile was asked: audited as such
                await asyncio.to_thread(api.reject, f"{route.method} {route.path}", str(exc))
                raise
            fn = getattr(api, route.call)
            if route.action:
                task = asyncio.ensure_future(fn(**args))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)
                result = await asyncio.shield(task)  # the client may go: the task goes on
                if route.call == "command":
                    self.counts.command(str(args["text"]), result.rc)
                if route.call == "stop_server" and result.rc == 0:
                    asyncio.get_running_loop().call_soon(self.on_stop)
            else:  # read, encoded and written in the thread: 20,000 rows are not the loop's work
                body = await asyncio.to_thread(lambda: jsonbytes.dumps(wire.encode(fn(**args))))
                return web.Response(body=body, content_type="application/json")
            return web.Response(body=jsonbytes.dumps(wire.encode(result)), content_type="application/json")

        return handle

    async def _arguments(self, route: Route, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = {}
        body: dict[str, Any] = {}
        if route.method == "POST":
            raw = await request.read()
            try:
                data = jsonbytes.loads_lenient(raw) if raw else {}
            except ValueError:
                raise wire.WireError("the body is not JSON") from None
            if not isinstance(data, dict):
                raise wire.WireError("the body must be a JSON object of the function's arguments")
            body = data
        known = {p.name for p in route.params}
        extra = (set(body) | set(request.query)) - known
        if extra:
            raise wire.WireError(f"{route.path} takes no argument {sorted(extra)[0]!r}")
        for p in route.params:
            where = p.name
            if p.name in route.in_path:
                args[p.name] = from_query(p.type, request.match_info[p.name], where)  # text, as a query
            elif route.method == "GET" and p.name in request.query:
                args[p.name] = from_query(p.type, request.query[p.name], where)
            elif p.name in body:
                args[p.name] = wire.decode(p.type, body[p.name], where)
            elif p.required:
                raise wire.WireError(f"{where}: missing")
        return args

    # -- events ---------------------------------------------------------------------------------------
    async def _events(self, request: web.Request) -> web.StreamResponse:
        """The engine's events this caller may be told of: its LIST profiles are asked again at
        most every second, so a copy pool it may not list (or a right it lost) stays out."""
        who = await self.identity(request)
        api = self._api(who)
        seen = await asyncio.to_thread(api.check_read)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await resp.prepare(request)
        kind = request.headers.get(wire.CLIENT_HEADER, "")
        box = self.fanout.open(kind if kind in (wire.CONSOLE, wire.WAITING) else wire.STREAM)
        log.info("event stream opened for %s (%s, %s)", who.user, who.client or request.remote, box.kind)
        asked = time.monotonic()
        try:
            await resp.write(b": flashpool events\n\n")
            async for batch in box.batches(quiet=1.0):
                if request.transport is None or request.transport.is_closing():
                    break  # the client went away: its stream ends within a second, quiet or not
                if not batch:
                    continue
                if time.monotonic() - asked >= 1.0:
                    seen = await asyncio.to_thread(api.still_sees)
                    asked = time.monotonic()
                shown = [e for e in batch if seen.event(e)]
                if not shown:
                    continue
                chunk = b"".join(b"data: " + jsonbytes.dumps(wire.encode(e)) + b"\n\n" for e in shown)
                await asyncio.wait_for(resp.write(chunk), timeout=30)
        except TooSlow as exc:
            log.warning("event stream of %s dropped: %s", who.user, exc)
        except NotAuthorized as exc:
            log.warning("event stream of %s ended: %s", who.user, exc)
        except (ConnectionError, TimeoutError, asyncio.CancelledError):
            pass
        finally:
            self.fanout.close(box)
        return resp

    # -- metrics --------------------------------------------------------------------------------------
    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        """The site for Prometheus, as this caller may see it (server/metrics.py)."""
        who = await self.identity(request)
        api = self._api(who)
        seen = await asyncio.to_thread(api.check_metrics)
        body = await asyncio.to_thread(metrics.render, api, self.counts, seen)
        return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})

    async def drain(self, timeout: float = 60.0) -> None:
        """Stop taking commands; let the accepted ones finish."""
        self.stopping = True
        if self.in_flight:
            started = time.monotonic()
            await asyncio.wait(set(self.in_flight), timeout=timeout)
            log.info("commands in flight finished in %.1f s", time.monotonic() - started)
        self.fanout.shutdown()


def _origin(value: object) -> str:
    """What a client says it is (a script that says nothing is API); the site's own origins
    (AUTO, ALERT, DEMO) are never a client's to claim."""
    clients = Origin.of_clients()
    origin = str(value or Origin.API).upper()
    if origin not in clients:
        raise wire.WireError(f"origin: must be one of {', '.join(sorted(clients))}")
    return origin


__all__ = ["MAX_BODY", "SiteServer", "http_log"]
