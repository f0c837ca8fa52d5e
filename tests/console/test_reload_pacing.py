"""A list that is slow to read is not re-read on every site change: with thousands of copies
running, a 20,000-row screen reloading every second left the keys waiting behind it."""

from __future__ import annotations

import asyncio
import itertools
import time

from console.messages import SiteChanged
from console.screens.groups import GroupsScreen
from tests.console.conftest import make_app, settle

SLOW = 0.15  # seconds a load takes here


async def test_site_changes_reload_a_slow_list_at_most_once_per_pace(demo_path, monkeypatch):
    app = make_app(demo_path)
    original = GroupsScreen.load
    started: list[float] = []

    def slow(self):
        started.append(time.monotonic())
        time.sleep(SLOW)
        return original(self)

    monkeypatch.setattr(GroupsScreen, "load", slow)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, GroupsScreen) and screen.table.row_count > 0
        started.clear()
        for _ in range(40):  # a change every 50 ms for 2 s
            screen.post_message(SiteChanged())
            await asyncio.sleep(0.05)
        await settle(pilot)
        gaps = [b - a for a, b in itertools.pairwise(started)]
        assert 2 <= len(started) <= 5, started  # not 40, and not none: the changes are shown
        assert all(g >= SLOW * screen.PACE * 0.9 for g in gaps), gaps
        await asyncio.sleep(SLOW * screen.PACE + 0.3)
        assert screen.loads > 0 and not screen._loading
    await app.site.close()
