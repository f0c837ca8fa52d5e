"""The web console's logins, on the server's Unix socket only: `flashpool web` (the front end
browsers talk to) sends a browser's user name and password, or its API token, with the
browser's address; the server checks them, audits the answer with that address and origin WEB,
counts failures against the address (server.logins), and gives a session whose secret only the
console process started for that browser is told. That console then calls the API with the
session as its bearer (server.app takes it as the session's user, on the socket only).

A session lives an idle period past the front end's last "the browser was used" (POST
/v1/session) and ends at logout (POST /v1/logout). A password an administrator expired must be
changed in the login itself (`new_password`) before a session is given. A user who may not LIST
gets no session: the console would have nothing to show it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlmodel import Session

from engine.api import LocalSite
from engine.messages import Rc
from engine.security import Check, Decision, Function, Identity, passwords, sessions
from engine.security import store as security
from engine.security.audit import OPEN, UNAUTHENTICATED
from engine.security.sessions import SESSION_PREFIX
from engine.states import Origin
from server import jsonbytes, wire
from server.logins import Throttle, Unauthenticated
from server.routes import LOGIN_PATH, LOGOUT_PATH, SESSION_PATH

log = logging.getLogger("flashpool.server")

SessionChange = Callable[[Session, str, float], tuple[security.TokenCheck, str]]

#: the refusals of a token presented at login, as the TCP listener words them (server.app)
TOKEN_REFUSALS = {
    "revoked": ("FPL732E", "A REVOKED API TOKEN"),
    "expired": ("FPL733E", "AN EXPIRED API TOKEN"),
    "unknown": ("FPL731E", "AN UNKNOWN API TOKEN"),
}


@dataclass(frozen=True, slots=True)
class Login:
    """What a browser's login form sent, as the front end passes it on."""

    client: str  # the browser's address
    idle: float
    user: str = ""
    password: str = ""
    token: str = ""
    new_password: str = ""

    @classmethod
    def of(cls, body: dict[str, Any]) -> Login:
        fields = {"client": str, "idle": float, "user": str, "password": str, "token": str, "new_password": str}
        extra = set(body) - set(fields)
        if extra:
            raise wire.WireError(f"{LOGIN_PATH} takes no argument {sorted(extra)[0]!r}")
        for name in ("client", "idle"):
            if name not in body:
                raise wire.WireError(f"{name}: missing")
        values = {name: wire.decode(tp, body[name], name) for name, tp in fields.items() if name in body}
        if isinstance(values.get("user"), str):  # the one name the lockout counts and the password is checked for
            values["user"] = values["user"].strip()
        form = cls(**values)
        if not math.isfinite(form.idle):
            raise wire.WireError("idle: must be a number of seconds")
        if not form.user.isprintable() or len(form.user) > MAX_NAME:
            raise wire.WireError(f"user: at most {MAX_NAME} printable characters")
        return form


MAX_NAME = 64  # characters of a user name a login may name


class Refused(Exception):
    """A login refused for a reason that is not a failed authentication (not counted)."""

    def __init__(self, status: int, code: str, text: str) -> None:
        super().__init__(text)
        self.status, self.code = status, code


