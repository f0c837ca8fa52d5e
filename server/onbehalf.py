"""A request forwarded by another host of the plex, on behalf of the client that asked it.

A host standing by serves its own socket and forwards every request to the host that drives the
site. The driving host must run it as the client who asked, not as the forwarding server's user:
the forwarding host names the client (user, groups, how it came, from where) in a header, and
seals the header, with the request's method, path, body and time, under the site's audit key
(the hosts share the site directory and so the key, readable by the site owner alone). The
driving host takes the header only from a peer on its socket running as its own user, only with
a seal that is right for this very request, and only for `MAX_AGE` seconds; anything else is
refused as a forgery, and audited.

What it cannot stop: someone running as the site owner's user holds the key and the site's
files, and may act as anyone (docs/SECURITY.md says so for the audit trail as well).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from engine.security import Identity
from engine.security.auditkey import AuditKey

HEADER = "X-Flashpool-On-Behalf"
SEAL = "X-Flashpool-On-Behalf-Seal"
MAX_AGE = 30.0  # seconds a sealed header is good for (hosts' clocks: the same database's)
_DOMAIN = b"flashpool on-behalf v1\n"  # never the start of an audit entry's body (64 hex digits)


class ForgedOnBehalf(Exception):
    """The header is not one a host of this plex sealed for this request now."""


def _payload(who: Identity, system: str, method: str, path: str, body: bytes, at: float) -> str:
    return json.dumps(
        {
            "user": who.user,
            "groups": list(who.groups),
            "via": who.via,
            "client": who.client,
            "system": system,
            "method": method,
            "path": path,
            "body": hashlib.sha256(body).hexdigest(),
            "at": at,
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def seal(key: AuditKey, who: Identity, system: str, method: str, path: str, body: bytes, at: float) -> dict[str, str]:
    """The headers a forwarding host adds: who asked, sealed for this request."""
    payload = _payload(who, system, method, path, body, at)
    return {HEADER: payload, SEAL: key.seal(_DOMAIN + payload.encode())}


def unseal(key: AuditKey, headers: Mapping[str, str], method: str, path: str, body: bytes, now: float) -> Identity:
    """The client a forwarded request is for; ForgedOnBehalf unless the seal is right for this
    method, path and body, and recent."""
    payload, given = headers.get(HEADER, ""), headers.get(SEAL, "")
    if not hmac.compare_digest(key.seal(_DOMAIN + payload.encode()).encode(), given.encode("utf-8", "replace")):
        raise ForgedOnBehalf("its seal is not the site's")
    try:
        fields = json.loads(payload)
        who = Identity(str(fields["user"]), tuple(str(g) for g in fields["groups"]), str(fields["via"]), "")
        system, at = str(fields["system"]), float(fields["at"])
    except (ValueError, KeyError, TypeError):
        raise ForgedOnBehalf("it cannot be read") from None
    if (fields.get("method"), fields.get("path"), fields.get("body")) != (
        method,
        path,
        hashlib.sha256(body).hexdigest(),
    ):
        raise ForgedOnBehalf("it was sealed for another request")
    if not -MAX_AGE < now - at < MAX_AGE:
        raise ForgedOnBehalf(f"it was sealed {now - at:.0f} s ago")
    return Identity(who.user, who.groups, who.via, f"{fields['client']} through {system}"[:200])


__all__ = ["HEADER", "MAX_AGE", "SEAL", "ForgedOnBehalf", "seal", "unseal"]
