"""A console knows its connection: within 2 s of its server stopping it says so in the header and
the status line, shows nothing as live, greys every changing action and says what quitting leaves;
it reconnects by itself when a server runs again. `flashpool stop` says what runs and who is
attached, and asks for --force while copies run."""

from __future__ import annotations

import argparse
import asyncio
import time

import pytest

from cli.serve import _stop_through
from engine.messages import CommandResult
from server.client import RemoteSite
from tests.server.harness import Server, cli, make_site


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path / "site")


async def _until(predicate, seconds: float) -> float:
    """How long it took (fails after `seconds`)."""
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < seconds, "not within the time allowed"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def test_a_console_says_its_server_is_gone_within_two_seconds_and_reconnects(site):
    from console.app import FlashpoolApp
    from console.widgets.status_line import StatusLine
    from tests.console.scenes import settle

    srv = Server(site, "--copy-rate", "5").start()
    api = RemoteSite(site)
    try:
        assert (await api.command("FRBACKUP COPYPOOL(PAY)")).rc == 0
        app = FlashpoolApp(api, refresh_interval=0.5, warm=False)
        async with app.run_test(size=(130, 40)) as pilot:
            await settle(pilot)
            await _until(lambda: app.status_now is not None and app.status_now.copies > 0, 10)
            line = app.screen.query_one(StatusLine)
            assert "⟳ live" in str(line.render()) and app.check_action("backup", ()) is True
            old_pid = srv.pid
            srv.stop()
            took = await _until(lambda: "server gone" in str(line.render()), 2.0)
            shown = str(line.render())
            assert "NOT LIVE" in shown and "copies" not in shown and "live" not in shown.replace("NOT LIVE", ""), shown
            assert "SERVER GONE" in app.sub_title
            assert app.check_action("backup", ()) is None and app.check_action("recover", ()) is None
            assert any("server is gone" in text for text in app.in_progress())
            srv = Server(site, "--copy-rate", "5").start()
            await _until(lambda: "server gone" not in str(line.render()), 5.0)
            assert f"server pid {srv.pid}" in str(line.render()) and srv.pid != old_pid
            assert "SERVER GONE" not in app.sub_title and app.check_action("backup", ()) is True
            from console import textual_internals as internals

            toasts = [n.title for n in internals.notifications(app)]
            assert "server gone" not in toasts, toasts  # taken back: it would say so beside FPL621I
            print(f"the console saw its server gone after {took:.2f} s")
    finally:
        await api.close()
        srv.stop()


def test_stop_says_what_runs_and_wants_force_while_copies_run(site):
    with Server(site, "--copy-rate", "2") as srv:
        assert cli(site, "hsm", "FRBACKUP COPYPOOL(PAY)").returncode == 0
        refused = cli(site, "stop")
        assert refused.returncode == 8, refused
        assert "2 background copies run" in refused.stdout and "--force" in refused.stdout
        assert srv.proc is not None and srv.proc.poll() is None, "the server still runs"
        stopped = cli(site, "stop", "--force")
        assert stopped.returncode == 0, stopped
        assert "has stopped; 2 background copies resume where they are at its next start" in stopped.stdout
        assert srv.proc.poll() == 0, "it said 'has stopped' while the server's process still ran"


def test_stop_wants_force_while_a_background_dump_runs_and_waits_until_the_server_has_finished_it(capsys):
    """A server asked to stop lets its socket go at once, then finishes its background dumps
    (RETURNCONTROL(FREND)) before it exits: `stop` asks for --force while one runs, as for
    copies, and with it says what the server finishes and waits for its process to exit."""
    from engine.api.values import SiteStatus

    st = SiteStatus(
        site="site", demo=False, mode="server", user="root", clock=0.0, copies=0, out_of_sync=0, tracks=0, parked={},
        background=1, holds=(), pid=4242, started_at=0.0, clients=0, backlog=0, version="", durable=True,
    )  # fmt: skip
    exited: list[bool] = []

    class Stopping:
        pid = 4242

        async def stop_server(self) -> CommandResult:
            return CommandResult("SERVER STOP")

        async def close(self) -> None:
            pass

    def let_go() -> bool:
        exited.append(True)
        return True

    args = argparse.Namespace(force=False, json=False, quiet=False)
    assert asyncio.run(_stop_through(args, Stopping(), st, "the server of site", let_go)) == 8
    refused = capsys.readouterr().out
    assert refused.startswith(
        "flashpool: 1 background dump (RETURNCONTROL(FREND)) runs in the server of site; stopped, it finishes it "
        "before it exits, serving no client meanwhile; no client attached. Stop it anyway with --force"
    ), refused
    assert not exited
    args.force = True
    assert asyncio.run(_stop_through(args, Stopping(), st, "the server of site", let_go)) == 0
    out, err = capsys.readouterr()
    assert err == (
        "flashpool: the server of site (process 4242) finishes 1 background dump (RETURNCONTROL(FREND)) before it "
        "exits, serving no client meanwhile; waiting\n"
    )
    assert exited == [True] and out == (
        "flashpool: the server of site (process 4242) has stopped; its background dump ended (the activity log has "
        "the result)\n"
    )


def _started(site, *args: str):
    import subprocess
    import sys

    from tests.server.harness import ROOT, env

    cmd = [sys.executable, "-m", "cli", *args, "--site", str(site)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=ROOT)


def test_stop_names_cli_clients_waiting_apart_from_consoles_and_the_client_is_told(site):
    """`hsm --wait` (no terminal: the thin path) is a CLI client waiting on its command, not a
    console; stopped under it, it says the server stopped and its copies resume, rc 12."""
    with Server(site, "--copy-rate", "2") as srv:
        waiting = _started(site, "hsm", "FRBACKUP COPYPOOL(PAY)", "--wait")
        api = RemoteSite(site)
        try:
            deadline = time.monotonic() + 30
            while api.status().clients < 1:
                assert time.monotonic() < deadline, "the waiting client did not attach"
                time.sleep(0.1)
            st = api.status()
            assert (st.consoles, st.waiting, st.clients) == (0, 1, 1), st
        finally:
            api.close_now()
        shown = cli(site, "status", check=True).stdout
        assert "clients 1 (0 console(s), 1 CLI client(s) waiting on a command)" in shown, shown
        refused = cli(site, "stop")
        assert refused.returncode == 8, refused
        assert "console" not in refused.stdout and "1 CLI client(s) waiting on a command" in refused.stdout, refused
        stopped = cli(site, "stop", "--force")
        assert stopped.returncode == 0 and "console" not in stopped.stdout, stopped
        assert "1 CLI client(s) waiting on a command are told the server stopped" in stopped.stdout, stopped
        assert srv.proc is not None and srv.proc.wait(30) == 0
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 12, (out, err)
    assert "Broken pipe" not in err and "cannot be reached" not in err, err
    assert "the server of" in err and "stopped while this command waited" in err and "resume" in err, err


async def test_a_console_is_counted_as_one(site):
    with Server(site):
        console = RemoteSite(site, kind="console")
        try:
            stream = console.events()
            first = asyncio.ensure_future(anext(stream))
            await _until(lambda: console.status().consoles == 1, 10)
            st = console.status()
            assert (st.consoles, st.waiting, st.clients) == (1, 0, 1), st
            first.cancel()
        finally:
            await console.close()
