"""The web console's logins at the server (server/sessions.py), without a browser: passwords and
API tokens, failures audited and rate-limited per address, an expired password replaced in the
login, a user without access given no session, sessions that run as their user with origin WEB,
end at logout and lapse when idle, kept only as digests, and taken on the Unix socket only."""

from __future__ import annotations

import http.client
import json
import socket
import sqlite3
import time
from pathlib import Path

import pytest

from engine.security import Identity, auditkey
from engine.site import Site
from server import onbehalf, sockets
from tests.server.harness import Server, cli, make_site
from tests.web.browser import PASSWORD, USERS, add_users, set_password


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("flashpool", timeout=60)
        self.unix = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix)


def call(site: Path, method: str, path: str, body: object = None, bearer: str = "") -> tuple[int, dict]:
    with sockets.short_path(sockets.socket_path(site)) as name:
        conn = _UnixHTTP(name)
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {bearer}"} if bearer else {})
        conn.request(method, path, json.dumps(body).encode() if body is not None else None, headers)
        answer = conn.getresponse()
        data = answer.read()
        conn.close()
    return answer.status, json.loads(data) if data else {}


def login(site: Path, client: str = "192.0.2.7", idle: float = 60.0, **form: str) -> tuple[int, dict]:
    return call(site, "POST", "/v1/login", {"client": client, "idle": idle, **form})