class WebLogins:
    def __init__(self, api: LocalSite, throttle: Throttle, caller: Callable[[web.Request], Awaitable[str]]) -> None:
        self.api = api
        self.site = api.engine
        self.throttle = throttle
        #: the user on the other end of the socket, as the kernel says (or, for a login another
        #: host of the plex forwarded, as its seal says): the half of a login's throttle key no
        #: body can choose
        self.caller = caller
        self._turns: dict[str, asyncio.Lock] = {}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(LOGIN_PATH, self.login)
        app.router.add_post(LOGOUT_PATH, self.logout)
        app.router.add_post(SESSION_PATH, self.keep)

    # -- the console's identity -------------------------------------------------------------------
    async def identity(self, secret: str) -> Identity:
        """The user a live session names, as the console it was given to calls the API; an ended
        or expired one is refused (audited)."""
        found, client = await asyncio.to_thread(self._check, secret)
        if found.user is None:
            await asyncio.to_thread(
                self._record, Identity(found.owner or "?", (), "web", client), "USE OF A WEB SESSION", _gone(found)
            )
            raise Unauthenticated(f"the web session is not valid ({found.why}): log in again")
        return await asyncio.to_thread(Identity.of_user, found.user, via="web", client=client)

    def _check(self, secret: str) -> tuple[security.TokenCheck, str]:
        with self.site.catalog.session() as s:
            return sessions.check(s, secret, time.time())

    # -- the routes ---------------------------------------------------------------------------------
    async def login(self, request: web.Request) -> web.Response:
        _socket_only(request)
        raw = await request.read()
        try:
            body = jsonbytes.loads_lenient(raw) if raw else {}
        except ValueError:
            raise wire.WireError("the body is not JSON") from None
        if not isinstance(body, dict):
            raise wire.WireError("the body must be a JSON object")
        form = Login.of(body)
        peer = form.client or "?"
        keys = (f"{await self.caller(request)} {peer}", f"user {form.user}" if form.user else "")
        async with self._turn(keys[0]):  # one login at a time per address: a burst cannot outrun the count
            left = max(self.throttle.locked(k, time.time()) for k in keys if k)
            if left:
                raise Unauthenticated(
                    f"too many failed logins from {peer} or for {form.user or 'this token'}: refused for "
                    f"{left:.0f} more seconds",
                    status=429,
                )
            try:
                who, decision = await asyncio.to_thread(self._authenticate, form, peer, keys)
            except Refused as exc:
                return web.json_response({"error": exc.code, "message": str(exc)}, status=exc.status)
        if not decision.allowed:
            text = f"ICH408I {decision.refusal(who)}"
            await asyncio.to_thread(self._record, who, "LOGON WEB CONSOLE", ("ICH408I",), "", decision)
            return web.json_response({"error": "not-authorized", "message": text}, status=403)
        secret = await asyncio.to_thread(self._open, who.user, peer, form.idle)
        await asyncio.to_thread(self._record, who, "LOGON WEB CONSOLE", ("FPL737I",), "", decision)
        log.info("FPL737I web console login of %s from %r", who.user, peer)
        return web.json_response({"session": secret, "user": who.user})

    def _turn(self, key: str) -> asyncio.Lock:
        """The lock that makes one address's logins wait for each other (forgotten when free)."""
        for k in [k for k, lock in self._turns.items() if not lock.locked() and k != key]:
            del self._turns[k]
        return self._turns.setdefault(key, asyncio.Lock())

    def _authenticate(self, form: Login, peer: str, keys: tuple[str, str]) -> tuple[Identity, Decision]:
        """Who the form proves to be (blocking), and whether it may LIST; a failed
        authentication is audited and counted (Unauthenticated)."""
        now = time.time()
        with self.site.catalog.session() as s:
            if form.token:
                found = security.token_user(s, form.token, now)
                if found.user is None:
                    code, what = TOKEN_REFUSALS.get(found.why, TOKEN_REFUSALS["unknown"])
                    self._failed(keys, peer, found.owner, code, f"LOGON WEB CONSOLE WITH {what}")
                user = str(found.user)
            else:
                user = form.user
                check = passwords.check_password(s, user, form.password)
                if not check.ok:
                    self._failed(keys, peer, user, "FPL735E", "LOGON WEB CONSOLE WITH A WRONG USER NAME OR PASSWORD")
                if check.expired and not form.new_password:
                    self._record(Identity(user, (), "web", peer), "LOGON WEB CONSOLE", ("FPL739E",))
                    raise Refused(403, "password-expired", "FPL739E your password has expired: choose a new one")
                if form.new_password:
                    self._change(s, user, form, peer, now)
        who = Identity.of_user(user, via="web", client=peer)
        return who, self.site.context.guard.decide(who, Check(Function.LIST))

    def _change(self, s: Session, user: str, form: Login, peer: str, now: float) -> None:
        if why := passwords.weakness(form.new_password):
            raise Refused(422, "refused", f"FPL739E the new password is refused: {why}")
        if form.new_password == form.password:
            raise Refused(422, "refused", "FPL739E the new password must not be the one it replaces")
        passwords.set_password(s, user, form.new_password, user, now, expired=False)
        sessions.end_all(s, user, now)  # any session of the old password ends
        s.commit()
        self._record(Identity(user, (), "web", peer), "ALTUSER PASSWORD(********) NOEXPIRED", ("FPL504I",), OPEN)

    def _failed(self, keys: tuple[str, str], peer: str, owner: str, code: str, text: str) -> None:
        """Audited with the browser's address (and the user named); counted against the address
        as the caller on the socket gave it, and against the user named, so that neither many
        addresses for one user nor many users from one address guess on; the failure that locks
        either out is audited as such."""
        now = time.time()
        locked = [self.throttle.failed(k, now) for k in keys if k]
        text += " - NOW LOCKED OUT" if any(locked) else ""
        log.warning("%s %s from %r%s", code, text, peer, f" (user {owner!r})" if owner else "")
        ids = (code, "FPL734E") if locked else (code,)
        self._record(Identity(owner or "?", (), "web", peer), text, ids)
        raise Unauthenticated("wrong user name or password" if code == "FPL735E" else f"{code} {text}")

    def _open(self, user: str, peer: str, idle: float) -> str:
        with self.site.catalog.session() as s:
            return sessions.create(s, user, peer, idle, time.time())

    async def logout(self, request: web.Request) -> web.Response:
        """The browser logged out: its session ends now."""
        found, client = await asyncio.to_thread(self._session, sessions.end, _bearer(request))
        who = Identity(found.user or found.owner or "?", (), "web", client)
        await asyncio.to_thread(
            self._record, who, "LOGOFF WEB CONSOLE", ("FPL738I",) if found.live else _gone(found), _verdict(found)
        )
        return web.json_response({"ended": found.live})

    async def keep(self, request: web.Request) -> web.Response:
        """The browser was used: the session lives another idle period; an ended or expired one
        is refused (audited), and the front end shows its login page."""
        found, client = await asyncio.to_thread(self._session, sessions.touch, _bearer(request))
        if not found.live:
            await asyncio.to_thread(
                self._record, Identity(found.owner or "?", (), "web", client), "USE OF A WEB SESSION", _gone(found)
            )
            raise Unauthenticated(f"the web session is not valid ({found.why}): log in again")
        return web.json_response({"user": found.user})

    def _session(self, change: SessionChange, secret: str) -> tuple[security.TokenCheck, str]:
        with self.site.catalog.session() as s:
            return change(s, secret, time.time())

    # -- the audit trail ----------------------------------------------------------------------------
    def _record(
        self,
        who: Identity,
        action: str,
        ids: tuple[str, ...],
        verdict: str = UNAUTHENTICATED,
        decision: Decision | None = None,
    ) -> None:
        """One audit entry, origin WEB: refused (UNAUTHENTICATED, or DENIED by `decision`) or
        taken (OPEN, or ALLOWED by `decision`)."""
        refused = verdict == UNAUTHENTICATED or (decision is not None and not decision.allowed)
        ctx = self.site.context
        rc = Rc.NOT_AUTHORIZED if refused else 0
        ctx.audit.record(who, Origin.WEB, action, ctx.clock(), decision, rc, ids, None, verdict)


def _verdict(found: security.TokenCheck) -> str:
    return OPEN if found.live else UNAUTHENTICATED


def _gone(found: security.TokenCheck) -> tuple[str, ...]:
    return ("FPL736E",) if found.why in ("ended", "expired") else ("FPL731E",)


def _socket_only(request: web.Request) -> None:
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is None or sock.family != socket.AF_UNIX:
        raise web.HTTPNotFound()


def _bearer(request: web.Request) -> str:
    _socket_only(request)
    header = request.headers.get("Authorization", "")
    secret = header[7:].strip() if header.startswith("Bearer ") else ""
    if not secret.startswith(SESSION_PREFIX):
        raise Unauthenticated("this route takes a web session as its bearer")
    return secret


__all__ = ["Login", "WebLogins"]
