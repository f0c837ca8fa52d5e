"""The front end browsers talk to: the login page, the console page and its web socket, each
console a process of its own running as the logged-in user (web.apps), and the browsers'
cookies (web.browsers). It knows no password and decides nothing: the site's server checks
every login, audits it and gives the session (server/sessions.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import textual_serve
from aiohttp import web
from textual_serve.download_manager import DownloadManager

from web import pages
from web.apps import ConsoleProcess, cells, pump
from web.browsers import Browser, Browsers
from web.serverlink import Answer, ServerLink

log = logging.getLogger("flashpool.web")

COOKIE = "flashpool_web"
MAX_CONSOLES = 8  # console processes a logged-in browser may have at once (each is a Python process)
STATIC = Path(textual_serve.__file__).parent / "static"
#: security headers of every page: no framing, no sniffing, nothing fetched from elsewhere
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # not no-referrer: its POSTs would carry `Origin: null`
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}


class FrontEnd:
    def __init__(self, site: Path, *, idle: float, secure: bool) -> None:
        self.server = ServerLink(site)
        self.site = site
        self.idle = idle
        self.secure = secure  # served over TLS: the cookie is Secure
        self.browsers = Browsers()
        self.downloads = DownloadManager()
        self.app = web.Application(middlewares=[self._headers])
        self.app.add_routes(
            [
                web.get("/", self.index),
                web.post("/login", self.login),
                web.post("/logout", self.logout),
                web.get("/ws", self.socket),
                web.static("/static", STATIC),
            ]
        )
        self.app.on_startup.append(self._start)
        self.app.on_shutdown.append(self._stop)

    @web.middleware
    async def _headers(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Only this page's own origin may post a form or open a console (a page of another port
        or subdomain is "same site" to a cookie, not the same origin); every answer, raised ones
        too, carries the security headers."""
        headers = HEADERS | ({"Strict-Transport-Security": "max-age=31536000"} if self.secure else {})
        try:
            origin = request.headers.get("Origin")
            if (request.method == "POST" or request.path == "/ws") and origin not in (None, _own_origin(request)):
                raise web.HTTPForbidden(text="a request from another origin")
            resp = await handler(request)
        except web.HTTPException as exc:
            exc.headers.update(headers)
            raise
        if not resp.prepared:
            resp.headers.update(headers)
        return resp

    # -- pages ----------------------------------------------------------------------------------------
    async def index(self, request: web.Request) -> web.Response:
        """The console for a logged-in browser whose session the server still takes; else the
        login page (a session that expired is refused by the server, which audits it)."""
        browser = self.browsers.get(request.cookies.get(COOKIE))
        if browser is None:
            return _html(pages.login())
        answer = await self.server.keep(browser.session)
        if answer.status == 503:  # the server is gone for now: nothing shown as live, no logout
            return _html(pages.unreachable(), 503)
        if not answer.ok:
            await self._ended(request, browser)
            resp = _html(pages.login("Your session has ended: log in again."))
            resp.del_cookie(COOKIE)
            return resp
        browser.touched = time.monotonic()
        return _html(pages.console(browser.user))

    async def login(self, request: web.Request) -> web.Response:
        try:
            form = await request.post()
        except ValueError:  # a form that does not parse
            return _html(pages.login("The login form did not arrive whole: try again."), 400)
        user, password, token = (str(form.get(k, "")) for k in ("user", "password", "token"))
        new, again = str(form.get("new_password", "")), str(form.get("again", ""))
        if new and new != again:
            return _html(pages.new_password(user, "The two new passwords differ."), 400)
        address = request.remote or "?"
        if token:
            answer = await self.server.login(address, self.idle, token=token)
        else:
            answer = await self.server.login(address, self.idle, user=user, password=password, new_password=new)
        if not answer.ok:
            return _refused(answer, user, expired_form=bool(new))
        session, who = str(answer.body["session"]), str(answer.body["user"])
        cookie = self.browsers.add(Browser(who, session, address, self.idle))
        resp = web.HTTPSeeOther("/")
        resp.set_cookie(COOKIE, cookie, httponly=True, samesite="Strict", secure=self.secure, path="/")
        raise resp

    async def logout(self, request: web.Request) -> web.Response:
        browser = self.browsers.forget(request.cookies.get(COOKIE))
        if browser is not None:
            await self._close(browser)
            await self.server.logout(browser.session)
        resp = _html(pages.login("You have logged out."))
        resp.del_cookie(COOKIE)
        return resp

    # -- the console ----------------------------------------------------------------------------------
    async def socket(self, request: web.Request) -> web.StreamResponse:
        """A console for this browser's tab, as its user; it ends when the tab closes."""
        browser = self.browsers.get(request.cookies.get(COOKIE))
        if browser is None or browser.deadline <= time.monotonic():
            raise web.HTTPUnauthorized(text="log in first")
        if len(browser.consoles) >= MAX_CONSOLES:
            raise web.HTTPTooManyRequests(text=f"at most {MAX_CONSOLES} consoles a browser: close a tab")
        answer = await self.server.keep(browser.session)  # no console for a session the server ended
        if answer.status == 503:
            raise web.HTTPServiceUnavailable(text="the site's server cannot be reached: try again in a moment")
        if not answer.ok:
            await self._ended(request, browser)
            raise web.HTTPUnauthorized(text="your session has ended: log in again")
        sock = web.WebSocketResponse(heartbeat=15)
        await sock.prepare(request)
        console = ConsoleProcess(sock, self.site, browser.session, self.downloads)
        browser.consoles.add(console)
        log.info("a console for %s (%s) opened", browser.user, browser.address)

        async def used() -> None:
            now = time.monotonic()
            if browser.due(now):
                browser.touched = now
                if not (await self.server.keep(browser.session)).ok:
                    await sock.close()

        try:
            await console.start(_size(request, "width", 80), _size(request, "height", 24))
            await pump(sock, console, used)
        finally:
            browser.consoles.discard(console)
            await console.end()
            log.info("a console for %s (%s) ended", browser.user, browser.address)
        return sock

    async def _ended(self, request: web.Request, browser: Browser) -> None:
        """The server no longer takes this browser's session: it is forgotten, its consoles end."""
        self.browsers.forget(request.cookies.get(COOKIE))
        await self._close(browser)

    async def _close(self, browser: Browser) -> None:
        for console in list(browser.consoles):
            await console.end()

    async def _sweep(self) -> None:
        """End the consoles of browsers idle past their session's idle time."""
        while True:
            await asyncio.sleep(min(self.idle / 4, 5.0))
            for browser in self.browsers.idle(time.monotonic()):
                log.info("the session of %s (%s) is idle: its consoles end", browser.user, browser.address)
                await self._close(browser)

    async def _start(self, app: web.Application) -> None:
        self._sweeper = asyncio.create_task(self._sweep())

    async def _stop(self, app: web.Application) -> None:
        self._sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sweeper
        await asyncio.gather(*(self._close(b) for b in self.browsers.all()))


def _own_origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, content_type="text/html", status=status)


def _refused(answer: Answer, user: str, *, expired_form: bool) -> web.Response:
    """The login page again, saying why in words (the server audited the refusal)."""
    if answer.body.get("error") == "password-expired" or (expired_form and answer.status == 422):
        return _html(pages.new_password(user, "" if answer.status == 403 else answer.message), answer.status)
    text = {
        401: "Wrong user name, password or token.",
        429: "Too many failed logins from your address: try again in a minute.",
        503: "The site's server cannot be reached: try again in a moment.",  # not where its socket is
    }.get(answer.status, answer.message)
    return _html(pages.login(text, user), answer.status)


def _size(request: web.Request, name: str, default: int) -> int:
    return cells(request.query.get(name), default)


async def serve(site: Path, host: str, port: int, *, idle: float, tls: ssl.SSLContext | None) -> None:
    """Serve until SIGINT or SIGTERM, then end every console."""
    front = FrontEnd(site, idle=idle, secure=tls is not None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(front.app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, ssl_context=tls).start()
        log.info("the console is served on %s://%s:%d", "https" if tls else "http", host, port)
        await stop.wait()
    finally:
        await runner.cleanup()


__all__ = ["COOKIE", "FrontEnd", "serve"]
