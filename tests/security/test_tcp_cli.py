"""The CLI as a client over TCP (FLASHPOOL_SERVER, FLASHPOOL_TOKEN, FLASHPOOL_CAFILE): every
refusal is its one message and exit code, with no aiohttp dump after it; a FLASHPOOL_SERVER that
is not an https URL is a usage error; messages name the server's URL as it was given."""

from __future__ import annotations

import getpass
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.server.harness import ROOT, Server, cli, env, free_port, make_site


def over_tcp(
    site: Path, url: str, token: str | None, tls: dict[str, Path], *args: str
) -> subprocess.CompletedProcess[str]:
    e = env() | {"FLASHPOOL_SERVER": url, "FLASHPOOL_CAFILE": str(tls["ca"])}
    e.pop("FLASHPOOL_TOKEN", None)
    if token is not None:
        e["FLASHPOOL_TOKEN"] = token
    cmd = [sys.executable, "-m", "cli", *args, "--site", str(site)]
    return subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=ROOT, timeout=120)


@pytest.fixture
def served(tmp_path, tls):
    site = make_site(tmp_path / "site")
    port = free_port()
    with Server(site, "--listen", f"127.0.0.1:{port}", "--tls-cert", str(tls["cert"]), "--tls-key", str(tls["key"])):
        yield site, f"https://127.0.0.1:{port}", tls


def _token(site: Path) -> tuple[int, str]:
    out = cli(site, "security", "token", "create", getpass.getuser(), check=True).stdout
    number = int(re.search(r"TOKEN (\d+) CREATED", out).group(1))  # type: ignore[union-attr]
    return number, re.search(r"fpl_\S+", out).group(0)  # type: ignore[union-attr]


def _clean(out: subprocess.CompletedProcess[str]) -> None:
    for dump in ("Unclosed", "Traceback", "internal error", "Task was destroyed"):
        assert dump not in out.stderr, out


def test_every_refusal_over_tcp_is_one_message_and_nothing_left_unclosed(served):
    site, url, tls = served
    live = _token(site)[1]
    ok = over_tcp(site, url, live, tls, "hsm", "QUERY COPYPOOL(PAY)")
    assert ok.returncode == 0, ok
    _clean(ok)
    revoked_id, revoked = _token(site)
    cli(site, "security", "token", "revoke", str(revoked_id), check=True)
    for token, why in ((revoked, "revoked"), ("fpl_unknown", "unknown"), (None, "needs an API token")):
        out = over_tcp(site, url, token, tls, "hsm", "QUERY COPYPOOL(PAY)")
        assert out.returncode == 12 and why in out.stderr, out
        _clean(out)
    whoami = over_tcp(site, url, "fpl_unknown", tls, "security", "whoami")
    assert whoami.returncode == 12 and "unknown" in whoami.stderr, whoami
    _clean(whoami)
    nobody = f"https://127.0.0.1:{free_port()}"
    for args in (("hsm", "QUERY COPYPOOL(PAY)"), ("security", "whoami")):
        out = over_tcp(site, nobody, live, tls, *args)
        assert out.returncode == 12 and f"the server at {nobody} cannot be reached" in out.stderr, out
        _clean(out)


@pytest.mark.parametrize("url", ["notaurl", "http://127.0.0.1:8443", "https://", "https://127.0.0.1:99999"])
def test_a_server_url_that_is_not_https_is_a_usage_error(tmp_path, tls, url):
    site = make_site(tmp_path / "site")
    for args in (("hsm", "QUERY COPYPOOL(PAY)"), ("security", "whoami")):
        out = over_tcp(site, url, "fpl_x", tls, *args)
        assert out.returncode == 2, out
        assert f"FLASHPOOL_SERVER={url!r} is not an https URL" in out.stderr, out
        _clean(out)


def test_status_events_and_stop_reach_the_server_flashpool_server_names(tmp_path, tls):
    site = make_site(tmp_path / "site")
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    elsewhere = tmp_path / "none"  # no site, no socket: only FLASHPOOL_SERVER names the server
    srv = Server(site, "--listen", f"127.0.0.1:{port}", "--tls-cert", str(tls["cert"]), "--tls-key", str(tls["key"]))
    with srv:
        token = _token(site)[1]
        status = over_tcp(elsewhere, url, token, tls, "status")
        assert status.returncode == 0 and f"runs as process {srv.pid}" in status.stdout, status
        _clean(status)
        e = env() | {"FLASHPOOL_SERVER": url, "FLASHPOOL_CAFILE": str(tls["ca"]), "FLASHPOOL_TOKEN": token}
        cmd = [sys.executable, "-m", "cli", "events", "--count", "1", "--json", "--site", str(elsewhere)]
        follower = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e, cwd=ROOT)
        deadline = time.monotonic() + 60
        while follower.poll() is None:  # a command is an event (its activity log line)
            assert time.monotonic() < deadline, "no event came over TCP"
            cli(site, "hsm", "QUERY COPYPOOL(PAY)")
            time.sleep(0.2)
        out, err = follower.communicate()
        assert follower.returncode == 0 and json.loads(out)["type"], (out, err)
        assert "Unclosed" not in err and "Traceback" not in err, err
        stopped = over_tcp(elsewhere, url, token, tls, "stop")
        assert stopped.returncode == 0, stopped
        assert f"the server at {url} (process {srv.pid}) has stopped" in stopped.stdout, stopped
        _clean(stopped)
        assert srv.proc is not None and srv.proc.wait(30) == 0
    gone = over_tcp(elsewhere, url, token, tls, "status")
    assert gone.returncode == 3 and f"the server at {url} cannot be reached" in gone.stdout, gone
    refused = over_tcp(elsewhere, url, token, tls, "stop")
    assert refused.returncode == 12 and "nothing was stopped" in refused.stderr, refused
    for out in (gone, refused):
        _clean(out)
