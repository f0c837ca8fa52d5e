"""`flashpool hsm` through a running server takes the thin path: none of the engine, the ORM,
aiohttp or the console imported; the same output and return codes as the full CLI in process;
a batch is a TSO batch step (continuations, comments, --stop-on, --quiet summaries)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from cli import thin
from cli.batch import one_line, read_commands
from cli.parser import DEFAULT_SITE
from server.routes import route_paths
from tests.server.harness import ROOT, Server, env, make_site

HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "aiohttp",
    "textual",
    "bitarray",
    "engine.site",
    "engine.hsm",
    "engine.catalog",
    "console",
)

BATCH = """\
* nightly checks: a comment
/* another one */

QUERY COPYPOOL(PAY)
LIST COPYPOOL(PAY) -
  ALLVOLS
FRBACKUP COPYPOOL(NOSUCH)
QUERY COPYPOOL(HR)
"""


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path / "site")


def run(site, *args: str, stdin: str | None = None, importtime: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "cli", "--site", str(site), *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env(), cwd=ROOT, timeout=120)


def same(text: str) -> str:
    """Output as two runs compare it: a LIST's time of day left out."""
    return re.sub(r"AT \d\d:\d\d:\d\d ON", "AT hh:mm:ss ON", text)


def said(stderr: str) -> list[str]:
    """Standard error without -X importtime's lines."""
    return [line for line in stderr.splitlines() if not line.startswith("import time:")]


def imported(stderr: str) -> set[str]:
    return {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_the_thin_path_imports_none_of_the_engine_and_answers_as_the_full_cli(site):
    alone = run(site, "hsm", "QUERY COPYPOOL(PAY)")  # no server: the full CLI, in this process
    with Server(site):
        through = run(site, "hsm", "QUERY COPYPOOL(PAY)", importtime=True)
        assert through.returncode == alone.returncode == 0, (through, alone)
        assert through.stdout == alone.stdout
        modules = imported(through.stderr)
        assert "cli.thin" in modules
        assert not [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)], modules
        refused = run(site, "hsm", "FRBACKUP COPYPOOL(NOSUCH)")
        assert refused.returncode == run(site, "--json", "hsm", "FRBACKUP COPYPOOL(NOSUCH)").returncode > 4
        backed = run(site, "hsm", "FRBACKUP COPYPOOL(PAY)", "--wait", importtime=True)  # a script's wait
        assert backed.returncode == 0 and "cli.thin" in imported(backed.stderr), backed
        assert not {m for m in imported(backed.stderr) if any(m == h or m.startswith(h + ".") for h in HEAVY)}
        assert json.loads(run(site, "status", "--json").stdout)["copies"] == 0  # it waited for the copy


def test_a_batch_is_a_tso_batch_step_through_the_server_and_in_process(site):
    alone = run(site, "hsm", "-", stdin=BATCH)
    with Server(site):
        through = run(site, "hsm", "-", stdin=BATCH)
        assert (through.returncode, same(through.stdout)) == (alone.returncode, same(alone.stdout))
        assert through.returncode > 4  # the highest RC of the step: the FRBACKUP of a pool that is not there
        headers = [line for line in through.stdout.splitlines() if line.startswith("> ")]
        assert headers == [
            "> QUERY COPYPOOL(PAY)",
            "> LIST COPYPOOL(PAY) ALLVOLS",
            "> FRBACKUP COPYPOOL(NOSUCH)",
            "> QUERY COPYPOOL(HR)",
        ]
        stopped = run(site, "hsm", "-", "--stop-on", "8", "--quiet", stdin=BATCH)
        lines = stopped.stdout.splitlines()
        assert [line.split(None, 1)[1] for line in lines[:3]] == [
            "QUERY COPYPOOL(PAY)",
            "LIST COPYPOOL(PAY) ALLVOLS",
            "FRBACKUP COPYPOOL(NOSUCH)",
        ]
        assert lines[0].startswith("RC=0") and "1 command(s) not run" in lines[3] and len(lines) == 4
        assert stopped.returncode == through.returncode
    assert run(site, "hsm", "-", "--stop-on", "8", "--quiet", stdin=BATCH).stdout == stopped.stdout


def test_which_command_lines_the_thin_path_takes():
    assert thin.request_of(["hsm", "QUERY COPYPOOL(A)"]) is not None
    site, command, options = thin.request_of(["--site", "/x", "hsm", "-", "--stop-on=4", "--quiet"])  # type: ignore[misc]
    assert (str(site), command, options.stop_on, options.quiet) == ("/x", "-", 4, True)
    assert thin.request_of(["hsm", "Q", "--wait"])[2].wait  # type: ignore[index]  (stderr is no terminal here)
    for other in (["status"], ["hsm"], ["hsm", "--help"], ["volume", "checksum", "A"], []):
        assert thin.request_of(other) is None, other
    assert thin.DEFAULT_SITE == DEFAULT_SITE


