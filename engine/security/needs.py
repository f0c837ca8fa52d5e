"""What every function of the site's API needs, in one table: the server refuses to start a route
whose function is not in it, the OpenAPI document shows it, `LocalSite` enforces it, and a test
walks every route in it for every role over real sockets.

A function either needs access to one or more FACILITY profiles (with the argument that names
the copy pool a restricted profile may name, and the arguments whose volumes, data sets or
command must belong to copy pools the caller may list), or is decided per HSM command by the
command's own profile, or is open to any connected (authenticated) user, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.security.access import Access
from engine.security.functions import Function


@dataclass(frozen=True, slots=True)
class Needs:
    """Any one of `functions` at `access` (for the copy pool argument `pool` names, if any)."""

    functions: tuple[Function, ...]
    access: Access = Access.READ
    #: the argument naming the copy pool (a restricted profile decides for it); when it is the
    #: `command` argument, the copy pool that command is about, never one a client states beside it
    pool: str | None = None
    volumes: str | None = None  # the argument naming a volume, or a list of them
    dataset: str | None = None  # the argument naming a data set
    command: str | None = None  # the argument holding an HSM command (the copy pool it names)
    expectations: str | None = None  # the argument holding verify expectations (what they name)
    change: str | None = None  # the argument holding a configuration change (it and its plan name)
    lines: str | None = None  # the argument holding lines of text a client writes (what they name)
    audited: bool = False  # every allowed use is an audit entry too (the security setup, the trail)
    filtered: bool = False  # the answer leaves out what the caller may not LIST

    def describe(self) -> str:
        names = " or ".join(f.value + (f".<{self.pool}>" if self.pool else "") for f in self.functions)
        extra = []
        if self.volumes or self.dataset or self.command or self.expectations or self.change or self.lines:
            extra.append("and LIST of every copy pool what it names belongs to")
        if self.filtered:
            extra.append("answers leave out copy pools the caller may not LIST")
        if self.audited:
            extra.append("every use audited")
        return f"{self.access.name} on {names}" + (f" ({'; '.join(extra)})" if extra else "")


@dataclass(frozen=True, slots=True)
class PerCommand:
    """An HSM command: checked against the command's own profile (STGADMIN.ARC.<verb>[.<pool>])."""

    def describe(self) -> str:
        return (
            "the command's own profile: STGADMIN.ARC.FRBACKUP, .FRRECOV, .DSRECOV, .FRDELETE, .HOLD, .RELEASE, "
            ".LIST, .QUERY (with .<copy pool>); LIST and QUERY answers leave out what the caller may not LIST"
        )


@dataclass(frozen=True, slots=True)
class Open:
    """Any connected user: the kernel or a live token says who it is, and that is all it needs."""

    reason: str

    def describe(self) -> str:
        return f"any connected user: {self.reason}"


Rule = Needs | PerCommand | Open

LIST = (Function.LIST,)
#: a copy operator's functions on a copy pool: a walkthrough's transcript is about one of them
OPERATE = (Function.FRBACKUP, Function.FRRECOV, Function.DSRECOV)

RULES: dict[str, Rule] = {
    "whoami": Open("who the caller is to the site; a user without any access must be able to learn that"),
    "may": Open("it answers only what the caller itself may do, so that a console greys the rest"),
    "status": Needs(LIST, filtered=True),
    "pools": Needs(LIST, pool="only", filtered=True),
    "versions": Needs(LIST, pool="pool"),
    "every_version": Needs(LIST, filtered=True),
    "pairs": Needs(LIST, pool="pool"),
    "verify_backup": Needs(LIST, pool="pool"),
    "volumes": Needs(LIST, filtered=True),
    "storage": Needs(LIST, filtered=True),
    "relationships": Needs(LIST, volumes="volser", filtered=True),
    "activity": Needs(LIST, pool="pool", filtered=True),
    "alerts": Needs(LIST, filtered=True),
    "acknowledge_alerts": Needs(LIST, filtered=True),
    "band_map": Needs(LIST, volumes="volser"),
    "volume_digest": Needs(LIST, volumes="volser"),
    "datasets": Needs(LIST, filtered=True),
    "datasets_on": Needs(LIST, volumes="volsers"),
    "dataset": Needs(LIST, dataset="name"),
    "dataset_digest": Needs(LIST, dataset="name"),
    "precheck": Needs(LIST, command="command"),
    "impact": Needs(LIST, command="command"),
    "expect": Needs(LIST, command="command"),
    "verify": Needs(LIST, expectations="expected"),
    "profiles": Needs((Function.SECURITY,), audited=True),
    "role_grants": Needs((Function.SECURITY,), audited=True),
    "tokens": Needs((Function.SECURITY,), audited=True),
    "settings": Needs((Function.SECURITY,), audited=True),
    "audit_verify": Needs((Function.AUDIT,), audited=True),
    "audit_export": Needs((Function.AUDIT,), audited=True),
    "command": PerCommand(),
    "record": Needs(OPERATE, pool="command", command="command", lines="lines"),
    "save_transcript": Needs(OPERATE, pool="pool"),
    "damage": Needs((Function.DAMAGE,), volumes="volser"),
    "damage_dataset": Needs((Function.DAMAGE,), dataset="name"),
    "workload": Needs((Function.WORKLOAD,), pool="copy_pool"),
    "change_security": Needs((Function.SECURITY,), Access.UPDATE),
    "configuration": Needs((Function.CONFIG,), filtered=True),
    "config_preview": Needs((Function.CONFIG,), change="change"),
    "change_config": Needs((Function.CONFIG,), Access.UPDATE, change="change"),
    "stop_server": Needs((Function.SERVER,)),
    "events": Needs(LIST, filtered=True),
    "metrics": Needs(LIST, filtered=True),  # GET /metrics (server/metrics.py): what the scraper may list
    # the web console's sessions (server/sessions.py), on the Unix socket only: a login is its own proof
    "login": Open(
        "a web console's login: the password or API token it carries is the proof, and a session is given "
        "only to a user who may LIST (every refusal audited with the browser's address, failures counted per address)"
    ),
    "logout": Open("it ends the session it carries, and only that one"),
    "session": Open("it keeps alive the session it carries (the browser was used), and only that one"),
}


def rule_of(call: str) -> Rule:
    """The rule of an API function; KeyError names a function nobody declared (refused)."""
    try:
        return RULES[call]
    except KeyError:
        raise KeyError(f"the API function {call!r} declares no access: add it to engine.security.needs.RULES") from None


__all__ = ["LIST", "OPERATE", "RULES", "Needs", "Open", "PerCommand", "Rule", "rule_of"]
