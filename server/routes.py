"""The site's HTTP API as one table: each route is a `SiteAPI` function. The server answers from
it, the client calls through it and the OpenAPI document is generated from it, so the three
cannot disagree.

Path parameters are the function's arguments of the same name; a GET takes the others from its
query string (a list as comma-separated values), a POST from its JSON body (an object of them).
Every answer is the function's return value in `server.wire`'s JSON form.
"""

from __future__ import annotations

import inspect
import re
import typing
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from engine.api import API_VERSION, SiteAPI
from engine.security.needs import Rule, rule_of
from server import wire


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: Any
    required: bool
    default: object


@dataclass(frozen=True)
class Route:
    method: str  # GET | POST
    path: str  # with {name} for a path parameter
    call: str  # the SiteAPI function
    summary: str

    @property
    def function(self) -> Any:
        return getattr(SiteAPI, self.call)

    @property
    def rule(self) -> Rule:
        """What the route needs (engine.security.needs); KeyError for a route nobody declared."""
        return rule_of(self.call)

    @property
    def action(self) -> bool:
        """An action (a coroutine): the server runs it to its end even if its client goes away."""
        return inspect.iscoroutinefunction(self.function)

    @cached_property
    def params(self) -> tuple[Param, ...]:
        hints = wire.hints_of(self.function)
        sig = inspect.signature(self.function)
        out = []
        for name, p in sig.parameters.items():
            if name == "self":
                continue
            required = p.default is inspect.Parameter.empty
            out.append(Param(name, hints[name], required, None if required else p.default))
        return tuple(out)

    @cached_property
    def in_path(self) -> frozenset[str]:
        return frozenset(re.findall(r"{(\w+)}", self.path))

    @property
    def returns(self) -> Any:
        return wire.returns(self.function)

    def url(self, args: dict[str, object]) -> tuple[str, dict[str, str], dict[str, object] | None]:
        """The path, query and body of a call with these arguments (the client's side)."""
        return wire.request_parts(self.method, self.path, {p.name: args[p.name] for p in self.params if p.name in args})


def from_query(tp: Any, text: str, where: str) -> object:
    """A query string value or a path segment as the parameter's type (the server's side)."""
    origin = typing.get_origin(tp)
    options = [a for a in typing.get_args(tp) if a is not type(None)] if origin in (typing.Union, _UnionType) else [tp]
    base = options[0] if len(options) == 1 else str
    if typing.get_origin(base) is list:
        return [] if not text else wire.decode(base, text.split(","), where)
    if base is int:
        if not re.fullmatch(r"-?[0-9]{1,18}", text):
            raise wire.WireError(f"{where}: must be an integer")
        return int(text)
    if base is float:
        try:
            return wire.decode(float, float(text), where)
        except ValueError:
            raise wire.WireError(f"{where}: must be a number") from None
    return wire.decode(base, text, where)


_UnionType = type(int | None)


V = f"/{API_VERSION}"

