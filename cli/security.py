"""`flashpool security`: who you are to the site, profiles and their access lists, role
grants, API tokens and the security settings."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from cli.tools import tool_site
from engine.errors import FlashpoolError

if TYPE_CHECKING:
    from engine.security.changes import SecurityChange


def whoami(args: argparse.Namespace) -> int:
    from engine.security.functions import Check, Function
    from engine.security.identity import Identity

    functions = list(Function)
    with tool_site(args) as site:
        caller, decisions = site.whoami(), site.may([Check(f) for f in functions])
    if args.json:
        print(
            json.dumps(
                {
                    "user": caller.user,
                    "groups": list(caller.groups),
                    "mode": caller.mode,
                    "may": {f.value: d.allowed for f, d in zip(functions, decisions, strict=True)},
                }
            )
        )
        return 0
    print(f"flashpool: you are {Identity(caller.user, caller.groups).describe()} to {caller.site} ({caller.mode})")
    for f, d in zip(functions, decisions, strict=True):
        print(f"  {'✔ may    ' if d.allowed else '✘ may not'} {f.value:<24} {d.why}")
    return 0


def list_profiles(args: argparse.Namespace) -> int:
    from server import wire

    with tool_site(args) as site:
        profiles, grants = site.profiles(args.pattern), site.role_grants()
    if args.json:
        print(json.dumps({"profiles": wire.encode(profiles), "roles": wire.encode(grants)}))
        return 0
    for p in profiles:
        origin = "" if p.defined else "  (from a role)"
        print(f"{p.name:<40} UACC({p.uacc.name}){origin}")
        for e in p.permits:
            via = f"  via role {e.role}" if e.role else ""
            print(f"    {e.kind.value:<5} {e.name:<16} {e.access.name}{via}")
    for g in grants:
        print(f"role {g.role:<13} {g.kind.value:<5} {g.name:<16} granted by {g.granted_by}")
    return 0


def change(args: argparse.Namespace) -> int:
    from engine.security.access import Access, Kind
    from engine.security.changes import Change, SecurityChange

    kind = Kind.GROUP if getattr(args, "group", None) else Kind.USER
    name = getattr(args, "group", None) or getattr(args, "user", None) or ""
    if args.scmd == "token":
        change = (
            SecurityChange(Change.TOKEN, name=args.user, label=args.label, days=args.days)
            if args.tcmd == "create"
            else SecurityChange(Change.UNTOKEN, token_id=args.token_id)
        )
    elif args.scmd == "set":
        change = SecurityChange(Change.SET, name=args.setting, value=args.value)
    elif args.scmd in ("define", "alter"):
        if args.scmd == "alter" and args.uacc is None:
            raise FlashpoolError("alter takes --uacc")
        c = Change.DEFINE if args.scmd == "define" else Change.ALTER
        change = SecurityChange(c, profile=args.profile, uacc=args.uacc or Access.NONE)
    elif args.scmd == "delete":
        change = SecurityChange(Change.DELETE, profile=args.profile)
    elif args.scmd == "permit":
        if args.delete and args.access is not None:
            raise FlashpoolError("permit takes --access or --delete, not both")
        c = Change.REMOVE if args.delete else Change.PERMIT
        change = SecurityChange(c, profile=args.profile, kind=kind, name=name, access=args.access or Access.READ)
    else:
        c = Change.GRANT if args.scmd == "grant" else Change.REVOKE
        change = SecurityChange(c, kind=kind, name=name, role=args.role)
    return _apply(args, change)


def _apply(args: argparse.Namespace, change: SecurityChange) -> int:
    with tool_site(args) as site:
        res = site.change_security(change)
    if args.json:
        print(res.to_json())  # a new token's secret is in its data
        return res.rc
    for line in res.lines():
        print(line, file=sys.stderr if res.rc else sys.stdout)
    if res.rc == 0 and res.data and "token" in res.data:
        print(res.data["token"])
    return res.rc


def password(args: argparse.Namespace) -> int:
    """`security password USER [--expire]`: the password USER logs in to `flashpool web` with,
    read from the terminal (twice) or the first line of standard input, never the command line."""
    from engine.security.changes import Change, SecurityChange

    if sys.stdin.isatty():
        import getpass

        secret = getpass.getpass(f"new password for {args.user}: ")
        if getpass.getpass("again: ") != secret:
            raise FlashpoolError("the two passwords differ: nothing was changed")
    else:
        secret = sys.stdin.readline().rstrip("\r\n")
    return _apply(args, SecurityChange(Change.PASSWORD, name=args.user, value=secret, expired=args.expire))


def list_tokens(args: argparse.Namespace) -> int:
    import datetime as dt
    import time

    from server import wire

    with tool_site(args) as site:
        tokens = site.tokens()
    if args.json:
        print(json.dumps({"tokens": wire.encode(tokens)}))
        return 0
    now = time.time()

    def day(at: float | None) -> str:
        return dt.datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M") if at is not None else "never"

    print(f"{'ID':>5} {'USER':<16} {'STATE':<8} {'CREATED':<16} {'EXPIRES':<16} BY / LABEL")
    for t in tokens:
        print(
            f"{t.id:>5} {t.user:<16} {t.state(now):<8} {day(t.created_at):<16} {day(t.expires_at):<16} "
            f"{t.created_by}  {t.label}"
        )
    return 0


def settings(args: argparse.Namespace) -> int:
    with tool_site(args) as site:
        found = site.settings()
    if args.json:
        print(json.dumps({"settings": {s.name: s.value for s in found}}))
        return 0
    for s in found:
        print(f"{s.name:<16} {s.value:<12} {s.meaning}")
    return 0
