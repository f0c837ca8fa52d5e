"""The security administration functions (STGADMIN.FPL.SECURITY, UPDATE): profiles, access
lists, role bundles, API tokens and the site's security settings, each as RACF or a storage
controller's console would name it."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import Session, select

from engine.catalog import settings as site_settings
from engine.catalog.models import RoleGrantRow
from engine.errors import FlashpoolError
from engine.messages import CommandResult
from engine.security import passwords, sessions, store
from engine.security.access import valid_profile_name
from engine.security.changes import Change, SecurityChange
from engine.security.functions import Role
from engine.security.identity import Identity

DAY = 86_400.0


def apply_change(s: Session, who: Identity, change: SecurityChange, res: CommandResult, at: float) -> None:
    """One security administration function (blocking), committed: its messages into `res`;
    FlashpoolError says why it was refused (nothing changed)."""
    c = change.change
    name = change.profile.strip().upper()
    if c in (Change.DEFINE, Change.ALTER, Change.DELETE, Change.PERMIT, Change.REMOVE):
        if why := valid_profile_name(name):
            raise FlashpoolError(why)
    if c in (Change.GRANT, Change.REVOKE, Change.PERMIT, Change.REMOVE, Change.TOKEN, Change.PASSWORD) and not (
        change.name.strip()
    ):
        raise FlashpoolError("name a user or a group")
    if c is Change.DEFINE:
        if not store.define(s, name, change.uacc, who.user, at):
            raise FlashpoolError(f"profile {name} is already defined (alter its UACC instead)")
        res.add("FPL500I", f"PROFILE {name} DEFINED, UACC({change.uacc.name})")
    elif c is Change.ALTER:
        if not store.alter(s, name, change.uacc):
            raise FlashpoolError(f"profile {name} is not defined")
        res.add("FPL500I", f"PROFILE {name} UACC({change.uacc.name})")
    elif c is Change.DELETE:
        if not store.delete(s, name):
            raise FlashpoolError(f"profile {name} is not defined")
        res.add("FPL500I", f"PROFILE {name} DELETED WITH ITS ACCESS LIST")
    elif c is Change.PERMIT:
        if not store.permit(s, name, change.kind, change.name, change.access):
            raise FlashpoolError(f"profile {name} is not defined (define it first)")
        res.add("FPL500I", f"{change.kind.value} {change.name} HAS {change.access.name} ON {name}")
    elif c is Change.REMOVE:
        if not store.remove(s, name, change.kind, change.name):
            raise FlashpoolError(f"{change.kind.value.lower()} {change.name} is not in the access list of {name}")
        res.add("FPL500I", f"{change.kind.value} {change.name} REMOVED FROM {name}")
    elif c in (Change.GRANT, Change.REVOKE):
        role = Role.named(change.role)
        if c is Change.GRANT:
            if not store.grant(s, role, change.kind, change.name, who.user, at):
                raise FlashpoolError(f"{change.kind.value.lower()} {change.name} has role {role.value} already")
            res.add("FPL500I", f"ROLE {role.value} GRANTED TO {change.kind.value} {change.name}: {role.title}")
        else:
            if not store.revoke(s, role, change.kind, change.name):
                raise FlashpoolError(f"{change.kind.value.lower()} {change.name} does not have role {role.value}")
            if role is Role.SECURITY and not _security_left(s):
                raise FlashpoolError("that would leave the site without a security administrator")
            res.add("FPL500I", f"ROLE {role.value} REVOKED FROM {change.kind.value} {change.name}")
    elif c is Change.TOKEN:
        limits = site_settings.read(s.connection())
        days = limits.token_days if change.days is None else change.days
        if not 1 <= days <= limits.token_max_days:
            raise FlashpoolError(
                f"a token lives 1 to {limits.token_max_days} days on this site (token-max-days), not {days}"
            )
        token_id, secret = store.create_token(s, change.name, change.label, who.user, at, at + days * DAY)
        res.add(
            "FPL501I",
            f"TOKEN {token_id} CREATED FOR USER {change.name}, VALID {days} DAYS; IT IS SHOWN ONCE, KEEP IT SAFE",
        )
        res.data = {"token_id": token_id, "token": secret, "user": change.name, "expires_at": at + days * DAY}
    elif c is Change.UNTOKEN:
        owner = store.token_owner(s, change.token_id)
        if owner is None or not store.revoke_token(s, change.token_id, at):
            raise FlashpoolError(f"there is no live token {change.token_id}")
        ended = sessions.end_all(s, owner, at)  # a web login may have come from it
        res.add("FPL500I", f"TOKEN {change.token_id} REVOKED{_ended(ended, owner)}")
    elif c is Change.PASSWORD:
        passwords.set_password(s, change.name, change.value, who.user, at, expired=change.expired)
        ended = sessions.end_all(s, change.name, at)  # whoever knew the old one is logged out
        then = "; IT MUST BE CHANGED AT THE NEXT LOGIN" if change.expired else ""
        res.add("FPL504I", f"PASSWORD OF USER {change.name} SET{then}{_ended(ended, change.name)}")
    elif c is Change.SET:
        conn = s.connection()
        before = site_settings.read(conn)
        try:
            after = site_settings.parse(before, change.name, change.value)
        except ValueError as exc:
            raise FlashpoolError(str(exc)) from None
        site_settings.write(conn, replace(after, audit_key_id=before.audit_key_id))
        shown = dict((n, v) for n, v, _ in after.describe())
        key = change.name.strip().lower()
        res.add("FPL502I", f"SETTING {key.upper()} IS NOW {shown[key]}")
    s.commit()


def _security_left(s: Session) -> bool:
    return s.exec(select(RoleGrantRow).where(RoleGrantRow.role == Role.SECURITY.value)).first() is not None


def _ended(sessions_ended: int, user: str) -> str:
    return f"; {sessions_ended} WEB SESSION(S) OF {user} ENDED" if sessions_ended else ""


__all__ = ["DAY", "Change", "SecurityChange", "apply_change"]