ROUTES: tuple[Route, ...] = (
    Route("GET", f"{V}/whoami", "whoami", "Who the site takes the caller to be"),
    Route("GET", f"{V}/status", "status", "The server: site, user, clock, copies, holds, pid, clients"),
    Route("GET", f"{V}/pools", "pools", "The copy pools, with their newest versions (LIST COPYPOOL as data)"),
    Route("GET", f"{V}/pools/{{pool}}/versions", "versions", "A copy pool's backup versions"),
    Route("GET", f"{V}/versions", "every_version", "Every copy pool's backup versions, in one read"),
    Route("GET", f"{V}/pools/{{pool}}/versions/{{version}}/pairs", "pairs", "One version's volume pairs"),
    Route(
        "GET",
        f"{V}/pools/{{pool}}/verify",
        "verify_backup",
        "Whether a backup version's targets hold what its sources held at the flash",
    ),
    Route("GET", f"{V}/volumes", "volumes", "Every volume"),
    Route("GET", f"{V}/storage", "storage", "The storage groups with their volumes"),
    Route("GET", f"{V}/relationships", "relationships", "FlashCopy relationships (of one volume)"),
    Route("GET", f"{V}/activity", "activity", "The activity log, newest first"),
    Route("GET", f"{V}/alerts", "alerts", "The site's alerts, newest first, with who acknowledged them"),
    Route("GET", f"{V}/volumes/{{volser}}/bands", "band_map", "A volume's track map in bands"),
    Route("GET", f"{V}/volumes/{{volser}}/digest", "volume_digest", "SHA-256 of what a host reads"),
    Route("GET", f"{V}/datasets", "datasets", "The cataloged data sets (a DFSMS filter)"),
    Route("GET", f"{V}/datasets-on", "datasets_on", "The data sets with an extent on these volumes"),
    Route("GET", f"{V}/datasets/{{name}}", "dataset", "One data set"),
    Route("GET", f"{V}/datasets/{{name}}/digest", "dataset_digest", "SHA-256 of a data set's content"),
    Route("POST", f"{V}/precheck", "precheck", "The rule checks a command would meet (nothing is run)"),
    Route("POST", f"{V}/impact", "impact", "What a command would change (nothing is run)"),
    Route("POST", f"{V}/expect", "expect", "What must hold after a command (for verify)"),
    Route("POST", f"{V}/verify", "verify", "Whether the expectations hold now"),
    Route("POST", f"{V}/may", "may", "What the caller may do (the console greys the rest)"),
    Route("GET", f"{V}/security/profiles", "profiles", "FACILITY profiles and their access lists"),
    Route("GET", f"{V}/security/roles", "role_grants", "Role bundles granted"),
    Route("GET", f"{V}/security/tokens", "tokens", "API tokens (never their secrets)"),
    Route("GET", f"{V}/security/settings", "settings", "The site's security settings"),
    Route("POST", f"{V}/audit/verify", "audit_verify", "Check the audit trail (and checkpoints kept elsewhere)"),
    Route("GET", f"{V}/audit", "audit_export", "Audit entries (since a time)"),
    Route("POST", f"{V}/commands", "command", "Run an HSM command; its result"),
    Route("POST", f"{V}/activity", "record", "A walkthrough's transcript into the activity log"),
    Route("POST", f"{V}/alerts/acknowledge", "acknowledge_alerts", "Acknowledge alerts for every console"),
    Route("POST", f"{V}/volumes/{{volser}}/damage", "damage", "Overwrite tracks with garbage (drills)"),
    Route("POST", f"{V}/datasets/{{name}}/damage", "damage_dataset", "Overwrite a data set's tracks (drills)"),
    Route("POST", f"{V}/workloads", "workload", "Run a batch-like workload on a copy pool's volumes"),
    Route("POST", f"{V}/security", "change_security", "A security administration function"),
    Route("GET", f"{V}/config", "configuration", "The constructs and the live site definition"),
    Route("POST", f"{V}/config/preview", "config_preview", "What a configuration change would do (nothing is changed)"),
    Route("POST", f"{V}/config", "change_config", "A configuration change, as previewed"),
    Route("POST", f"{V}/transcripts", "save_transcript", "Save a walkthrough's transcript in the site"),
    Route("POST", f"{V}/server/stop", "stop_server", "Stop the server (it finishes what it accepted)"),
)

#: the event stream (server-sent events; each `data:` line one event in wire form)
EVENTS_PATH = f"{V}/events"
#: the site for Prometheus, in its exposition format (server/metrics.py)
METRICS_PATH = "/metrics"
#: the web console's login, logout and "the browser was used" (server/sessions.py; socket only)
LOGIN_PATH = f"{V}/login"
LOGOUT_PATH = f"{V}/logout"
SESSION_PATH = f"{V}/session"
#: what each of those calls is in engine.security.needs
WEB_SESSION_PATHS = {"login": LOGIN_PATH, "logout": LOGOUT_PATH, "session": SESSION_PATH}


def access_table() -> str:
    """Every route with the access it needs, as docs/SECURITY.md shows it (a test keeps it so):
    `python -c 'from server.routes import access_table; print(access_table())'`."""
    rows = (
        [(r.method, r.path, r.rule.describe()) for r in ROUTES]
        + [
            ("GET", EVENTS_PATH, rule_of("events").describe()),
            ("GET", METRICS_PATH, rule_of("metrics").describe()),
        ]
        + [("POST", path, rule_of(call).describe()) for call, path in WEB_SESSION_PATHS.items()]
    )
    lines = ["| route | needs |", "|---|---|"]
    lines += [f"| `{method} {path}` | {needs} |" for method, path, needs in rows]
    return "\n".join(lines) + "\n"


BY_CALL = {r.call: r for r in ROUTES}


def route_paths() -> str:
    """server/route_paths.py: each call's method and path, for the CLI's thin client, which
    must not import the engine to find them (a test keeps the committed module the generated
    one): `python -m server.routes > server/route_paths.py`."""
    rows = "".join(f'    "{r.call}": ("{r.method}", "{r.path}"),\n' for r in ROUTES)
    return (
        '"""Generated by `python -m server.routes` from the route table (server/routes.py): each\n'
        "SiteAPI call's method and path, for clients that must not import the engine (cli.thin, web).\n"
        '"""\n\n'
        f"PATHS: dict[str, tuple[str, str]] = {{\n{rows}}}\n"
        f'EVENTS_PATH = "{EVENTS_PATH}"\n'
        f'LOGIN_PATH = "{LOGIN_PATH}"\n'
        f'LOGOUT_PATH = "{LOGOUT_PATH}"\n'
        f'SESSION_PATH = "{SESSION_PATH}"\n'
    )


if __name__ == "__main__":
    print(route_paths(), end="")

__all__ = [
    "BY_CALL",
    "EVENTS_PATH",
    "LOGIN_PATH",
    "LOGOUT_PATH",
    "METRICS_PATH",
    "ROUTES",
    "SESSION_PATH",
    "WEB_SESSION_PATHS",
    "Param",
    "Route",
    "access_table",
    "from_query",
    "route_paths",
]