def audit(site: Path) -> list[dict]:
    out = cli(site, "audit", "export", check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"seq"')]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    site = make_site(tmp_path_factory.mktemp("weblogin") / "site")
    add_users(site, {"alice": "operator", "bob": "operator", "carl": "monitor", "dave": "monitor"} | USERS)
    with Server(site):
        yield site


def test_a_password_login_gives_a_session_that_runs_as_its_user_with_origin_web(served):
    status, answer = login(served, user="alice", password=PASSWORD)
    assert status == 200 and answer["user"] == "alice"
    session = answer["session"]
    status, who = call(served, "GET", "/v1/whoami", bearer=session)
    assert status == 200 and (who["user"], who["via"]) == ("alice", "web")
    status, res = call(served, "POST", "/v1/commands", {"text": "QUERY COPYPOOL(PAY)", "origin": "CLI"}, session)
    assert status == 200 and res["rc"] == 0
    entries = audit(served)
    query = [e for e in entries if e["action"].startswith("QUERY COPYPOOL(PAY)") and e["user"] == "alice"]
    assert query and query[-1]["origin"] == "WEB" and query[-1]["client"] == "192.0.2.7"  # not what it claimed
    logon = [e for e in entries if e["action"] == "LOGON WEB CONSOLE" and e["user"] == "alice"]
    assert logon and "FPL737I" in logon[-1]["message_ids"]
    with sqlite3.connect(Site.catalog_url(served).removeprefix("sqlite:///")) as db:
        stored = [r[0] for r in db.execute("SELECT digest FROM web_session")]
        hashes = [r[0] for r in db.execute("SELECT hash FROM user_password")]
    assert session not in stored and all(len(d) == 64 for d in stored)  # only the secret's SHA-256
    assert all(PASSWORD not in h and h.startswith("scrypt") for h in hashes), hashes


def test_wrong_passwords_are_audited_and_lock_the_address_and_the_user_out(served):
    for _ in range(4):
        status, answer = login(served, "198.51.100.9", user="bob", password="guess")
        assert status == 401, answer
    status, _ = login(served, "198.51.100.9", user="bob", password="guess")  # the fifth locks both out
    assert status == 401
    status, answer = login(served, "198.51.100.9", user="bob", password=PASSWORD)  # even the right one
    assert status == 429 and "too many failed logins" in answer["message"]
    assert login(served, "198.51.100.9", user="alice", password=PASSWORD)[0] == 429  # the address is locked
    assert login(served, "198.51.100.10", user="bob", password=PASSWORD)[0] == 429  # so is the user
    assert login(served, "198.51.100.10", user="alice", password=PASSWORD)[0] == 200  # another user, elsewhere
    for padded in ("bob ", " bob", "bob  ", "\tbob"):  # the one user the lock counts, however it is written
        assert login(served, "198.51.100.11", user=padded, password=PASSWORD)[0] == 429, padded
    failed = [e for e in audit(served) if e["client"] == "198.51.100.9" and "FPL735E" in e["message_ids"]]
    assert len(failed) == 5 and "FPL734E" in failed[-1]["message_ids"]
    assert all(e["origin"] == "WEB" and e["decision"] == "UNAUTHENTICATED" for e in failed)


def test_a_burst_of_guesses_cannot_outrun_the_count_nor_many_addresses_spread_it(served):
    """Forty guesses at once from one address: at most the limit are checked, the rest refused
    unchecked; then guesses for one user spread over twenty addresses stop at the same limit."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(lambda _: login(served, "203.0.113.5", user="carl", password="guess")[0], range(40)))
    assert answers.count(401) <= 5 and answers.count(429) >= 35, answers
    spread = [login(served, f"203.0.113.{n}", user="dave", password="guess")[0] for n in range(10, 30)]
    assert spread.count(401) == 5 and set(spread[5:]) == {429}, spread


def test_a_session_ends_when_the_password_changes(served):
    session = login(served, "192.0.2.60", user="alice", password=PASSWORD)[1]["session"]
    assert call(served, "GET", "/v1/whoami", bearer=session)[0] == 200
    set_password(served, "alice")  # an administrator sets it (here: the same words)
    assert call(served, "GET", "/v1/whoami", bearer=session)[0] == 401


def test_a_user_without_access_gets_no_session(served):
    status, answer = login(served, "192.0.2.20", user="nora", password=PASSWORD)
    assert status == 403 and answer["message"].startswith("ICH408I") and "session" not in answer
    denied = [e for e in audit(served) if e["user"] == "nora" and e["action"] == "LOGON WEB CONSOLE"]
    assert denied and denied[-1]["decision"] == "DENIED"


def test_an_api_token_logs_in_too(served):
    made = json.loads(cli(served, "security", "token", "create", "mona", "--json", check=True).stdout)
    status, answer = login(served, "192.0.2.30", token=made["data"]["token"])
    assert status == 200 and answer["user"] == "mona"
    assert login(served, "192.0.2.31", token="fpl_not_a_token")[0] == 401


def test_an_expired_password_is_replaced_in_the_login_itself(served):
    set_password(served, "mona", PASSWORD, "--expire")
    status, answer = login(served, "192.0.2.40", user="mona", password=PASSWORD)
    assert status == 403 and answer["error"] == "password-expired"
    status, answer = login(served, "192.0.2.40", user="mona", password=PASSWORD, new_password=PASSWORD)
    assert status == 422  # not the one it replaces
    new = "a much better passphrase 7"
    status, answer = login(served, "192.0.2.40", user="mona", password=PASSWORD, new_password=new)
    assert status == 200 and answer["user"] == "mona"
    assert login(served, "192.0.2.41", user="mona", password=PASSWORD)[0] == 401
    assert login(served, "192.0.2.41", user="mona", password=new)[0] == 200


def test_a_session_ends_at_logout_and_lapses_when_idle(served):
    session = login(served, "192.0.2.50", user="alice", password=PASSWORD)[1]["session"]
    assert call(served, "POST", "/v1/session", bearer=session)[0] == 200
    status, answer = call(served, "POST", "/v1/logout", bearer=session)
    assert status == 200 and answer["ended"]
    assert call(served, "GET", "/v1/whoami", bearer=session)[0] == 401
    short = login(served, "192.0.2.51", idle=1.0, user="alice", password=PASSWORD)[1]["session"]
    assert call(served, "GET", "/v1/whoami", bearer=short)[0] == 200
    time.sleep(1.5)
    assert call(served, "POST", "/v1/session", bearer=short)[0] == 401
    assert call(served, "GET", "/v1/whoami", bearer=short)[0] == 401
    gone = [e for e in audit(served) if e["client"] in ("192.0.2.50", "192.0.2.51") and "FPL736E" in e["message_ids"]]
    assert len(gone) >= 2


def test_logins_are_taken_on_the_unix_socket_only(tmp_path):
    from tests.server.harness import free_port, tls_files

    site = make_site(tmp_path / "site")
    set_password(site, "alice")
    files = tls_files(tmp_path)
    port = free_port()
    args = ("--listen", f"127.0.0.1:{port}", "--tls-cert", str(files["cert"]), "--tls-key", str(files["key"]))
    with Server(site, *args):
        import ssl

        ctx = ssl.create_default_context(cafile=str(files["ca"]))
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
        body = json.dumps({"client": "x", "idle": 60, "user": "alice", "password": PASSWORD})
        conn.request("POST", "/v1/login", body, {"Content-Type": "application/json"})
        assert conn.getresponse().status == 404
        conn.close()


def test_a_login_another_host_of_the_plex_forwards_counts_against_its_client_not_that_host(served):
    """A standby forwards its clients' logins sealed with their user (server.onbehalf): failures
    count against that user and the address, not against the forwarding host's own user, so one
    client's guessing through it neither goes uncounted nor locks out the others it serves."""
    key = auditkey.load(served)
    assert key is not None
    body = json.dumps({"client": "198.51.100.77", "idle": 60, "user": "erin", "password": "not it"}).encode()

    def forwarded(caller: str, raw: bytes) -> int:
        headers = {"Content-Type": "application/json"} | onbehalf.seal(
            key, Identity(caller, (), "unix", "pid 4242"), "SYS2", "POST", "/v1/login", raw, time.time()
        )
        with sockets.short_path(sockets.socket_path(served)) as name:
            conn = _UnixHTTP(name)
            conn.request("POST", "/v1/login", raw, headers)
            status = conn.getresponse().status
            conn.close()
        return status

    assert [forwarded("dave", body) for _ in range(5)] == [401] * 5
    other = json.dumps({"client": "198.51.100.77", "idle": 60, "user": "alice", "password": PASSWORD}).encode()
    assert forwarded("dave", other) == 429  # dave at that address is locked out, whoever he names
    assert forwarded("carl", other) == 200  # another client of the same host at the same address is not
    assert login(served, "198.51.100.77", user="alice", password=PASSWORD)[0] == 200  # nor this test's own user
    trail = audit(served)
    assert sum(1 for e in trail if "FPL735E" in e["message_ids"] and e["client"] == "198.51.100.77") == 5
