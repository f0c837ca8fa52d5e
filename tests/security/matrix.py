"""The route matrix's model: what every role may do, independent of the engine's own tables, and
a sample call of every route (a route without samples fails `test_every_route_has_samples`).

Roles as the README defines them; a call is allowed when the caller holds one of the functions
the route's declared rule names, and is refused by a restricted profile on the copy pool HR
exactly when the README says so.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from engine.api import Change, SecurityChange
from engine.config import ConfigChange, ConfigOp
from engine.hsm.verify import Expectation
from engine.security import Check, Function

MONITOR = {"LIST", "QUERY"}
OPERATOR = MONITOR | {"FRBACKUP", "FRRECOV", "DSRECOV"}
ADMINISTRATOR = OPERATOR | {"FRDELETE", "HOLD", "RELEASE", "DAMAGE", "WORKLOAD", "SERVER", "CONFIG"}
SECURITY = ADMINISTRATOR | {"SECURITY", "AUDIT"}
ROLES: dict[str, set[str]] = {
    "none": set(),
    "monitor": MONITOR,
    "operator": OPERATOR,
    "administrator": ADMINISTRATOR,
    "security": SECURITY,
}

#: the function each sample HSM command is checked under
COMMAND_FUNCTION = {
    "LIST COPYPOOL": "LIST",
    "LIST COPYPOOL(PAY)": "LIST",
    "LIST COPYPOOL(HR)": "LIST",
    "QUERY COPYPOOL(HR)": "QUERY",
    "FRBACKUP COPYPOOL(HR)": "FRBACKUP",
    "FRRECOV COPYPOOL(PAY) VERSION(99)": "FRRECOV",
    "FRRECOV DSNAME(HR.DATA) FROMCOPYPOOL(HR) REPLACE": "DSRECOV",
    "FRDELETE COPYPOOL(HR) VERSIONS(99)": "FRDELETE",
    "HOLD FRRECOV(TAPE)": "HOLD",
    "RELEASE FRRECOV(TAPE)": "RELEASE",
}

_HR = re.compile(r"(?<![A-Z])HR")


def names_hr(value: object) -> bool:
    """Whether an argument names the copy pool HR or something of it (HR0001, HR.DATA)."""
    if isinstance(value, list):
        return any(names_hr(v) for v in value)
    if isinstance(value, Expectation):
        return names_hr(value.name)
    return isinstance(value, str) and bool(_HR.search(value.upper()))


@dataclass
class Sample:
    call: str
    args: dict[str, Any]
    label: str = ""
    mutating: bool = False  # changes the site (still harmless for the other samples)
    extra: dict[str, Any] = field(default_factory=dict)


def samples(versions: dict[str, int]) -> list[Sample]:
    """`versions`: the row id of a version of PAY and of HR (for the pairs route)."""
    out = [
        Sample("whoami", {}),
        Sample("may", {"checks": [Check(Function.FRBACKUP, "PAY")]}),
        Sample("status", {}),
        Sample("pools", {}),
        Sample("every_version", {}),
        Sample("volumes", {}),
        Sample("storage", {}),
        Sample("datasets", {}),
        Sample("relationships", {}),
        Sample("profiles", {}),
        Sample("role_grants", {}),
        Sample("tokens", {}),
        Sample("settings", {}),
        Sample("audit_verify", {"against": []}),
        Sample("audit_export", {"since": time.time() + 3600}),
        Sample("activity", {"limit": 20}),
        Sample("alerts", {"limit": 20}),
        Sample("acknowledge_alerts", {"numbers": None}, mutating=True),
        Sample("change_security", {"change": None}, mutating=True),
        Sample("configuration", {}),
        Sample("config_preview", {"change": ConfigChange(ConfigOp.ALTER_POOL, "PAY", versions=1)}),
        Sample(
            "change_config",
            {"change": ConfigChange(ConfigOp.ALTER_POOL, "PAY", description="set by the route matrix"), "expect": None},
            mutating=True,
        ),
    ]
    for pool, vol, dsn in (("PAY", "PAY002", "PAY.DATA"), ("HR", "HR0001", "HR.DATA")):
        out += [
            Sample("pools", {"only": pool}),
            Sample("versions", {"pool": pool}),
            Sample("pairs", {"pool": pool, "version": versions[pool]}),
            Sample("verify_backup", {"pool": pool, "version": 1}),
            Sample("activity", {"limit": 20, "pool": pool}),
            Sample("relationships", {"volser": vol}),
            Sample("band_map", {"volser": vol, "cells": 8}),
            Sample("volume_digest", {"volser": vol}),
            Sample("datasets_on", {"volsers": [vol]}),
            Sample("dataset", {"name": dsn}),
            Sample("dataset_digest", {"name": dsn}),
            Sample("precheck", {"command": f"FRRECOV COPYPOOL({pool})"}),
            Sample("impact", {"command": f"FRRECOV COPYPOOL({pool})"}),
            Sample("expect", {"command": f"FRRECOV COPYPOOL({pool})"}),
            Sample("verify", {"expected": [Expectation("volume", vol, "0" * 64, "a test")]}),
            Sample(
                "record",
                {"origin": "WALKTHROUGH", "command": f"WALKTHROUGH 1 FRRECOV COPYPOOL({pool})"}
                | {"rc": 0, "lines": ["a transcript line"]},
                mutating=True,
            ),
            Sample("save_transcript", {"pool": pool, "name": "matrix", "text": "a transcript\n"}, mutating=True),
            Sample("damage", {"volser": vol, "first": 199, "last": 199}, mutating=True),
            Sample("damage_dataset", {"name": dsn}, mutating=True),
            Sample("workload", {"copy_pool": pool, "rate": 5.0, "seconds": 0.2, "seed": 1}, mutating=True),
        ]
    out += [Sample("command", {"text": text, "origin": "API"}, label=text, mutating=True) for text in COMMAND_FUNCTION]
    return out


def unique_change(n: int) -> SecurityChange:
    return SecurityChange(Change.DEFINE, profile=f"STGADMIN.FPL.MATRIX{n}")


#: what each function of the API needs, as the README says: any one of these functions; the
#: argument naming the copy pool a restricted profile decides for, if any
OPERATE = {"FRBACKUP", "FRRECOV", "DSRECOV"}
NEEDS: dict[str, tuple[set[str], str | None]] = {
    **{
        call: ({"LIST"}, None)
        for call in [
            "status",
            "every_version",
            "volumes",
            "storage",
            "datasets",
            "relationships",
            "band_map",
            "volume_digest",
            "datasets_on",
            "dataset",
            "dataset_digest",
            "precheck",
            "impact",
            "expect",
            "verify",
            "events",
            "metrics",
            "alerts",
            "acknowledge_alerts",
        ]
    },
    **{call: ({"LIST"}, "pool") for call in ("versions", "pairs", "verify_backup", "activity")},
    "pools": ({"LIST"}, "only"),
    **{call: ({"SECURITY"}, None) for call in ("profiles", "role_grants", "tokens", "settings", "change_security")},
    **{call: ({"AUDIT"}, None) for call in ("audit_verify", "audit_export")},
    "record": (OPERATE, "command"),
    "save_transcript": (OPERATE, "pool"),
    "damage": ({"DAMAGE"}, None),
    "damage_dataset": ({"DAMAGE"}, None),
    "workload": ({"WORKLOAD"}, "copy_pool"),
    "stop_server": ({"SERVER"}, None),
    **{call: ({"CONFIG"}, None) for call in ("configuration", "config_preview", "change_config")},
}
#: the web console's session routes (server/sessions.py): each carries its own proof (a password,
#: a token, the session), and is exercised by tests/web in a real browser
WEB_SESSIONS = {"login", "logout", "session"}
OPEN = {"whoami", "may"} | WEB_SESSIONS
#: calls that act under their own function: naming HR does not need LIST of HR (an activity
#: entry does: every monitor reads the log it writes)
ACTS = {"command", "save_transcript", "workload"} | OPEN


def expected(sample: Sample, role: str, restricted: str | None = None) -> bool:
    """Whether `role` may make this call, with `restricted` (a function) refused for HR."""
    have = ROLES[role]
    if sample.call in OPEN:
        return True
    if sample.call == "command":
        text = sample.args["text"]
        function = COMMAND_FUNCTION[text]
        hidden = restricted == "LIST" and function == "QUERY"  # QUERY shows what LIST would
        return function in have and not ((function == restricted or hidden) and names_hr(text))
    functions, pool_arg = NEEDS[sample.call]
    usable = functions & have
    if restricted is not None and pool_arg is not None and names_hr(sample.args.get(pool_arg)):
        usable.discard(restricted)
    if not usable:
        return False
    # a read (or a drill on a volume or data set) must name only what the caller may list
    return not (restricted == "LIST" and sample.call not in ACTS and names_hr(list(sample.args.values())))


__all__ = [
    "COMMAND_FUNCTION",
    "NEEDS",
    "OPEN",
    "ROLES",
    "WEB_SESSIONS",
    "Sample",
    "expected",
    "names_hr",
    "samples",
    "unique_change",
]
