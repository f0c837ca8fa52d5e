"""Every route in the route table x every role x every restricted profile kind, over real sockets:
allowed or refused exactly as the roles and profiles say, and an audit entry each time (the site
audits every read here: `security set audit-reads all`). Tokens over loopback TLS always; real
Unix users over the socket where the machine lets the test create them (CI runs as root)."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import shutil
import sqlite3
import ssl
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.api import Change, SecurityChange
from engine.security.needs import RULES, Needs, Open, rule_of
from engine.site import Site
from server import wire
from server.routes import BY_CALL, EVENTS_PATH, METRICS_PATH, ROUTES
from tests.security.matrix import NEEDS, OPEN, ROLES, WEB_SESSIONS, Sample, expected, samples, unique_change
from tests.server.harness import Server, as_owner, free_port, make_site
from tests.unixusers import needs_users, unix_users

RESTRICTABLE = {  # the functions a profile may restrict to one copy pool, with its resource name
    "LIST": "STGADMIN.ARC.LIST.HR",
    "QUERY": "STGADMIN.ARC.QUERY.HR",
    "FRBACKUP": "STGADMIN.ARC.FRBACKUP.HR",
    "FRRECOV": "STGADMIN.ARC.FRRECOV.HR",
    "DSRECOV": "STGADMIN.ARC.DSRECOV.HR",
    "FRDELETE": "STGADMIN.ARC.FRDELETE.HR",
    "WORKLOAD": "STGADMIN.FPL.WORKLOAD.HR",
}


def test_every_route_declares_its_access_and_has_samples():
    called = {s.call for s in samples({"PAY": 1, "HR": 2})} | {"events", "metrics", "stop_server"} | WEB_SESSIONS
    routes = {r.call for r in ROUTES} | {"events", "metrics"} | WEB_SESSIONS
    assert routes == set(RULES), "every route, and nothing else, is in the rule table"
    assert routes <= called, f"routes without a sample in tests/security/matrix.py: {routes - called}"
    for route in ROUTES:
        assert route.rule.describe()


def test_the_declared_rules_are_the_documented_ones():
    """engine/security/needs.py says what the README (and this test's model) says."""
    for call, rule in RULES.items():
        if call in OPEN:
            assert isinstance(rule, Open), call
        elif call == "command":
            assert not isinstance(rule, Needs | Open)
        else:
            assert isinstance(rule, Needs), call
            assert ({f.name for f in rule.functions}, rule.pool) == NEEDS[call], call


def test_a_route_without_a_declared_access_stops_the_server(monkeypatch, tmp_path):
    from engine.api import LocalSite
    from server import routes
    from server.app import SiteServer

    monkeypatch.setattr(routes, "ROUTES", (*routes.ROUTES, routes.Route("GET", "/v1/new", "newfangled", "a new one")))
    monkeypatch.setattr("server.app.ROUTES", routes.ROUTES)
    site = Site.create(tmp_path / "site")
    try:
        with pytest.raises(KeyError, match="'newfangled' declares no access"):
            SiteServer(LocalSite(site), on_stop=lambda: None)
    finally:
        site.close_files()


# -- the site and its callers ----------------------------------------------------------------------
async def _populate(site_path: Path) -> dict[str, int]:
    """Data sets on a PAY and an HR volume, a version of each pool; returns their row ids."""
    site = Site.open(site_path)
    try:
        site.off_loop()
        for dsn, vol in (("PAY.DATA", "PAY001"), ("HR.DATA", "HR0001")):
            await site.datasets.allocate(dsn, 3, [vol])
            await site.datasets.write(dsn, dsn.encode() * 100)
        ids = {}
        for pool in ("PAY", "HR"):
            res = await site.hsm.execute(f"FRBACKUP COPYPOOL({pool})")
            assert res.rc == 0, res.lines()
            ids[pool] = (await asyncio.to_thread(site.views.versions, pool))[0].id
        await site.close()
        return ids
    except BaseException:
        site.close_files()
        raise


@pytest.fixture
def served(tls) -> Iterator[tuple[Path, int, dict[str, int]]]:
    base = Path(tempfile.mkdtemp(prefix="fpl-matrix-", dir="/tmp"))
    os.chmod(base, 0o755)  # other users may pass through to the site's socket
    try:
        site = make_site(base / "site")
        versions = asyncio.run(_populate(site))
        port = free_port()
        args = ("--listen", f"127.0.0.1:{port}", "--tls-cert", str(tls["cert"]), "--tls-key", str(tls["key"]))
        with Server(site, *args):
            yield site, port, versions
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _tokens(site: Path, users: dict[str, str]) -> dict[str, str]:
    """users: name -> role ("none": no role). Every read audited from here on."""
    grants = [SecurityChange(Change.GRANT, name=u, role=r) for u, r in users.items() if r != "none"]
    made = asyncio.run(
        as_owner(
            site,
            SecurityChange(Change.SET, name="audit-reads", value="all"),
            *grants,
            *[SecurityChange(Change.TOKEN, name=u, label="matrix") for u in users],
        )
    )
    return {u: str(res.data["token"]) for u, res in zip(users, made[-len(users) :], strict=True)}


class Caller:
    """One user's HTTPS connection (its token) or Unix-socket client (curl as that user)."""

    def __init__(self, site: Path, user: str, *, port: int = 0, token: str = "", ca: Path | None = None) -> None:
        self.site, self.user, self.port, self.token, self.ca = site, user, port, token, ca

    def call(self, method: str, path: str, query: dict[str, str], body: object | None) -> tuple[int, Any]:
        from urllib.parse import urlencode

        url = path + (("?" + urlencode(query)) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        if self.token:
            ctx = ssl.create_default_context(cafile=str(self.ca))
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=60)
            headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
            try:
                conn.request(method, url, body=data, headers=headers)
                resp = conn.getresponse()
                if path in (EVENTS_PATH, METRICS_PATH):
                    first = resp.read(20) if resp.status == 200 else resp.read()
                    return resp.status, first
                return resp.status, json.loads(resp.read() or b"null")
            finally:
                conn.close()
        sock = str(self.site / "run" / "flashpool.sock")
        cmd = ["runuser", "-u", self.user, "--", "curl", "-s", "--unix-socket", sock, "-X", method]
        cmd += ["-w", "\n%{http_code}", "-H", "Content-Type: application/json"]
        if data is not None:
            cmd += ["--data-binary", "@-"]
        if path == EVENTS_PATH:
            cmd += ["-N", "--max-time", "2"]
        out = subprocess.run([*cmd, f"http://flashpool{url}"], input=data, capture_output=True, timeout=60)
        text, _, code = out.stdout.decode().rpartition("\n")
        if path in (EVENTS_PATH, METRICS_PATH):
            return int(code or 0), text.encode()
        return int(code), json.loads(text or "null")


def _request(sample: Sample, n: int) -> tuple[str, str, dict[str, str], object | None]:
    route = BY_CALL[sample.call]
    args = dict(sample.args)
    if sample.call == "change_security":
        args["change"] = unique_change(n)
    path, query, body = route.url(args)
    return route.method, path, query, body


def _outcome(sample: Sample, status: int, answer: Any) -> bool:
    """Whether the call was let through (True) or refused (False); anything else fails."""
    if status == 403:
        assert isinstance(answer, dict) and "ICH408I" in answer["message"], answer
        return False
    assert status == 200, (sample.call, sample.args, status, answer)
    if isinstance(answer, dict) and "rc" in answer and "messages" in answer:  # an action's result
        return bool(answer["rc"] != 36)
    return True


def _audit_count(site: Path, user: str) -> tuple[int, str]:
    with contextlib.closing(sqlite3.connect(f"file:{site / 'catalog.db'}?mode=ro", uri=True)) as c:
        n = c.execute("SELECT count(*) FROM audit WHERE user = ?", (user,)).fetchone()[0]
        last = c.execute("SELECT decision FROM audit WHERE user = ? ORDER BY seq DESC LIMIT 1", (user,)).fetchone()
    return n, last[0] if last else ""


def _walk(site: Path, callers: dict[str, Caller], roles: dict[str, str], versions, restricted=None) -> int:
    """Every sample for every caller: allowed or refused as the model says, audited each time."""
    checked = 0
    every = samples(versions)
    for user, caller in callers.items():
        role = roles[user]
        for n, sample in enumerate(every):
            want = expected(sample, role, restricted)
            method, path, query, body = _request(sample, checked)
            before, _ = _audit_count(site, user)
            status, answer = caller.call(method, path, query, body)
            got = _outcome(sample, status, answer)
            assert got == want, (user, role, restricted, sample.call, sample.label or sample.args, status, answer)
            after, decision = _audit_count(site, user)
            assert after > before, ("no audit entry", user, sample.call, sample.args)
            allowed = "OPEN" if isinstance(rule_of(sample.call), Open) else "ALLOWED"
            assert decision == (allowed if got else "DENIED"), (user, sample.call, sample.args, decision)
            checked += 1
        # the event stream
        before, _ = _audit_count(site, user)
        status, first = caller.call("GET", EVENTS_PATH, {}, None)
        want = expected(Sample("events", {}), role, restricted)
        assert (status == 200) == want and (first.startswith(b": flashpool events") if want else True), (
            user,
            status,
            first,
        )
        assert _audit_count(site, user)[0] > before
        # the metrics, as Prometheus scrapes them
        before, _ = _audit_count(site, user)
        status, first = caller.call("GET", METRICS_PATH, {}, None)
        want = expected(Sample("metrics", {}), role, restricted)
        assert (status == 200) == want and (first.startswith(b"# HELP") if want else True), (user, status, first)
        assert _audit_count(site, user)[0] > before
        checked += 2
    return checked


def test_every_route_for_every_role_with_tokens_over_tls(served, tls):
    site, port, versions = served
    users = {f"tls-{role}": role for role in ROLES}
    tokens = _tokens(site, users)
    callers = {u: Caller(site, u, port=port, token=t, ca=tls["ca"]) for u, t in tokens.items()}
    assert _walk(site, callers, users, versions) > 5 * 60
    # stopping the server: refused below the administrator, and an administrator's stop stops it
    for user in ("tls-none", "tls-monitor", "tls-operator"):
        status, answer = callers[user].call("POST", "/v1/server/stop", {}, {})
        assert status == 200 and answer["rc"] == 36, answer
    status, answer = callers["tls-administrator"].call("POST", "/v1/server/stop", {}, {})
    assert status == 200 and answer["rc"] == 0, answer


@pytest.mark.parametrize("function", list(RESTRICTABLE))
def test_every_restricted_profile_kind_refuses_exactly_what_names_its_copy_pool(served, tls, function):
    site, port, versions = served
    tokens = _tokens(site, {"tls-admin": "administrator"})
    asyncio.run(
        as_owner(
            site,
            SecurityChange(Change.DEFINE, profile=RESTRICTABLE[function]),  # UACC(NONE), no access list
        )
    )
    caller = {"tls-admin": Caller(site, "tls-admin", port=port, token=tokens["tls-admin"], ca=tls["ca"])}
    assert _walk(site, caller, {"tls-admin": "administrator"}, versions, restricted=function) > 60


@needs_users
def test_every_route_for_every_role_as_real_unix_users_over_the_socket(served):
    site, _, versions = served
    tag = uuid.uuid4().hex[:5]
    group = f"fplm{tag}"
    users = {f"fpl{tag}{role[:3]}": role for role in ROLES}
    with unix_users(group, dict.fromkeys(users, True)):
        grants = [SecurityChange(Change.GRANT, name=u, role=r) for u, r in users.items() if r != "none"]
        asyncio.run(
            as_owner(
                site,
                SecurityChange(Change.SET, name="share-group", value=group),
                SecurityChange(Change.SET, name="audit-reads", value="all"),
                *grants,
            )
        )
        callers = {u: Caller(site, u) for u in users}
        assert _walk(site, callers, users, versions) > 5 * 60


def test_the_rules_name_real_arguments():
    """A rule that names an argument the function does not take would check nothing."""
    import inspect

    from engine.api import SiteAPI

    for call, rule in RULES.items():
        if call in ("events", "metrics") or not isinstance(rule, Needs):
            continue
        params = set(inspect.signature(getattr(SiteAPI, call)).parameters)
        for arg in (rule.pool, rule.volumes, rule.dataset, rule.command, rule.expectations):
            assert arg is None or arg in params, (call, arg)
        assert rule_of(call) is rule
    assert wire  # the samples are sent in the wire form the client uses


def test_the_security_page_lists_every_route_with_its_access():
    from server.routes import access_table

    page = (Path(__file__).resolve().parents[2] / "docs" / "SECURITY.md").read_text()
    assert access_table() in page, "regenerate the table in docs/SECURITY.md from server.routes.access_table()"
