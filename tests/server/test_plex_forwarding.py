"""Any host of the plex accepts any command (issue 41): a host standing by serves its own socket
and forwards each request to the host that drives the site, on behalf of the client who asked
(server.onbehalf), so the command runs as that client and the audit trail names it and the host
it came through; reads answer as the driving host does; an event stream attached to the standby
sees what the other host's clients do. A header that claims to be forwarded without the site's
seal is refused and audited."""

from __future__ import annotations

import asyncio
import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from engine.events import ActivityLogged, Event, FlashCopyChanged
from server import sockets
from server.client import RemoteSite
from tests.catalogs import postgresql_only
from tests.server.harness import ROOT, cli, env, make_site, plex_of_two

pytestmark = postgresql_only


def until(check, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.05)


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path) -> None:
        super().__init__("localhost", timeout=10)
        self.path_ = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        with sockets.short_path(self.path_) as name:
            self.sock.connect(name)


@pytest.fixture
def plex(tmp_path, catalog_url):
    site = make_site(tmp_path / "site", catalog_url=catalog_url)
    first, second = plex_of_two(site)
    yield site, first, second
    for host in (second, first):
        if host.proc is not None:  # not stopped by the test
            host.stop()


def audit(site) -> list[dict]:
    out = cli(site, "audit", "export", check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"seq"')]


def test_a_standby_host_takes_any_command_and_runs_it_on_the_driving_host_as_its_client(plex):
    site, first, _ = plex
    done = cli(site, "hsm", "FRBACKUP COPYPOOL(HR)", system="SYS2")
    assert done.returncode == 0 and "ARC1802I" in done.stdout, done
    st = json.loads(cli(site, "status", "--json", system="SYS2").stdout)
    assert st["pid"] == first.pid  # the driving host answered
    assert {h["system"]: h["domains"] != [] for h in st["hosts"]} == {"SYS1": True, "SYS2": False}
    # two pools at once, one through each host
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "cli", "hsm", f"FRBACKUP COPYPOOL({pool})", "--site", str(site)],
            env=env(system),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for pool, system in (("PAY", None), ("HR", "SYS2"))
    ]
    assert [r.wait(60) for r in runs] == [0, 0]
    # a command for a volume the other host owns works through the standby, and reads the same
    here, there = cli(site, "volume", "checksum", "PAY001"), cli(site, "volume", "checksum", "PAY001", system="SYS2")
    assert here.returncode == there.returncode == 0 and here.stdout == there.stdout
    entries = [e for e in audit(site) if e["action"] == "FRBACKUP COPYPOOL(HR)"]
    assert len(entries) == 2 and all(e["user"] == "root" and "through SYS2" in e["client"] for e in entries), entries


