"""Who may do what, through the running server: API tokens over loopback TLS for users defined by
roles and profiles, every command allowed or refused exactly as defined and audited each time;
Unix users as the kernel names them (where the machine lets the test create users); the audit
trail finds an edited, removed or reordered entry."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from engine.api import Change, NotAuthorized, SecurityChange
from engine.security import Access, Kind
from server.client import RemoteSite
from tests.server.harness import Server, cli, free_port, make_site, tls_files
from tests.unixusers import curl, curl_json, needs_users, unix_users

#: the function each command is checked under, and the copy pool its restricted profile names
COMMANDS = {
    "LIST COPYPOOL(PAY)": "LIST",
    "QUERY COPYPOOL(PAY)": "QUERY",
    "FRBACKUP COPYPOOL(PAY)": "FRBACKUP",
    "FRRECOV COPYPOOL(HR)": "FRRECOV.HR",
    "FRRECOV COPYPOOL(PAY)": "FRRECOV",
    "HOLD FRBACKUP": "HOLD",
    "RELEASE FRBACKUP": "RELEASE",
    "FRDELETE COPYPOOL(PAY) VERSIONS(1)": "FRDELETE",
}

#: user -> the functions the site's definition below lets them use
MAY = {
    "alice": {"LIST", "QUERY"},  # monitor
    "bob": {"LIST", "QUERY", "FRBACKUP", "FRRECOV"},  # copy operator, but HR's recovery is restricted
    "carol": {"LIST"},  # no role: the generic STGADMIN.ARC.LIST.* UACC(READ) lets everyone list a pool
    "dave": {"LIST", "QUERY", "FRBACKUP", "FRRECOV", "FRRECOV.HR", "HOLD", "RELEASE", "FRDELETE"},  # admin
}


@pytest.fixture
def tls(tmp_path):
    return tls_files(tmp_path)


async def _setup(owner: RemoteSite) -> dict[str, str]:
    """The security administrator (the site's creator) sets up roles, profiles and tokens."""
    changes = [
        SecurityChange(Change.GRANT, kind=Kind.USER, name="alice", role="monitor"),
        SecurityChange(Change.GRANT, kind=Kind.USER, name="bob", role="copy operator"),
        SecurityChange(Change.GRANT, kind=Kind.USER, name="dave", role="administrator"),
        SecurityChange(Change.DEFINE, profile="STGADMIN.ARC.FRRECOV.HR", uacc=Access.NONE),
        SecurityChange(Change.PERMIT, profile="STGADMIN.ARC.FRRECOV.HR", kind=Kind.USER, name="dave"),
        SecurityChange(Change.DEFINE, profile="STGADMIN.ARC.LIST.*", uacc=Access.READ),
    ]
    for c in changes:
        res = await owner.change_security(c)
        assert res.rc == 0, res.lines()
    tokens = {}
    for user in MAY:
        res = await owner.change_security(SecurityChange(Change.TOKEN, name=user, label="test"))
        assert res.rc == 0 and res.data is not None
        tokens[user] = str(res.data["token"])
    return tokens


async def test_the_authorization_matrix_with_tokens_over_tls(tmp_path, tls):
    import asyncio

    site = await asyncio.to_thread(make_site, tmp_path / "site")
    port = free_port()
    args = ("--listen", f"127.0.0.1:{port}", "--tls-cert", str(tls["cert"]), "--tls-key", str(tls["key"]))
    with Server(site, *args):
        owner = RemoteSite(site)
        try:
            tokens = await _setup(owner)
            for pool in ("PAY", "HR"):
                assert (await owner.command(f"FRBACKUP COPYPOOL({pool})")).rc == 0
            url = f"https://127.0.0.1:{port}"
            for user, allowed in MAY.items():
                api = RemoteSite(url=url, token=tokens[user], cafile=str(tls["ca"]))
                try:
                    assert api.who.user == user
                    for command, function in COMMANDS.items():
                        before = len(owner.audit_export().entries)
                        res = await api.command(command)
                        entries = [e for e in owner.audit_export().entries[before:] if e.user == user]
                        assert len(entries) == 1, (user, command, entries)
                        entry = entries[0]
                        assert (entry.user, entry.origin, entry.action) == (user, "CLI", command)
                        if function in allowed:
                            assert res.rc != 36, (user, command, res.lines())
                            assert entry.decision == "ALLOWED"
                        else:
                            assert res.rc == 36, (user, command, res.lines())
                            assert res.messages[0].id == "ARC1806E"
                            assert f"USER {user}" in res.messages[0].text and "STGADMIN.ARC." in res.messages[0].text
                            assert entry.decision == "DENIED" and entry.return_code == 36
                    # the security setup is the security administrator's alone
                    res = await api.change_security(SecurityChange(Change.GRANT, name=user, role="security"))
                    assert res.rc == 36 and res.messages[0].id == "ICH408I"
                    with pytest.raises(NotAuthorized, match="ICH408I"):
                        api.audit_export()
                finally:
                    await api.close()
            # no token, a wrong one, a revoked one: refused before anything happens
            with pytest.raises(NotAuthorized, match="needs an API token"):
                RemoteSite(url=url, cafile=str(tls["ca"]))
            with pytest.raises(NotAuthorized, match="not valid"):
                RemoteSite(url=url, token="fpl_" + "x" * 43, cafile=str(tls["ca"]))
            listed = {t.user: t.id for t in owner.tokens()}
            assert (await owner.change_security(SecurityChange(Change.UNTOKEN, token_id=listed["alice"]))).rc == 0
            with pytest.raises(NotAuthorized, match="not valid"):
                RemoteSite(url=url, token=tokens["alice"], cafile=str(tls["ca"]))
            # the whole trail still verifies
            report = owner.audit_verify()
            assert report.entries > 40 and report.problems == ()
        finally:
            await owner.close()


def _audit_rows(db: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(db)) as c, c:
        return c.execute("SELECT * FROM audit ORDER BY seq").fetchall()


def test_audit_verify_finds_an_edited_a_removed_and_a_reordered_entry(tmp_path, capsys):
    site = make_site(tmp_path / "site")
    for cmd in ("FRBACKUP COPYPOOL(PAY)", "LIST COPYPOOL(PAY)", "QUERY COPYPOOL(PAY)", "HOLD FRBACKUP"):
        cli(site, "hsm", cmd, check=True)
    assert cli(site, "audit", "verify", check=True).returncode == 0
    db = site / "catalog.db"
    with contextlib.closing(sqlite3.connect(db)) as c, c:  # everything in the main file, so a copy of it is the catalog
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pristine = tmp_path / "pristine.sqlite"
    shutil.copy(db, pristine)
    head = (site / "audit.head").read_bytes()

    def restore() -> None:
        for extra in ("-wal", "-shm"):
            Path(f"{db}{extra}").unlink(missing_ok=True)
        shutil.copy(pristine, db)
        (site / "audit.head").write_bytes(head)

    tampering = {
        "edited": "UPDATE audit SET action = 'LIST COPYPOOL(HR)' WHERE seq = 2",
        "removed": "DELETE FROM audit WHERE seq = 2",
        "reordered": "UPDATE audit SET seq = CASE seq WHEN 2 THEN 3 WHEN 3 THEN 2 END WHERE seq IN (2, 3)",
        "edited user": "UPDATE audit SET user = 'nobody' WHERE seq = 4",
        "edited result": "UPDATE audit SET return_code = 36, decision = 'DENIED' WHERE seq = 1",
    }
    for what, sql in tampering.items():
        restore()
        with contextlib.closing(sqlite3.connect(db)) as c, c:
            if what == "reordered":
                c.execute("UPDATE audit SET seq = -1 WHERE seq = 2")
                c.execute("UPDATE audit SET seq = 2 WHERE seq = 3")
                c.execute("UPDATE audit SET seq = 3 WHERE seq = -1")
            else:
                c.execute(sql)
        out = cli(site, "audit", "verify")
        assert out.returncode == 8, (what, out)
        assert "FAILS verification" in out.stderr
    # the newest entries cut off: the head file still names the last one
    restore()
    with contextlib.closing(sqlite3.connect(db)) as c, c:
        c.execute("DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)")
    assert cli(site, "audit", "verify").returncode == 8
    restore()
    out = cli(site, "audit", "export", "--since", "2000-01-01", check=True)
    lines = out.stdout.splitlines()
    assert len(lines) == len(_audit_rows(db)) + 1 and any('"action": "HOLD FRBACKUP"' in line for line in lines)
    assert lines[-1].startswith('{"head": ')  # the head it read up to


@needs_users
def test_unix_users_are_who_the_kernel_says_and_the_socket_group_decides_who_connects():
    import asyncio
    import uuid

    tag = uuid.uuid4().hex[:6]
    group, member, outsider = f"fplg{tag}", f"fplm{tag}", f"fplo{tag}"
    with unix_users(group, {member: True, outsider: False}) as base:
        site = make_site(base / "site")
        with Server(site):
            owner = RemoteSite(site)
            try:
                for change in (
                    SecurityChange(Change.SET, name="share-group", value=group),
                    SecurityChange(Change.GRANT, name=member, role="monitor"),
                ):
                    res = asyncio.run(owner.change_security(change))
                    assert res.rc == 0, res.lines()
            finally:
                owner.close_now()
            sock = site / "run" / "flashpool.sock"
            assert sock.stat().st_mode & 0o777 == 0o660
            status = curl_json(member, sock, "GET", "/v1/status")
            assert status["user"] == member
            listed = curl_json(member, sock, "POST", "/v1/commands", {"text": "LIST COPYPOOL(PAY)"})
            assert listed["rc"] == 0, listed
            refused = curl_json(member, sock, "POST", "/v1/commands", {"text": "FRBACKUP COPYPOOL(PAY)"})
            assert refused["rc"] == 36 and f"USER {member}" in refused["messages"][0]["text"], refused
            may = curl_json(member, sock, "POST", "/v1/may", {"checks": [{"function": "STGADMIN.ARC.FRBACKUP"}]})
            assert may[0]["allowed"] is False
            # not in the socket's group: no connection at all
            out = curl(outsider, sock, "GET", "/v1/status")
            assert out.returncode == 7 and out.stdout == "", out  # curl: could not connect
        entries = [e for e in _audit_export(site) if e.get("user") == member]
        assert {e["action"] for e in entries} >= {"LIST COPYPOOL(PAY)", "FRBACKUP COPYPOOL(PAY)"}


def _audit_export(site: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in cli(site, "audit", "export", check=True).stdout.splitlines()][:-1]
