"""Profiles, access lists, role grants and API tokens in the catalog (blocking: call from a
worker thread). Only the security administration functions (engine.security.admin) and the site's
creation write here. A token made before tokens expired (revision 0006) never expires: `security
token list` shows it, and the administrator revokes it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlmodel import Session, col, select

from engine.catalog.models import PermitRow, ProfileRow, RoleGrantRow, TokenRow
from engine.security.access import Access, Kind, Permit, Profile, ProfileListing
from engine.security.functions import Role

TOKEN_PREFIX = "fpl_"


def profiles(s: Session) -> list[Profile]:
    """Every profile with its access list; a role grant adds its entries to the function
    profiles it names (which exist as soon as a role names them, with UACC NONE)."""
    rows = {r.name: r for r in s.exec(select(ProfileRow))}
    permits: dict[str, list[Permit]] = {}
    for p in s.exec(select(PermitRow)):
        permits.setdefault(p.profile, []).append(Permit(Kind(p.kind), p.name, Access[p.access]))
    for g in s.exec(select(RoleGrantRow)):
        for function, access in Role(g.role).grants:
            permits.setdefault(function.value, []).append(Permit(Kind(g.kind), g.name, access, g.role))
    names = set(rows) | {n for n in permits if n not in rows and any(p.role for p in permits[n])}
    return [
        Profile(n, Access[rows[n].uacc] if n in rows else Access.NONE, tuple(permits.get(n, ()))) for n in sorted(names)
    ]


def listing(s: Session, pattern: str | None = None) -> list[ProfileListing]:
    from engine.security.access import matches

    rows = {r.name: r for r in s.exec(select(ProfileRow))}
    out = []
    for p in profiles(s):
        if pattern and not (matches(pattern, p.name) or pattern == p.name):
            continue
        row = rows.get(p.name)
        out.append(ProfileListing(p.name, p.uacc, row.owner if row else "", row is not None, p.permits))
    return out


def define(s: Session, name: str, uacc: Access, owner: str, at: float) -> bool:
    """False: it is defined already (RALTER changes its UACC)."""
    if s.get(ProfileRow, name) is not None:
        return False
    s.add(ProfileRow(name=name, uacc=uacc.name, owner=owner, created_at=at))
    return True


def alter(s: Session, name: str, uacc: Access) -> bool:
    row = s.get(ProfileRow, name)
    if row is None:
        return False
    row.uacc = uacc.name
    s.add(row)
    return True


def delete(s: Session, name: str) -> bool:
    row = s.get(ProfileRow, name)
    if row is None:
        return False
    for p in s.exec(select(PermitRow).where(PermitRow.profile == name)):
        s.delete(p)
    s.delete(row)
    return True


def permit(s: Session, profile: str, kind: Kind, name: str, access: Access) -> bool:
    """False: the profile is not defined."""
    if s.get(ProfileRow, profile) is None:
        return False
    row = s.get(PermitRow, (profile, kind.value, name))
    if row is None:
        s.add(PermitRow(profile=profile, kind=kind.value, name=name, access=access.name))
    else:
        row.access = access.name
        s.add(row)
    return True


def remove(s: Session, profile: str, kind: Kind, name: str) -> bool:
    row = s.get(PermitRow, (profile, kind.value, name))
    if row is None:
        return False
    s.delete(row)
    return True


def grant(s: Session, role: Role, kind: Kind, name: str, by: str, at: float) -> bool:
    if s.get(RoleGrantRow, (role.value, kind.value, name)) is not None:
        return False
    s.add(RoleGrantRow(role=role.value, kind=kind.value, name=name, granted_by=by, at=at))
    return True


def revoke(s: Session, role: Role, kind: Kind, name: str) -> bool:
    row = s.get(RoleGrantRow, (role.value, kind.value, name))
    if row is None:
        return False
    s.delete(row)
    return True


def grants(s: Session) -> list[RoleGrantRow]:
    return list(s.exec(select(RoleGrantRow).order_by(col(RoleGrantRow.role), col(RoleGrantRow.name))))


# -- tokens ---------------------------------------------------------------------------------------
def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(s: Session, user: str, label: str, by: str, at: float, expires_at: float) -> tuple[int, str]:
    """A new token for `user`: its id and its secret (shown once; only its digest is kept)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = TokenRow(user=user, label=label, digest=_digest(secret), created_at=at, created_by=by, expires_at=expires_at)
    s.add(row)
    s.flush()
    return row.key, secret


def token_owner(s: Session, token_id: int) -> str | None:
    """The user token `token_id` was made for (None: there is no such token)."""
    row = s.get(TokenRow, token_id)
    return row.user if row is not None else None


def revoke_token(s: Session, token_id: int, at: float) -> bool:
    row = s.get(TokenRow, token_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = at
    s.add(row)
    return True


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """What a token presented says: its user when it is live, else why not (and whose it was)."""

    user: str | None
    why: str = ""  # "" | unknown | revoked | expired
    owner: str = ""  # the user an expired or revoked token was made for

    @property
    def live(self) -> bool:
        return self.user is not None


def token_user(s: Session, secret: str, now: float) -> TokenCheck:
    """The user a live token names (compared in constant time), or why it is not live."""
    if not secret.startswith(TOKEN_PREFIX):
        return TokenCheck(None, "unknown")
    digest = _digest(secret)
    row = s.exec(select(TokenRow).where(TokenRow.digest == digest)).first()
    if row is None or not hmac.compare_digest(row.digest, digest):
        return TokenCheck(None, "unknown")
    if row.revoked_at is not None:
        return TokenCheck(None, "revoked", row.user)
    if row.expires_at is not None and row.expires_at <= now:
        return TokenCheck(None, "expired", row.user)
    return TokenCheck(row.user)


def tokens(s: Session) -> list[TokenRow]:
    return list(s.exec(select(TokenRow).order_by(col(TokenRow.id))))


__all__ = [
    "ProfileListing",
    "TokenCheck",
    "alter",
    "create_token",
    "define",
    "delete",
    "grant",
    "grants",
    "listing",
    "permit",
    "profiles",
    "remove",
    "revoke",
    "revoke_token",
    "token_user",
    "tokens",
]
