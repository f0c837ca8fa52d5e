"""Web console sessions: what the server gives a browser's login (engine.security.passwords or
an API token), for the console process the web front end starts for it. Only the SHA-256 of a
session's secret is kept, as for API tokens; a session lives `idle` seconds past the last time
its front end said the browser was used, and ends at logout. It is accepted on the server's Unix
socket only (server.app), where the front end runs. Blocking: call from a worker thread."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets

from sqlmodel import Session, select

from engine.catalog.models import WebSessionRow
from engine.security.store import TokenCheck

SESSION_PREFIX = "fps_"
MIN_IDLE, MAX_IDLE = 1.0, 12 * 3600.0  # seconds a session may be idle: what a login may ask for
MAX_AGE = 24 * 3600.0  # a session ends a day after its login, however busy: then a new login


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(s: Session, user: str, client: str, idle: float, at: float) -> str:
    """A new session for `user` (committed): its secret, which only its console is given."""
    if not math.isfinite(idle):
        raise ValueError(f"a session's idle time must be a number of seconds, not {idle!r}")
    idle = min(max(idle, MIN_IDLE), MAX_IDLE)
    secret = SESSION_PREFIX + secrets.token_urlsafe(32)
    s.add(
        WebSessionRow(user=user, digest=_digest(secret), client=client, created_at=at, idle=idle, expires_at=at + idle)
    )
    s.commit()
    return secret


def _found(s: Session, secret: str, now: float) -> tuple[TokenCheck, str, WebSessionRow | None]:
    row = None
    if secret.startswith(SESSION_PREFIX):
        digest = _digest(secret)
        row = s.exec(select(WebSessionRow).where(WebSessionRow.digest == digest)).first()
        if row is not None and not hmac.compare_digest(row.digest, digest):
            row = None
    if row is None:
        return TokenCheck(None, "unknown"), "", None
    if row.ended_at is not None:
        return TokenCheck(None, "ended", row.user), row.client, None
    if row.expires_at <= now or row.created_at + MAX_AGE <= now:
        return TokenCheck(None, "expired", row.user), row.client, None
    return TokenCheck(row.user), row.client, row


def check(s: Session, secret: str, now: float) -> tuple[TokenCheck, str]:
    """The user a live session names, or why it is not live (unknown, ended, expired); and the
    browser's address it was opened from."""
    found, client, _ = _found(s, secret, now)
    return found, client


def touch(s: Session, secret: str, now: float) -> tuple[TokenCheck, str]:
    """The browser was used: a live session lives another idle period (committed)."""
    found, client, row = _found(s, secret, now)
    if row is not None:
        row.expires_at = now + row.idle
        s.add(row)
        s.commit()
    return found, client


def end(s: Session, secret: str, now: float) -> tuple[TokenCheck, str]:
    """Logout: a live session ends now (committed)."""
    found, client, row = _found(s, secret, now)
    if row is not None:
        row.ended_at = now
        s.add(row)
        s.commit()
    return found, client


def end_all(s: Session, user: str, now: float) -> int:
    """Every live session of `user` ends now, in the caller's transaction: its password changed,
    or an API token of it was revoked; a new login is asked for. How many ended."""
    rows = s.exec(select(WebSessionRow).where(WebSessionRow.user == user, WebSessionRow.ended_at == None)).all()  # noqa: E711 - SQL's IS NULL
    for row in rows:
        row.ended_at = now
        s.add(row)
    return len(rows)


__all__ = ["MAX_AGE", "MAX_IDLE", "MIN_IDLE", "SESSION_PREFIX", "check", "create", "end", "end_all", "touch"]
