"""The small things an operator meets at 3 a.m.: `q` in the quit dialog quits (as it says), SIGTERM
closes the console cleanly, the command line opens while the server cannot be reached, "paused"
stays on a narrow status line, the confirmation's name box starts empty, and every error a list
shows has a message id."""

from __future__ import annotations

import asyncio
import os
import signal

from textual.widgets import Input

from console.modals.command_line import CommandLine
from console.modals.confirm import ConfirmScreen
from console.modals.quit import QuitScreen
from console.widgets.status_line import StatusLine
from engine.errors import FlashpoolError
from tests.console.scenes import scene_app, settle


async def test_q_in_the_quit_dialog_quits(demo_path):
    app = scene_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        await pilot.press("r", "1")  # a walkthrough left open: quitting asks
        await settle(pilot)
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("q")
        await pilot.pause()
        await settle(pilot)
    assert app.return_code == 0
    app.site.engine.close_files()


async def test_sigterm_closes_the_console_as_quitting_does(demo_path):
    """kill, a service manager, a closing multiplexer: Python's default ended the process at once,
    the terminal left in the alternate screen and in raw mode."""
    unheard: list[int] = []
    before = signal.signal(signal.SIGTERM, lambda signum, _: unheard.append(signum))  # not the test's process
    try:
        app = scene_app(demo_path, warm=True)
        async with app.run_test(size=(130, 40)) as pilot:
            await settle(pilot)
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(200):
                if app.return_code is not None:
                    break
                await asyncio.sleep(0.01)
            assert app.return_code == 0 and not unheard
    finally:
        signal.signal(signal.SIGTERM, before)
    app.site.engine.close_files()


async def test_the_command_line_opens_while_names_cannot_be_read(demo_path, monkeypatch):
    app = scene_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)

        def gone() -> None:
            raise FlashpoolError("the server of flashpool-data cannot be reached")

        monkeypatch.setattr(app.site, "pools", gone)
        await pilot.press("colon")
        await settle(pilot)
        assert isinstance(app.screen, CommandLine), "typing goes to the command line, not to the screen's keys"
    app.site.engine.close_files()


async def test_paused_stays_on_a_status_line_that_also_shows_a_return_code(demo_path):
    app = scene_app(demo_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.last_rc = 8
        await pilot.press("p")
        await settle(pilot)
        shown = str(app.screen.query_one(StatusLine).render())
        assert "PAUSED" in shown and "last RC 8" in shown, shown
    app.site.engine.close_files()


async def test_the_confirmation_name_box_starts_empty(demo_path):
    app = scene_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter", "w")  # withdraw the newest version: a destructive confirmation
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        box = app.screen.query_one("#confirm-name", Input)
        assert box.value == "" and box.placeholder == ""
    app.site.engine.close_files()


async def test_toasts_stand_above_the_status_line(demo_path):
    """Toasts used to cover the status line's holds and alerts count."""
    app = scene_app(demo_path)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await settle(pilot)
        for n in range(3):
            app.notify(f"toast {n} with a long text that wraps onto a second line of the toast", timeout=30)
        await settle(pilot)
        line = app.screen.query_one(StatusLine).region
        toasts = [w.region for w in app.query("Toast")]
        assert toasts and all(not t.overlaps(line) for t in toasts), (line, toasts)
    app.site.engine.close_files()


async def test_a_screen_key_lands_on_its_modes_list(demo_path):
    """`1 j r` started a walkthrough on the wrong pool when 1 went back to pool detail."""
    from console.screens.pools import PoolsScreen

    app = scene_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # a pool's detail, in the pools mode
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        assert isinstance(app.screen, PoolsScreen), app.screen
        await pilot.press("1")  # on the list already: stays
        await settle(pilot)
        assert isinstance(app.screen, PoolsScreen)
    app.site.engine.close_files()


async def test_the_rc_column_takes_the_new_themes_colour(demo_path):
    app = scene_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        table = app.screen.table
        rc_col = next(i for i, (c, _) in enumerate(table.layout_columns) if c.key == "rc")
        before = table.get_row_at(0)[rc_col].style
        app.theme = "flashpool-light"
        await settle(pilot)
        after = table.get_row_at(0)[rc_col].style
        light = app.get_css_variables()["state-ok"]
        assert str(after).split()[-1].lower() == light.lower() and after != before, (before, after, light)
    app.site.engine.close_files()