def test_the_route_paths_module_is_the_generated_one():
    assert (ROOT / "server" / "route_paths.py").read_text() == route_paths()


def test_continuations_and_comments():
    assert read_commands(["* c\n", "LIST -\n", "  COPYPOOL(A)\n", "\n", "/* x */\n", "QUERY +\n", "COPYPOOL(B)\n"]) == [
        "LIST -\n  COPYPOOL(A)\n",
        "QUERY +\nCOPYPOOL(B)\n",
    ]
    assert one_line("LIST -\n  COPYPOOL(A)\n") == "LIST COPYPOOL(A)"


def test_the_thin_http_reader_takes_every_framing_the_server_may_use():
    import socket

    from cli.thin import _Reader

    for answer, body in (
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", b"hello"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\n\r\n", b"hello"),
        (b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\nbye", b"bye"),
    ):
        ours, theirs = socket.socketpair()
        with ours, theirs:
            theirs.sendall(answer)
            if b"close" in answer:
                theirs.shutdown(socket.SHUT_WR)
            reader = _Reader(ours)
            status, fields = reader.head()
            got = reader.body(fields)
            assert (status.split()[1], got) == (answer.split()[1].decode(), body)


TOOLS = [
    ("volume", "checksum", "PAY001"),
    ("dataset", "list"),
    ("dataset", "list", "DB0A.DSNDBC.PAYROLL.**", "--json"),
    ("dataset", "checksum", "DB0A.DSNDBC.HR.TS01.I0001.A001"),
    ("dataset", "checksum", "NOT.CATALOGED"),
    ("security", "list"),
    ("security", "list", "STGADMIN.ARC.FR*", "--json"),
    ("security", "settings"),
    ("security", "token", "list"),
    ("security", "alter", "STGADMIN.ARC.NOSUCH", "--uacc", "READ"),
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("thin") / "demo"
    subprocess.run(
        [sys.executable, "-m", "cli", "init", "--demo", "--site", str(path)],
        check=True,
        env=env(),
        cwd=ROOT,
        timeout=120,
    )
    return path


def test_the_site_tools_take_the_thin_path_and_answer_as_in_process(demo):
    """`volume`, `dataset`, `security`, `audit` and `status` through a server: the same answers and
    return codes as in this process, and none of the engine imported."""
    alone = {args: run(demo, *args) for args in TOOLS}
    assert alone[TOOLS[0]].returncode == 0 and alone[TOOLS[4]].returncode == 12, alone
    whoami_alone = json.loads(run(demo, "security", "whoami", "--json").stdout)
    with Server(demo):
        for args in TOOLS:
            through = run(demo, *args, importtime=True)
            assert (through.returncode, through.stdout) == (alone[args].returncode, alone[args].stdout), args
            assert said(through.stderr) == said(alone[args].stderr), args  # a refusal's words too
            heavy = {m for m in imported(through.stderr) if any(m == h or m.startswith(h + ".") for h in HEAVY)}
            assert "cli.thin" in imported(through.stderr) and not heavy, (args, heavy)
        whoami = json.loads(run(demo, "security", "whoami", "--json").stdout)
        assert whoami == {**whoami_alone, "mode": "server"} and whoami_alone["mode"] == "embedded"
        before = run(demo, "volume", "checksum", "PAY002").stdout
        damaged = run(demo, "volume", "damage", "PAY002", "--tracks", "3-4")
        assert damaged.returncode == 0 and "PAY002 tracks 3-4 overwritten" in damaged.stdout
        assert run(demo, "volume", "checksum", "PAY002").stdout != before
        defined = run(demo, "security", "define", "STGADMIN.ARC.THIN", "--uacc", "READ")
        assert defined.returncode == 0, defined
        assert "STGADMIN.ARC.THIN" in run(demo, "security", "list", "STGADMIN.ARC.THIN").stdout
        token = run(demo, "security", "token", "create", "root", "--label", "thin", "--json")
        assert json.loads(token.stdout)["data"]["token"]
        verified = run(demo, "audit", "verify", "--json", importtime=True)
        assert verified.returncode == 0 and json.loads(verified.stdout.splitlines()[-1])["ok"]
        exported = run(demo, "audit", "export").stdout.splitlines()
        actions = [json.loads(line).get("action", "") for line in exported[:-1]]
        assert any("STGADMIN.ARC.THIN" in a for a in actions) and "head" in json.loads(exported[-1])
        status = json.loads(run(demo, "status", "--json", importtime=True).stdout.splitlines()[-1])
        assert status["running"] and status["pid"] > 0
    assert run(demo, "security", "list", "STGADMIN.ARC.THIN").stdout.startswith("STGADMIN.ARC.THIN")
