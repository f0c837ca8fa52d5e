"""The OpenAPI document of the site API, generated from the route table and the wire schemas
(`python -m server.openapi > docs/openapi.json`; a test keeps the committed copy current)."""

from __future__ import annotations

import json
import sys
from typing import Any

from engine.api import API_VERSION
from engine.security.needs import rule_of
from server import wire
from server.routes import EVENTS_PATH, LOGIN_PATH, METRICS_PATH, ROUTES, WEB_SESSION_PATHS, Route

ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    "required": ["error", "message"],
}

ERRORS = {
    "400": "The request does not fit the API (a missing or malformed argument, a body that is not JSON)",
    "401": "TCP only: no API token, or one that is unknown, expired or revoked (audited, counted per address)",
    "403": "The caller may not do this (ICH408I: the user, the profile, the access needed)",
    "404": "No such path",
    "413": "The body is over 1 MiB",
    "429": "TCP only: too many failed authentications from this address; refused for a while",
    "422": "The site refuses (an unknown volume, a data set that is not cataloged, ...)",
    "503": "The server is stopping and takes no more commands",
}


def _parameter(route: Route, name: str, schema: Any) -> dict[str, Any]:
    where = "path" if name in route.in_path else "query"
    p = next(p for p in route.params if p.name == name)
    if where == "query" and schema.get("type") == "array":
        schema = {"type": "string", "description": "comma-separated values"}
    return {"name": name, "in": where, "required": where == "path" or p.required, "schema": schema}


def document() -> dict[str, Any]:
    components: dict[str, Any] = {"Error": ERROR}
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        op: dict[str, Any] = {
            "operationId": route.call,
            "summary": route.summary,
            "x-flashpool-access": route.rule.describe(),
            "responses": {
                "200": {
                    "description": "The function's result",
                    "content": {"application/json": {"schema": wire.schema(route.returns, components)}},
                },
                **{
                    code: {
                        "description": text,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    }
                    for code, text in ERRORS.items()
                },
            },
        }
        if route.action:
            op["description"] = "An action: once accepted it runs to its end even if the client goes away."
        params = []
        body_props: dict[str, Any] = {}
        required = []
        for p in route.params:
            schema = wire.schema(p.type, components)
            if p.name in route.in_path or route.method == "GET":
                params.append(_parameter(route, p.name, schema))
            else:
                body_props[p.name] = schema
                if p.required:
                    required.append(p.name)
        if params:
            op["parameters"] = params
        if route.method == "POST":
            op["requestBody"] = {
                "required": bool(required),
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": body_props,
                            "required": required,
                            "additionalProperties": False,
                        }
                    }
                },
            }
        paths.setdefault(route.path, {})[route.method.lower()] = op
    paths[EVENTS_PATH] = {
        "get": {
            "operationId": "events",
            "x-flashpool-access": rule_of("events").describe(),
            "summary": "The site's events as server-sent events: each `data:` line one event (copy progress "
            "coalesced per relationship, at most four a second; a client that falls 2,000 events behind is dropped)",
            "responses": {
                "200": {
                    "description": "text/event-stream; each data line is an Event",
                    "content": {"text/event-stream": {"schema": wire.event_schema(components)}},
                },
                "403": {
                    "description": ERRORS["403"],
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        }
    }
    paths[METRICS_PATH] = {
        "get": {
            "operationId": "metrics",
            "x-flashpool-access": rule_of("metrics").describe(),
            "summary": "The site for Prometheus (its text exposition format): copies and tracks left per pool, "
            "versions per pool and state, the age of each pool's newest recoverable version and of each dump "
            "class's newest COMPLETE dump, unacknowledged alerts, request latencies, commands by function and RC",
            "responses": {
                "200": {
                    "description": "Prometheus text exposition format 0.0.4",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "403": {
                    "description": ERRORS["403"],
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        }
    }
    paths.update(_web_sessions())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "flashpool site API",
            "version": API_VERSION,
            "description": "A flashpool site's server: DFSMShsm-style fast replication. Served on the Unix socket "
            "run/flashpool.sock in the site directory (the caller is who the kernel says: SO_PEERCRED), and "
            "with `flashpool serve --listen` over HTTPS, where a bearer token names the user. Every operation "
            "names the access it needs (x-flashpool-access, from engine/security/needs.py); every refusal is "
            "audited, and answers leave out the copy pools the caller may not LIST.",
        },
        "servers": [{"url": "http://flashpool", "description": "the site's Unix socket"}],
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "paths": dict(sorted(paths.items())),
    }


#: what the web console's session routes are for (server/sessions.py)
WEB_SESSION_SUMMARIES = {
    "login": "A web console's login (`flashpool web`, on the Unix socket only): a user name and password, or an "
    "API token, with the browser's address; answers a session for the console started for that browser",
    "logout": "End the web session given as the bearer",
    "session": "The browser was used: the web session given as the bearer lives another idle period",
}
LOGIN_BODY = {
    "type": "object",
    "properties": {
        "client": {"type": "string", "description": "the browser's address, for the audit trail and the lockout"},
        "idle": {"type": "number", "description": "seconds the session lives past its last use"},
        "user": {"type": "string"},
        "password": {"type": "string"},
        "token": {"type": "string", "description": "an API token, instead of user and password"},
        "new_password": {"type": "string", "description": "replaces an expired password in the same login"},
    },
    "required": ["client", "idle"],
    "additionalProperties": False,
}


def _web_sessions() -> dict[str, dict[str, Any]]:
    def error(code: str) -> dict[str, Any]:
        return {
            "description": ERRORS[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }

    out: dict[str, dict[str, Any]] = {}
    for call, path in WEB_SESSION_PATHS.items():
        op: dict[str, Any] = {
            "operationId": call,
            "summary": WEB_SESSION_SUMMARIES[call],
            "x-flashpool-access": rule_of(call).describe(),
            "responses": {
                "200": {
                    "description": "The session (login), or what became of it",
                    "content": {"application/json": {}},
                },
                "401": {
                    "description": "A wrong user name or password, an unknown token, an ended or expired session "
                    "(audited with the browser's address, counted per address)"
                },
                "403": error("403"),
                "429": error("429"),
            },
        }
        if path == LOGIN_PATH:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": LOGIN_BODY}}}
        out[path] = {"post": op}
    return out


def text() -> str:
    return json.dumps(document(), indent=1, sort_keys=False, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(text())
