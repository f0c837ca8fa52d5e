"""Users' passwords for the web console's login, kept as scrypt hashes (RFC 7914, the
standard library's `hashlib.scrypt`) with a salt of their own: a stolen catalog gives no
password back, and guessing one costs 16 MiB of memory and tens of milliseconds a try. Blocking:
call from a worker thread."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlmodel import Session

from engine.catalog.models import PasswordRow
from engine.errors import FlashpoolError

#: scrypt's cost (N), block size (r) and parallelism (p): the parameters RFC 7914 and OWASP give
#: for interactive logins
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
MIN_LENGTH = 8
MAX_LENGTH = 1024  # hashing a megabyte "password" is no one's business


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=128 * n * r * 2, dklen=KEY_BYTES)


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$salt$key` (base64): everything a check needs, the parameters included, so
    stronger ones can be chosen later without locking anyone out."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, N, R, P)
    b64 = base64.b64encode
    return f"scrypt${N}${R}${P}${b64(salt).decode()}${b64(key).decode()}"


def matches(password: str, stored: str) -> bool:
    """Whether `password` is the one `stored` was made from (compared in constant time)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        wanted = base64.b64decode(key)
        got = _derive(password[:MAX_LENGTH], base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(got, wanted)


def weakness(password: str) -> str:
    """Why a new password is refused ("" when it is not)."""
    if len(password) < MIN_LENGTH:
        return f"a password has {MIN_LENGTH} characters at least"
    if len(password) > MAX_LENGTH:
        return f"a password has {MAX_LENGTH} characters at most"
    if password != password.strip() or not password.isprintable():
        return "a password is printable characters, with no blank at either end"
    return ""


def set_password(s: Session, user: str, password: str, by: str, at: float, *, expired: bool) -> None:
    """Set `user`'s password (not committed); `expired`: it must be changed at the next login."""
    if why := weakness(password):
        raise FlashpoolError(why)
    row = s.get(PasswordRow, user) or PasswordRow(user=user, hash="")
    row.hash, row.set_at, row.set_by, row.expired = hash_password(password), at, by, expired
    s.add(row)


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    ok: bool
    expired: bool = False  # right, but it must be changed before the console opens


def check_password(s: Session, user: str, password: str) -> PasswordCheck:
    """Whether `password` is `user`'s. A user without a password costs as much time as a wrong
    one, so a guesser cannot tell who has one."""
    row = s.get(PasswordRow, user)
    if row is None:
        matches(password, _DECOY)
        return PasswordCheck(False)
    if not matches(password, row.hash):
        return PasswordCheck(False)
    return PasswordCheck(True, row.expired)


_DECOY = hash_password(secrets.token_urlsafe(16))

__all__ = ["PasswordCheck", "check_password", "hash_password", "matches", "set_password", "weakness"]
