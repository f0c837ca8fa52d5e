"""Browsers logged in to the front end: a cookie names one (a random id, nothing else), which
holds its user's server session and its open consoles. A browser idle past its session's idle
time loses its consoles; the server session then expires by itself, and the browser's next visit
is refused by the server (audited) and shown the login page."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from web.apps import ConsoleProcess

MAX_BROWSERS = 10_000  # remembered at most (the oldest forgotten first)


@dataclass(eq=False)
class Browser:
    user: str
    session: str  # the server's session secret: never sent to the browser
    address: str
    idle: float
    touched: float = field(default_factory=time.monotonic)  # the server was last told of a use
    consoles: set[ConsoleProcess] = field(default_factory=set)

    @property
    def deadline(self) -> float:
        """When the server's session expires unless the browser is used (monotonic)."""
        return self.touched + self.idle

    def due(self, now: float) -> bool:
        """Whether a use now should be told to the server: often enough that the session never
        expires while the browser is used, seldom enough to cost nothing."""
        return now - self.touched >= min(self.idle / 4, 30.0)


class Browsers:
    def __init__(self) -> None:
        self._by_cookie: dict[str, Browser] = {}

    def add(self, browser: Browser) -> str:
        """Remember a logged-in browser: its cookie."""
        cookie = secrets.token_urlsafe(32)
        self._by_cookie[cookie] = browser
        while len(self._by_cookie) > MAX_BROWSERS:
            self._by_cookie.pop(next(iter(self._by_cookie)))
        return cookie

    def get(self, cookie: str | None) -> Browser | None:
        return self._by_cookie.get(cookie) if cookie else None

    def forget(self, cookie: str | None) -> Browser | None:
        return self._by_cookie.pop(cookie, None) if cookie else None

    def idle(self, now: float) -> list[Browser]:
        """The browsers whose consoles outlived their session (they are kept: the next visit is
        refused by the server, with an audit entry)."""
        return [b for b in self._by_cookie.values() if b.consoles and b.deadline <= now]

    def all(self) -> list[Browser]:
        return list(self._by_cookie.values())


__all__ = ["Browser", "Browsers"]
