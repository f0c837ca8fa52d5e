"""Identity is current and credentials behave like a storage controller's: a user removed from a
group loses what the group gave it without a restart (and the trail records the groups in
force); tokens expire; every failed authentication is audited with its address and an address
that keeps failing is locked out; a refusal before any profile is asked is audited as what it
was."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import sqlite3
import ssl
import time
from pathlib import Path

import pytest

from engine.api import Change, NotAuthorized, SecurityChange
from server.app import GROUPS_TTL
from server.client import RemoteSite
from server.logins import LIMIT
from tests.security.users import needs_users, open_folder, users
from tests.server.harness import Server, as_owner, cli, free_port, make_site


def _audit(site: Path, where: str = "1", *params: object) -> list[sqlite3.Row]:
    with contextlib.closing(sqlite3.connect(f"file:{site / 'catalog.db'}?mode=ro", uri=True)) as c:
        c.row_factory = sqlite3.Row
        return c.execute(f"SELECT * FROM audit WHERE {where} ORDER BY seq", params).fetchall()


@needs_users
def test_a_user_removed_from_a_group_loses_its_role_without_a_restart():
    with open_folder() as base, users() as u:
        share, ops = u.group("sock"), u.group("role")
        member = u.user("opr", share, ops)
        site = make_site(base / "site")
        with Server(site):
            asyncio.run(
                as_owner(
                    site,
                    SecurityChange(Change.SET, name="share-group", value=share),
                    SecurityChange(Change.GRANT, name=ops, role="monitor", kind=_group()),
                )
            )
            sock = str(site / "run" / "flashpool.sock")

            def listing() -> dict:
                out = u.run(
                    member,
                    "curl",
                    "-s",
                    "--unix-socket",
                    sock,
                    "-H",
                    "Content-Type: application/json",
                    "-d",
                    json.dumps({"text": "LIST COPYPOOL(PAY)"}),
                    "http://x/v1/commands",
                )
                return json.loads(out.stdout)

            assert listing()["rc"] == 0
            before = _audit(site, "user = ?", member)[-1]
            assert ops in json.loads(before["groups"])
            u.run("root", "gpasswd", "-d", member, ops)  # removed from the group that gives the role
            time.sleep(GROUPS_TTL + 0.5)
            refused = listing()
            assert refused["rc"] == 36 and f"USER {member}" in refused["messages"][0]["text"], refused
            after = _audit(site, "user = ?", member)[-1]
            assert after["decision"] == "DENIED" and ops not in json.loads(after["groups"]), dict(after)


def _group():
    from engine.security import Kind

    return Kind.GROUP


@pytest.fixture
def tls_server(tmp_path, tls):
    site = make_site(tmp_path / "site")
    port = free_port()
    with Server(site, "--listen", f"127.0.0.1:{port}", "--tls-cert", str(tls["cert"]), "--tls-key", str(tls["key"])):
        yield site, port, tls


def _get(port: int, tls: dict, token: str | None, path: str = "/v1/status") -> tuple[int, dict]:
    ctx = ssl.create_default_context(cafile=str(tls["ca"]))
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token is not None else {})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def _post(port: int, tls: dict, token: str, path: str, body: object) -> tuple[int, dict]:
    ctx = ssl.create_default_context(cafile=str(tls["ca"]))
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        conn.request("POST", path, body=json.dumps(body), headers=headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_tokens_expire_and_every_failed_authentication_is_audited_with_its_address(tls_server):
    site, port, tls = tls_server
    made = asyncio.run(
        as_owner(
            site,
            SecurityChange(Change.GRANT, name="carol", role="monitor"),
            SecurityChange(Change.TOKEN, name="carol", label="ci"),
            SecurityChange(Change.TOKEN, name="carol", label="short", days=1),
        )
    )
    long_lived, short = str(made[1].data["token"]), str(made[2].data["token"])
    now = time.time()
    assert 89 * 86400 < made[1].data["expires_at"] - now <= 90 * 86400  # the site's token-days
    assert _get(port, tls, short)[0] == 200
    # a day passes for the short one: its expiry, as the catalog keeps it, moves into the past
    with contextlib.closing(sqlite3.connect(site / "catalog.db")) as c, c:
        c.execute("UPDATE api_token SET expires_at = ? WHERE label = 'short'", (now - 1,))
    status, answer = _get(port, tls, short)
    assert status == 401 and "expired" in answer["message"], answer
    entry = _audit(site, "action LIKE 'AUTHENTICATE%'")[-1]
    assert (entry["user"], entry["client"], entry["decision"]) == ("carol", "127.0.0.1", "UNAUTHENTICATED")
    assert json.loads(entry["message_ids"]) == ["FPL733E"]
    assert _get(port, tls, long_lived)[0] == 200  # the other token lives on
    listed = cli(site, "security", "token", "list", check=True).stdout
    assert "expired" in listed and "live" in listed
    # too long a life is refused; the maximum is a setting
    owner = RemoteSite(site)
    try:
        res = asyncio.run(owner.change_security(SecurityChange(Change.TOKEN, name="carol", days=400)))
        assert res.rc == 12 and "1 to 365 days" in res.lines()[-1], res.lines()
    finally:
        owner.close_now()
    # no token, an unknown one, a revoked one: each audited with the address
    assert _get(port, tls, None)[0] == 401
    ids = [json.loads(e["message_ids"])[0] for e in _audit(site, "decision = 'UNAUTHENTICATED'")]
    assert ids[-2:] == ["FPL733E", "FPL730E"]


def test_an_address_that_keeps_failing_is_locked_out_and_that_is_audited(tls_server):
    site, port, tls = tls_server
    (made,) = asyncio.run(as_owner(site, SecurityChange(Change.TOKEN, name="dave")))
    good = str(made.data["token"])
    for _ in range(LIMIT):
        assert _get(port, tls, "fpl_" + "x" * 43)[0] == 401
    status, answer = _get(port, tls, good)  # even a good token: the address waits
    assert status == 429 and "too many failed authentications from 127.0.0.1" in answer["message"], answer
    entries = _audit(site, "decision = 'UNAUTHENTICATED'")
    assert len(entries) == LIMIT and all(e["client"] == "127.0.0.1" for e in entries)
    assert json.loads(entries[-1]["message_ids"]) == ["FPL731E", "FPL734E"]
    assert "LOCKED OUT" in entries[-1]["action"]
    with pytest.raises(NotAuthorized, match="too many failed"):
        RemoteSite(url=f"https://127.0.0.1:{port}", token=good, cafile=str(tls["ca"]))


def test_a_syntax_error_from_a_user_without_access_is_audited_as_rejected(tls_server):
    site, port, tls = tls_server
    (made,) = asyncio.run(as_owner(site, SecurityChange(Change.TOKEN, name="eve")))
    eve = RemoteSite(url=f"https://127.0.0.1:{port}", token=str(made.data["token"]), cafile=str(tls["ca"]))
    try:
        res = asyncio.run(eve.command("FRBACKUP COPYPOOL(PAY) BOGUS"))
        assert res.rc == 12 and res.messages[0].id == "IKJ56712I"
        res = asyncio.run(eve.command("LIST COPYPOOL(PAY)"))
        assert res.rc == 36
    finally:
        eve.close_now()
    rejected, denied = _audit(site, "user = 'eve' AND action != 'WHOAMI'")[-2:]
    assert (rejected["decision"], rejected["return_code"]) == ("REJECTED", 12)
    assert (denied["decision"], denied["profile"]) == ("DENIED", "STGADMIN.ARC.LIST")
    # a request that does not fit the API, from a connected user, is audited as rejected too
    status, answer = _get(port, tls, str(made.data["token"]), "/v1/activity?limit=lots")
    assert status == 400 and "limit" in answer["message"], answer
    last = _audit(site, "user = 'eve'")[-1]
    assert last["decision"] == "REJECTED" and "GET /v1/activity" in last["action"]
    # an activity entry may not pose as the site's own work
    forged = {"origin": "AUTO", "command": "FRBACKUP COPYPOOL(PAY)", "rc": 0, "lines": ["RC=0000"]}
    status, answer = _post(port, tls, str(made.data["token"]), "/v1/activity", forged)
    assert status == 400 and "origin: must be one of" in answer["message"], answer
    last = _audit(site, "user = 'eve'")[-1]
    assert last["decision"] == "REJECTED" and "POST /v1/activity" in last["action"]
