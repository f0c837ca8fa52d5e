"""The console never shows what is not so, through its server stopping, dying and coming back:
random operator keys in a console connected to a real `flashpool serve`, random commands from a
second client, the server stopped (SIGTERM) or killed (SIGKILL) and started again at random.
After every step, while the server runs, each figure the visible screen shows agrees with what
the API answers (within the time events take to arrive); while it is gone, the console says so
and offers no changing action. FLASHPOOL_SOAK makes it ten times longer (`make soak`)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time

import pytest

from console.screens.pool_detail import PoolDetailScreen
from console.screens.pools import PoolsScreen
from console.widgets.status_line import StatusLine
from server.client import RemoteSite
from tests.console.test_console_truth import check_detail, check_pools, check_status
from tests.server.harness import Server, make_site

STEPS = 600 if os.environ.get("FLASHPOOL_SOAK") else 60
KEYS = ["1", "1", "j", "k", "enter", "escape", "j", "enter"]
POOLS = ["PAY", "HR"]
#: how long a change may take to reach a console through the server's event stream
CONVERGE = 5.0


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path / "site")


class SyncView:
    """The second client's answers, read off the event loop (RemoteSite's reads block)."""

    def __init__(self, api: RemoteSite) -> None:
        self.api = api
        self.answers: dict[str, object] = {}

    async def read(self, pools: list[str]) -> None:
        def fetch() -> dict[str, object]:
            return {
                "pools": self.api.pools(),
                "alerts": self.api.alerts(),
                "status": self.api.status(),
                **{f"versions:{p}": self.api.versions(p) for p in pools},
            }

        self.answers = await asyncio.to_thread(fetch)

    def pools(self) -> object:
        return self.answers["pools"]

    def versions(self, pool: str) -> object:
        return self.answers[f"versions:{pool}"]

    def alerts(self) -> object:
        return self.answers["alerts"]

    def status(self) -> object:
        return self.answers["status"]


async def agrees(app, view: SyncView) -> str | None:
    """None when the visible screen shows what the API answers now, else what differs."""
    screen = app.screen
    if "server gone" in str(screen.query_one(StatusLine).render()):
        return "the console has not reconnected yet"
    await view.read([screen.pool] if isinstance(screen, PoolDetailScreen) else [])
    if app.screen is not screen:
        return "the screen changed while reading"
    try:
        if isinstance(screen, PoolsScreen):
            check_pools(app, view)
        elif isinstance(screen, PoolDetailScreen):
            check_detail(app, view)
        if not screen.is_modal:
            check_status(app, view)
    except AssertionError as exc:
        return str(exc)
    return None


async def other_client(api: RemoteSite, rng: random.Random) -> str:
    pool = rng.choice(POOLS)
    text = rng.choice(
        [
            f"FRBACKUP COPYPOOL({pool})",
            f"FRDELETE COPYPOOL({pool}) VERSIONS({rng.randint(1, 4)}) BOTH",
            rng.choice(["HOLD FRBACKUP", "RELEASE FRBACKUP"]),
            f"FRBACKUP COPYPOOL({pool}) WITHDRAW",
        ]
    )
    await api.command(text, origin="CLI")
    return text


async def test_through_server_stops_and_restarts_every_screen_shows_the_api_or_says_it_is_not_live(site):
    from console.app import FlashpoolApp
    from tests.console.scenes import settle

    rng = random.Random(3938)
    srv: Server | None = Server(site, "--copy-rate", "400").start()
    api = RemoteSite(site)  # the second client: its commands are not the console's
    view = SyncView(RemoteSite(site))
    trail: list[str] = []
    compared = gone_seen = 0
    try:
        app = FlashpoolApp(RemoteSite(site), refresh_interval=0.5, warm=False)
        async with app.run_test(size=(160, 45)) as pilot:
            await settle(pilot)

            def line() -> str:
                """The status line of the screen shown now (a screen left behind keeps its own)."""
                return str(app.screen.query_one(StatusLine).render())

            for _ in range(STEPS):
                roll = rng.random()
                if srv is not None and roll < 0.06:
                    how = rng.choice([signal.SIGTERM, signal.SIGKILL])
                    srv.stop(how)
                    srv = None
                    trail.append(f"server {how.name}")
                elif srv is None and roll < 0.5:
                    srv = Server(site, "--copy-rate", "400").start()
                    trail.append("server started")
                elif srv is not None and roll < 0.35:
                    trail.append(await other_client(api, rng))
                else:
                    key = rng.choice(KEYS)
                    trail.append(key)
                    await pilot.press(key)
                await settle(pilot)
                if srv is None:
                    start = time.monotonic()
                    while "server gone" not in line():
                        assert time.monotonic() - start < 2.0, f"after {trail[-12:]}: still {line()}"
                        await asyncio.sleep(0.05)
                    assert "live" not in line().replace("NOT LIVE", ""), trail[-12:]
                    assert app.check_action("backup", ()) is None and app.check_action("recover", ()) is None
                    gone_seen += 1
                    continue
                start, why = time.monotonic(), await agrees(app, view)
                while why is not None:
                    assert time.monotonic() - start < CONVERGE, f"after {trail[-12:]}: {why}"
                    await asyncio.sleep(0.1)
                    why = await agrees(app, view)
                compared += 1
        stops = sum(t.startswith("server SIG") for t in trail)
        print(f"{compared} steps compared with the API, {gone_seen} while gone, {stops} server stops")
        assert compared > STEPS // 2 and gone_seen > 0 and stops > 1, (compared, gone_seen, stops)
    finally:
        await api.close()
        await view.api.close()
        if srv is not None:
            srv.stop()
