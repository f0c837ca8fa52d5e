"""Failed authentications, counted per client address as a storage controller's console does:
after `LIMIT` failures within `WINDOW` seconds an address is refused for `LOCKOUT` seconds
without its token even being looked at. A success does not clear what went before (guessing
between two valid logins gains nothing)."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

LIMIT = 5
WINDOW = 60.0
LOCKOUT = 60.0
MAX_ADDRESSES = 10_000  # addresses remembered at most (the oldest forgotten first)


class Unauthenticated(Exception):
    """No identity: a TCP request without a live token, a web console's wrong login or dead
    session, or an address locked out (429)."""

    def __init__(self, text: str, status: int = 401) -> None:
        super().__init__(text)
        self.status = status


@dataclass
class _Record:
    failures: collections.deque[float] = field(default_factory=collections.deque)
    locked_until: float = 0.0


class Throttle:
    def __init__(self, limit: int = LIMIT, window: float = WINDOW, lockout: float = LOCKOUT) -> None:
        self.limit = limit
        self.window = window
        self.lockout = lockout
        self._by_address: collections.OrderedDict[str, _Record] = collections.OrderedDict()

    def locked(self, address: str, now: float) -> float:
        """Seconds `address` is still refused for (0: it may try)."""
        rec = self._by_address.get(address)
        return max(0.0, rec.locked_until - now) if rec is not None else 0.0

    def failed(self, address: str, now: float) -> bool:
        """Count a failure; True when it locks the address out."""
        rec = self._by_address.pop(address, None) or _Record()
        self._by_address[address] = rec  # newest last
        while len(self._by_address) > MAX_ADDRESSES:
            self._by_address.popitem(last=False)
        rec.failures.append(now)
        while rec.failures and rec.failures[0] <= now - self.window:
            rec.failures.popleft()
        if len(rec.failures) >= self.limit:
            rec.locked_until = now + self.lockout
            rec.failures.clear()
            return True
        return False


__all__ = ["LIMIT", "LOCKOUT", "WINDOW", "Throttle", "Unauthenticated"]
