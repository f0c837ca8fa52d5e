"""Pilot tests: alerts reach the operator (toast, count, list, acknowledge, bell), the status line
says where things stand, and every screen shows where it is."""

from __future__ import annotations

import asyncio

from console import textual_internals as internals
from console.app import FlashpoolApp
from console.widgets.status_line import StatusLine
from engine.events import ActivityLogged
from engine.hsm.alerts import AlertKind, AlertRaised
from tests.console.conftest import make_app, settle

QUIET = {"live": False, "start_engine": False, "warm": False}

POOL = "DSN$DB0A$DB"


def status(app) -> str:
    line = app.screen.query_one(StatusLine)
    return str(line.render())


async def test_an_alert_is_a_toast_a_count_a_row_and_can_be_acknowledged(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        assert "alerts 0" in status(app)
        text = f"VERSION 003 OF COPY POOL {POOL} CAN NO LONGER BE RECOVERED BY FAST REVERSE RESTORE"
        watch, now = app.site.engine.alerts, app.site.engine.flashcopy.clock()
        watch._raise([AlertRaised(now, AlertKind.FRR_WINDOW_CLOSED, POOL, text)])
        watch._raise([AlertRaised(now, AlertKind.COPY_PARKED, None, "BACKGROUND COPY STOPPED: full")])
        await watch.settle()
        await settle(pilot)
        toasts = internals.notifications(app)
        assert [t.severity for t in toasts] == ["warning", "error"]
        assert toasts[0].message == text and POOL in toasts[0].title
        assert "▲ alerts 2" in status(app)
        await pilot.press("5")
        await settle(pilot)
        table = app.screen.table
        assert type(app.screen).__name__ == "AlertsScreen" and table.row_count == 2
        first = " ".join(str(c) for c in table.get_row_at(0))
        assert "✘ ERROR" in first and "· no" in first  # newest first, words not only colour
        await pilot.press("space")
        await settle(pilot)
        assert "▲ alerts 1" in status(app)
        assert "✔ yes" in " ".join(str(c) for c in table.get_row_at(0))
        assert app.alerts.items[-1].acknowledged_by == app.site.who.user  # who acknowledged it, for everyone
        await pilot.press("A")
        await settle(pilot)
        assert "alerts 0" in status(app) and "▲" not in status(app)
    await app.site.close()


async def test_alerts_belong_to_the_site_one_count_one_acknowledgement_kept_across_restarts(demo_path):
    """Two consoles on one site count the same alerts; one acknowledges, both see it, with who;
    a console started afterwards starts from the site's list, not from zero."""
    site = make_app(demo_path).site
    one, two = FlashpoolApp(site, **QUIET), FlashpoolApp(site, **QUIET, user="bob")
    async with one.run_test(size=(130, 40)) as p1, two.run_test(size=(130, 40)) as p2:
        await settle(p1)
        await settle(p2)
        watch, now = site.engine.alerts, site.engine.flashcopy.clock()
        watch._raise([AlertRaised(now, AlertKind.COPY_COMPLETE, POOL, f"BACKGROUND COPY OF {POOL} IS COMPLETE")])
        watch._raise([AlertRaised(now, AlertKind.DUMP_COMPLETE, POOL, f"DUMP OF {POOL} IS ALLCOMPLETE")])
        await watch.settle()
        await settle(p1)
        await settle(p2)
        assert "alerts 2" in status(one) and "alerts 2" in status(two)
        await p1.press("5")
        await settle(p1)
        await p1.press("space")  # the newest, acknowledged in the site
        await settle(p1)
        await settle(p2)
        assert "alerts 1" in status(one) and "alerts 1" in status(two)
        assert [a.acknowledged_by for a in two.alerts.items] == [None, site.who.user]
    await site.close()
    again = make_app(demo_path)
    async with again.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        assert "alerts 1" in status(again)
        assert [(a.message_id, a.acknowledged_by) for a in again.alerts.items] == [
            ("FPL400I", None),
            ("FPL401I", again.site.who.user),
        ]
    await again.site.close()


async def test_commands_of_others_are_a_toast_and_this_consoles_own_are_not(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        res = await app.run_command(f"FRBACKUP COPYPOOL({POOL})")  # this console's own: no news to it
        assert res.rc == 0
        await settle(pilot)
        before = len(internals.notifications(app))
        now = app.site.engine.flashcopy.clock()
        # the same command from another console's user is news: it changed what this one shows
        app.site.engine.events.publish(ActivityLogged(now, "CONSOLE", f"FRBACKUP COPYPOOL({POOL})", POOL, 0, "bob"))
        app.site.engine.events.publish(ActivityLogged(now, "AUTO", "QUERY SETSYS", None, 0))  # changes nothing
        app.site.engine.events.publish(ActivityLogged(now, "AUTO", f"FRBACKUP COPYPOOL({POOL}) DUMP", POOL, 0))
        await settle(pilot)
        told = internals.notifications(app)[before:]
        assert [t.message for t in told] == [
            f"BOB (CONSOLE) RAN FRBACKUP COPYPOOL({POOL}): RC=0",
            f"AUTO RAN FRBACKUP COPYPOOL({POOL}) DUMP: RC=0",
        ]
        assert told[0].title == "command from bob (CONSOLE)"
        assert app.alerts.items == [] and "alerts 0" in status(app)  # a toast, no alert: every console counts alike
    await app.site.close()


async def test_the_status_line_and_breadcrumbs(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        line = status(app)
        for part in ("site flashpool-data DEMO", "embedded", "user operator", "held none", "⟳ live"):
            assert part in line
        assert "copies 4 0%" in line  # the demo's copy is held still in tests: four relationships
        assert str(app.screen.query_one("#screen-title").render()) == "Pools"
        await pilot.press("enter")
        await settle(pilot)
        assert str(app.screen.query_one("#screen-title").render()) == f"Pools › {POOL} › v003"
        await pilot.press("j")
        await settle(pilot)
        assert str(app.screen.query_one("#screen-title").render()) == f"Pools › {POOL} › v002"
        await pilot.press(":")
        await settle(pilot)
        for ch in "QUERY SETSYS":
            await pilot.press("space" if ch == " " else ch)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert "last RC 0" in status(app)
        await pilot.press("p")
        await settle(pilot)
        assert "⏸ PAUSED (p)" in status(app)
    await app.site.close()


async def test_a_walkthrough_left_open_shows_on_every_screen(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("r", "1", "enter")
        await settle(pilot)
        assert "open: W1 at" in status(app)
        await pilot.press("enter")
        await settle(pilot)
        where = status(app).split("open: ")[1].split(" │")[0]
        assert where.startswith("W1 at ")
        await pilot.press("2")
        await settle(pilot)
        assert type(app.screen).__name__ == "GroupsScreen" and f"open: {where}" in status(app)
    await app.site.close()


async def test_the_status_line_keeps_alerts_and_holds_at_80_columns(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        line = status(app)
        assert "alerts 0" in line and "held none" in line and "site flashpool-data" in line
        assert len(line) <= 78  # inside the padding
    await app.site.close()


async def test_q_asks_when_a_walkthrough_is_open_and_quits_at_once_otherwise(demo_path):
    from console.modals.quit import QuitScreen

    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        await pilot.press("r", "1")
        await settle(pilot)
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, QuitScreen)
        said = str(app.screen.query_one("#quit-lines").render())
        assert "the walkthrough W1 at" in said and "nothing was run" in said
        await pilot.press("escape")
        await settle(pilot)
        assert type(app.screen).__name__ == "WalkthroughScreen" and app.is_running
        await pilot.press("enter")  # the pick's filter has focus: q would be a letter, ctrl+q is not
        await settle(pilot)
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("y")
        await settle(pilot)
        assert not app.is_running
    await app.site.close()
    plain = make_app(demo_path)
    async with plain.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", "q")  # typed into the filter, not a quit
        await settle(pilot)
        assert plain.is_running and plain.screen.query_one("#filter").value == "q"
        await pilot.press("escape", "q")
        await settle(pilot)
        assert not plain.is_running
    await plain.site.close()


async def test_the_demo_console_keeps_a_copy_visibly_running(demo_path):
    """make run's headline walkthrough needs a copy in progress: paced, the demo's copy runs for
    minutes instead of finishing before the first screen."""
    from engine.demo import DEMO_COPIER, pace_demo
    from engine.site import Site

    site = Site.open(demo_path)
    assert site.demo
    pace_demo(site)
    assert site.flashcopy.settings == DEMO_COPIER
    running = site.flashcopy.core.copy_candidates()
    left = sum(r.out_of_sync for r in running)
    assert left >= 300  # at two tracks a second: minutes of copying
    await site.start(auto_dump_interval=None)
    await asyncio.sleep(2.0)
    now = sum(r.out_of_sync for r in site.flashcopy.core.copy_candidates())
    assert 0 < left - now <= 12 and site.flashcopy.core.copy_candidates()  # moving, and still running
    await site.close()


async def test_the_first_start_demo_is_a_demo_at_once(tmp_path):
    """make run's first start creates and seeds the demo, then opens the console on that same
    site object: it must already say DEMO and be paced (it said neither before)."""
    from engine.demo import DEMO_COPIER, demo_definition, pace_demo, seed_demo
    from engine.site import Site

    site = Site.create(tmp_path / "flashpool-data", demo_definition())
    await seed_demo(site)
    assert site.demo
    pace_demo(site)
    assert site.flashcopy.settings == DEMO_COPIER
    await site.close()


async def test_a_command_of_another_pool_is_no_alert_on_a_pool_s_own_screen(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        await pilot.press("j", "enter")  # HRNIGHT's detail: what the operator looks at is that pool
        await settle(pilot)
        assert app.screen.pool == "HRNIGHT"
        now = app.site.engine.flashcopy.clock()
        bus = app.site.engine.events
        bus.publish(ActivityLogged(now, "CLI", f"FRBACKUP COPYPOOL({POOL})", POOL, 0, "bob"))  # another pool
        bus.publish(ActivityLogged(now, "CLI", "FRDELETE COPYPOOL(HRNIGHT) VERSIONS(1)", "HRNIGHT", 0, "bob"))
        bus.publish(ActivityLogged(now, "CLI", "HOLD FRBACKUP", None, 0, "bob"))  # the whole site
        await settle(pilot)
        assert [t.message for t in internals.notifications(app) if "RAN" in t.message] == [
            "BOB (CLI) RAN FRDELETE COPYPOOL(HRNIGHT) VERSIONS(1): RC=0",
            "BOB (CLI) RAN HOLD FRBACKUP: RC=0",
        ]
    await app.site.close()


async def test_rows_that_cannot_be_read_are_said_so_once_not_left_blank(demo_path, monkeypatch):
    from engine.errors import FlashpoolError

    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)

        def gone() -> None:
            raise FlashpoolError("the server of flashpool-data cannot be reached")

        monkeypatch.setattr(app.site, "storage", gone)
        await pilot.press("2")
        await settle(pilot)
        app.screen.request_reload()  # the next reload fails the same way: no second toast
        await settle(pilot)
        told = [t for t in internals.notifications(app) if "COULD NOT BE READ" in t.message]
        assert len(told) == 1 and told[0].severity == "error"
        assert told[0].message.startswith("FPL630E Groups: ") and "cannot be reached" in told[0].message
    await app.site.close()


async def test_pairs_that_cannot_be_read_are_said_so(demo_path, monkeypatch):
    """The pairs of a version the cursor moves to are read in their own worker: a failure there
    is said too, not a pairs table left showing the previous version."""
    from engine.errors import FlashpoolError

    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # the first pool's detail, its newest version's pairs with the rows
        await settle(pilot)
        assert app.screen.table.row_count > 1

        def gone(pool: str, version: int) -> None:
            raise FlashpoolError("the server of flashpool-data cannot be reached")

        monkeypatch.setattr(app.site, "pairs", gone)
        await pilot.press("j")  # an older version: its pairs are read now
        await settle(pilot)
        told = [t for t in internals.notifications(app) if "COULD NOT BE READ" in t.message]
        assert len(told) == 1 and told[0].severity == "error" and "cannot be reached" in told[0].message
        assert type(app.screen).__name__ == "PoolDetailScreen"
        assert app.screen.query_one("#pairs").row_count == 0  # not the other version's pairs
    await app.site.close()