def test_an_event_stream_on_the_standby_sees_what_the_other_hosts_clients_do(plex):
    site, _, _ = plex
    follower = subprocess.Popen(
        [sys.executable, "-m", "cli", "events", "--json", "--site", str(site)],
        env=env("SYS2"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        until(lambda: json.loads(cli(site, "status", "--json").stdout)["clients"] >= 1)
        started = time.monotonic()
        assert cli(site, "hsm", "FRBACKUP COPYPOOL(PAY)").returncode == 0  # on the driving host's socket
        assert follower.stdout is not None
        for line in follower.stdout:
            event = json.loads(line)
            if event["type"] == "ActivityLogged" and event["command"].startswith("FRBACKUP COPYPOOL(PAY)"):
                break
        assert time.monotonic() - started < 5
    finally:
        follower.kill()
        follower.wait()
    # the client gone, its quiet stream through the standby is let go on the driving host too
    until(lambda: json.loads(cli(site, "status", "--json").stdout)["clients"] == 0, timeout=15)


def test_a_forged_on_behalf_header_is_refused_and_audited(plex):
    site, _, _ = plex
    forged = {"user": "root", "groups": [], "via": "unix", "client": "", "system": "SYS9", "method": "GET"}
    conn = UnixHTTP(sockets.socket_path(site))
    conn.request(
        "GET",
        "/v1/status",
        headers={"X-Flashpool-On-Behalf": json.dumps(forged), "X-Flashpool-On-Behalf-Seal": "0" * 64},
    )
    answer = conn.getresponse()
    assert answer.status == 401 and b"FPL776E" in answer.read()
    refused = [e for e in audit(site) if "FPL776E" in e["message_ids"]]
    assert refused and refused[-1]["decision"] == "UNAUTHENTICATED"


def test_a_client_on_a_host_that_stops_reaches_the_one_that_answers_now(plex):
    """A client that reached the site through a host's own socket (the site's socket did not
    answer when it connected) is not stranded when that host stops: its event stream, and its
    next request, find the socket that answers now (the host that took the site over)."""
    site, first, second = plex
    sockets.socket_path(site).unlink()  # the site's own socket does not answer when the client connects
    remote = RemoteSite(site)

    async def across_the_stop() -> None:
        seen: list[Event] = []

        async def follow() -> None:
            async for event in remote.events():
                seen.append(event)

        following = asyncio.create_task(follow())
        try:
            await asyncio.to_thread(until, lambda: remote.status().clients >= 1)  # the stream is open
            await asyncio.to_thread(first.stop)  # SYS2 takes the site over, serves the site's socket again
            # the stream broke and is back, before this client asked anything
            await asyncio.to_thread(until, lambda: sum(isinstance(e, FlashCopyChanged) for e in seen) >= 2)
            assert remote._socket != sockets.socket_path(site, "SYS1")  # the site's, or SYS2's own
            assert cli(site, "hsm", "FRBACKUP COPYPOOL(PAY)").returncode == 0  # another client
            await asyncio.to_thread(
                until, lambda: any(isinstance(e, ActivityLogged) and "COPYPOOL(PAY)" in e.command for e in seen)
            )
        finally:
            following.cancel()

    try:
        assert remote._socket == sockets.socket_path(site, "SYS1")
        assert remote.status().pid == first.pid
        asyncio.run(across_the_stop())
        assert remote.status().pid == second.pid == remote.pid  # not ServerGone
        assert asyncio.run(remote.command("FRBACKUP COPYPOOL(HR)")).rc == 0
    finally:
        remote.close_now()


def test_a_request_the_driving_host_took_and_dropped_may_have_run_and_is_not_sent_again(tmp_path, catalog_url):
    """The driving host dies mid-command (SIGKILL), after it read the request: the standby says
    the request may have run (FPL779E), never that it could not forward it (FPL777E, which an
    operator answers by issuing it again: a second backup). What listens on the dead host's
    socket, while its lease still runs, reads the request and drops the connection, as it did."""
    site = make_site(tmp_path / "site", catalog_url=catalog_url)
    first, second = plex_of_two(site, lease=60)
    try:
        first.stop(signal.SIGKILL)
        path = sockets.socket_path(site, "SYS1")
        path.unlink()
        taken: list[bytes] = []
        with socket.socket(socket.AF_UNIX) as listener, sockets.short_path(path) as name:
            listener.bind(name)
            listener.listen()

            def take_and_drop() -> None:
                while True:
                    try:
                        conn, _ = listener.accept()
                    except OSError:
                        return
                    with conn:
                        taken.append(conn.recv(1 << 16))

            threading.Thread(target=take_and_drop, daemon=True).start()
            done = cli(site, "hsm", "FRBACKUP COPYPOOL(HR) DUMP TOKEN(A2)", system="SYS2")
            listener.shutdown(socket.SHUT_RDWR)
        assert done.returncode == 12 and done.stderr.startswith(
            "flashpool: FPL779E SYSTEM SYS2 FORWARDED THE REQUEST TO SYSTEM SYS1, WHICH DROPPED THE CONNECTION"
        ), done
        assert "WHETHER IT RAN IS NOT KNOWN; check LIST and the activity log" in done.stderr, done
        assert len(taken) == 1 and b"FRBACKUP COPYPOOL(HR) DUMP TOKEN(A2)" in taken[0]  # sent once, not again
    finally:
        second.stop()
