"""A console knows its connection: within 2 s of its server stopping it says so in the header and
the status line, shows nothing as live, greys every changing action and says what quitting leaves;
it reconnects by itself when a server runs again. `flashpool stop` says what runs and who is
attached, and asks for --force while copies run."""

from __future__ import annotations

import asyncio
import time

import pytest

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
        assert srv.proc.wait(30) == 0
