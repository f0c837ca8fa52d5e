"""Pilot tests: navigation, filtering, sorting, the command line, confirmations, read-only."""

from __future__ import annotations

from textual.widgets.data_table import ColumnKey

from console import textual_internals as internals
from console.modals.command_line import complete
from console.modals.confirm import ConfirmScreen
from engine.catalog import constructs as repo
from engine.hsm import pool as pools
from tests.console.conftest import make_app, settle


def versions(site, cp):
    with site.catalog.session() as s:
        return [(v.version, v.dasd_state) for v in pools.backups(s, cp)]


async def first_pool_detail(pilot):
    """Enter on the first copy pool: its detail screen, loaded."""
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    assert type(pilot.app.screen).__name__ == "PoolDetailScreen"
    return pilot.app.screen


async def test_modes_drill_in_and_back(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        assert type(app.screen).__name__ == "PoolsScreen" and app.screen.table.row_count == 3
        await pilot.press("j", "enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "PoolDetailScreen" and app.screen.pool == "HRNIGHT"
        await pilot.press("escape")
        await settle(pilot)
        assert type(app.screen).__name__ == "PoolsScreen"
        for key, name in [
            ("2", "GroupsScreen"),
            ("3", "RelationshipsScreen"),
            ("4", "ActivityScreen"),
            ("1", "PoolsScreen"),
        ]:
            await pilot.press(key)
            await settle(pilot)
            assert type(app.screen).__name__ == name
        await pilot.press("2", "enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "VolumeScreen"
        assert app.screen.query_one("TrackMap").bands  # the live picture has bands
    await app.site.close()


async def test_filter_and_sort(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.press("2")
        await settle(pilot)
        table = app.screen.table
        assert table.row_count == 32
        loaded = [table.get_row_at(i)[0] for i in range(table.row_count)]
        await pilot.press("slash", *"PAYBK")
        await settle(pilot)
        assert table.row_count == 6
        assert app.screen.query_one("#filter").border_subtitle == "6 of 32"
        await pilot.press(*"ZZZ")
        await settle(pilot)
        assert table.row_count == 0 and app.screen.query_one("#empty").display
        assert "No rows match “PAYBKZZZ”" in str(app.screen.query_one("#empty").render())
        await pilot.press("backspace", "backspace", "backspace", "enter", "escape")  # keep, then clear
        await settle(pilot)
        assert table.row_count == 32 and not app.screen.query_one("#empty").display
        assert [table.get_row_at(i)[0] for i in range(32)] == loaded  # the screen's own order again
        await pilot.press("s")  # a chooser of the columns, not a silent cycle
        await settle(pilot)
        assert type(app.screen).__name__ == "SortChooser"
        await pilot.press("down", "down", "down", "enter")  # Type
        await settle(pilot)
        assert table.sort_column == "type" and not table.sort_reverse
        assert str(table.columns[ColumnKey("type")].label) == "Type ▲"
        first = str(table.get_row_at(0)[2])
        await pilot.press("s", "enter")  # the current column is highlighted: again reverses it
        await settle(pilot)
        assert table.sort_reverse and str(table.columns[ColumnKey("type")].label) == "Type ▼"
        assert str(table.get_row_at(0)[2]) != first
        await pilot.press("s", "home", "enter")  # as loaded
        await settle(pilot)
        assert table.sort_column is None and str(table.columns[ColumnKey("type")].label) == "Type"
        assert [table.get_row_at(i)[0] for i in range(32)] == loaded
    await app.site.close()


async def test_command_line_runs_a_real_frbackup(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        before = versions(app.site.engine, "HRNIGHT")
        await pilot.press("colon", *"FRBACKUP COPYPOOL(HRNIGHT) FCINCREMENTAL", "enter")
        await settle(pilot, 6)
        log = app.screen.query_one("#cmd-output")
        text = "\n".join(str(line.text) for line in log.lines)
        assert "ARC1802I" in text and "RC=0" in text
        assert len(versions(app.site.engine, "HRNIGHT")) == len(before)  # VERSIONS=1: replaced
        assert versions(app.site.engine, "HRNIGHT")[0][0] == before[0][0] + 1
        await pilot.press("up")  # history
        assert app.screen.query_one("#cmd-input").value.startswith("FRBACKUP COPYPOOL(HRNIGHT)")
        await pilot.press("escape", "4")
        await settle(pilot)
        assert "FRBACKUP COPYPOOL(HRNIGHT) FCINCREMENTAL" in str(app.screen.table.get_row_at(0)[2])
    await app.site.close()


def test_completion_of_keywords_and_names():
    names = {"pools": ["DSN$DB0A$DB", "PAYROLL"], "volumes": ["PAY001", "PAY002"], "datasets": []}
    assert complete("FRB", names)[0] == "FRBACKUP "
    assert complete("FRBACKUP CO", names)[0] == "FRBACKUP COPYPOOL"
    assert complete("FRBACKUP COPYPOOL(P", names)[0] == "FRBACKUP COPYPOOL(PAYROLL)"
    new, options = complete("FRRECOV TOVOLUME(PAY", names)
    assert new == "FRRECOV TOVOLUME(PAY00" and options == ["PAY001", "PAY002"]


async def test_cancelled_withdraw_changes_nothing_and_typed_name_runs_it(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        site = app.site.engine
        before = versions(site, "DSN$DB0A$DB")
        await pilot.press("enter", "w")  # pool detail of DSN$DB0A$DB, withdraw
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "withdraws the relationships of version 003" in str(app.screen.query_one("#confirm-impact").render())
        lost = str(app.screen.query_one("#confirm-lost").render())
        assert "versions lost: 003" in lost  # what is lost, repeated above the name
        await pilot.press("enter")  # nothing typed: it says what to type and runs nothing
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "type DSN$DB0A$DB to run it" in str(app.screen.query_one("#confirm-match").render())
        await pilot.press(*"PAYROLL")  # the typing goes to the name at once
        await settle(pilot)
        assert "PAYROLL does not match DSN$DB0A$DB" in str(app.screen.query_one("#confirm-match").render())
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert versions(site, "DSN$DB0A$DB") == before
        await pilot.press("w")
        await settle(pilot)
        await pilot.press(*"DSN$DB0A$DB")
        await settle(pilot)
        assert "matches" in str(app.screen.query_one("#confirm-match").render())
        await pilot.press("enter")
        await settle(pilot, 6)
        assert versions(site, "DSN$DB0A$DB")[0][1] != "RECOVERABLE"  # withdrawn
        assert versions(site, "DSN$DB0A$DB")[1:] == before[1:]
    await app.site.close()


async def test_read_only_greys_out_and_refuses(demo_path):
    app = make_app(demo_path, read_only=True)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        assert "READ-ONLY" in app.sub_title
        assert app.check_action("backup", ()) is None and app.check_action("recover", ()) is None
        await pilot.press("b")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("colon", *"FRBACKUP COPYPOOL(PAYROLL)", "enter")
        await settle(pilot, 5)
        text = "\n".join(str(line.text) for line in app.screen.query_one("#cmd-output").lines)
        assert "READ-ONLY" in text
        with app.site.engine.catalog.session() as s:
            assert repo.activity(s)[0].command != "FRBACKUP COPYPOOL(PAYROLL)"
        tasks = app.site.engine.context.setsys().dss_tasks
        await pilot.press("escape", "colon", *"SETSYS MAXCOPYPOOLTASKS(DSS(7))", "enter")  # a setting is a change too
        await settle(pilot, 5)
        assert "READ-ONLY" in "\n".join(str(line.text) for line in app.screen.query_one("#cmd-output").lines)
        assert app.site.engine.context.setsys().dss_tasks == tasks != 7
        await pilot.press("escape", "colon", *"LIST COPYPOOL", "enter")  # reading is fine
        await settle(pilot, 5)
        assert "COPYPOOL=PAYROLL" in "\n".join(str(line.text) for line in app.screen.query_one("#cmd-output").lines)
    await app.site.close()


async def test_help_pause_palette_theme_and_keymap(demo_path, tmp_path, monkeypatch):
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "keymap.toml").write_text('"table.sort" = "o"\n')
    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        table = app.screen.query_one("#help-table")
        rows = table.row_count
        assert rows >= 8
        first = [str(table.get_row_at(i)[2]) for i in range(3)]
        assert all(bid.startswith("pools.") for bid in first), first  # this screen's keys first
        await pilot.press(*"sort")  # typing filters at once
        await settle(pilot)
        assert 0 < table.row_count < rows
        assert all("sort" in " ".join(str(c) for c in table.get_row_at(i)).lower() for i in range(table.row_count))
        await pilot.press("escape", "escape", "p")
        assert app.paused
        await pilot.press("p")
        assert not app.paused
        await pilot.press("o")  # remapped sort
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert app.screen.table.sort_column is not None
        app.theme = "3270"
        await pilot.pause()
    from console.config import load_settings

    assert load_settings()["theme"] == "3270"
    await app.site.close()


async def test_a_site_change_reloads_once_and_does_not_echo(demo_path):
    """Regression: SiteChanged bubbled from the screen back to the app, which re-posted it to the
    screen, forever (the console spun a core as soon as anything changed)."""
    from console.messages import SiteChanged

    app = make_app(demo_path)
    calls = 0
    original = app.update_status

    def counting(widget=None):
        nonlocal calls
        calls += 1
        original(widget)

    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        app.update_status = counting
        app.post_message(SiteChanged())
        await settle(pilot)
        assert calls == 1
    await app.site.close()


def test_one_volume_overwritten_is_confirmed_by_its_volser():
    from engine.hsm.impact import Impact

    one = ConfirmScreen(
        Impact(
            "FRRECOV TOVOLUME(DB0A01) FROMCOPYPOOL(DSN$DB0A$DB)", "DSN$DB0A$DB", True, volumes_overwritten=["DB0A01"]
        )
    )
    assert one.expected == "DB0A01"
    pool = ConfirmScreen(
        Impact("FRRECOV COPYPOOL(DSN$DB0A$DB)", "DSN$DB0A$DB", True, volumes_overwritten=["DB0A01", "DB0A02"])
    )
    assert pool.expected == "DSN$DB0A$DB"


async def test_a_row_added_while_the_list_is_open_keeps_the_lists_order(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.press("4")
        await settle(pilot)
        table = app.screen.table
        before = table.row_count
        await app.run_command("QUERY SETSYS")
        await settle(pilot)
        assert table.row_count == before + 1
        assert "QUERY SETSYS" in str(table.get_row_at(0)[2])  # newest first, not at the bottom
    await app.site.close()


async def test_columns_fit_80_columns_and_grow_at_200(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.table
        keys = [c.key for c, _ in table.layout_columns]
        assert {"name", "valid", "frr", "inc", "dumps", "copy"} <= set(keys)  # the ones that matter
        assert sum(w + 2 for _, w in table.layout_columns) <= 80
        row = [str(c) for c in table.get_row_at(0)]
        assert "✔ eligible" in row  # whole words, not "allo"
        await pilot.resize_terminal(200, 50)
        await settle(pilot)
        table = app.screen.table
        assert [c.key for c, _ in table.layout_columns] == [c.key for c in table.all_columns]
        assert sum(w + 2 for _, w in table.layout_columns) >= 190  # no 80 empty columns at the right
    await app.site.close()


async def test_w_on_an_older_version_says_withdraw_acts_on_the_newest_and_changes_nothing(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        before = versions(app.site.engine, "DSN$DB0A$DB")
        await pilot.press("enter", "j", "w")  # pool detail, version 002, withdraw
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        said = [n.message for n in internals.notifications(app)]
        assert any("newest valid version (003), not on 002" in m for m in said), said
        assert versions(app.site.engine, "DSN$DB0A$DB") == before
    await app.site.close()


async def test_a_palette_walkthrough_without_a_pool_never_shows_none(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        app.start_walkthrough("W1")
        await settle(pilot)
        shown = str(app.screen.query_one("#wt-text").render())
        assert "None" not in shown and "made from your choices" in shown
    await app.site.close()


async def test_an_unknown_keymap_id_and_theme_are_reported_at_start(demo_path, tmp_path):
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "keymap.toml").write_text('"table.sort" = "o"\n"pools.nosuch" = "x"\n')
    app = make_app(demo_path, theme="nope")
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        said = " | ".join(n.message for n in internals.notifications(app))
        assert "theme 'nope' is unknown" in said and "no key has the id pools.nosuch" in said
        assert app.theme == "flashpool-dark"
        await pilot.press("o")  # the known id still took effect
        await settle(pilot)
        assert type(app.screen).__name__ == "SortChooser"
    await app.site.close()


async def test_command_line_output_scrolls_from_the_keyboard(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        await pilot.press("colon")
        await settle(pilot)
        await pilot.press(*"LIST COPYPOOL(DSN$DB0A$DB) ALLVOLS(ALLVERS)", "enter")
        await settle(pilot, 4)
        for _ in range(5):  # the same command again, from the history
            await pilot.press("up", "enter")
            await settle(pilot, 4)
        log = app.screen.query_one("#cmd-output")
        assert log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y
        await pilot.press("pageup")
        await settle(pilot)
        assert log.scroll_y < log.max_scroll_y
        assert app.screen.query_one("#cmd-input").has_focus  # the typing stays in the box
        await pilot.press("pagedown", "pagedown", "pagedown", "pagedown", "pagedown")
        await settle(pilot)
        assert log.scroll_y == log.max_scroll_y
    await app.site.close()


async def test_drill_in_screens_are_kept_for_the_next_visit_and_let_go_beyond_eight(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        first = await first_pool_detail(pilot)
        loads = first.loads
        await pilot.press("escape", "enter")
        await settle(pilot)
        assert app.screen is first and first.loads > loads  # resumed and reloaded, not rebuilt
        await pilot.press("escape", "2")
        await settle(pilot)
        for _ in range(9):  # nine volumes, one after the other
            await pilot.press("enter")
            await settle(pilot)
            await pilot.press("escape", "j")
            await settle(pilot)
        assert len(app._kept) == app.KEPT_SCREENS
        assert "pool:DSN$DB0A$DB" not in app._kept and not app.is_screen_installed("pool:DSN$DB0A$DB")
    await app.site.close()


async def test_a_filter_that_hides_every_version_keeps_pool_detail_up(demo_path):
    """Found by random keys: with every version filtered out, moving in the empty table made the
    table highlight "no row", and the pool detail crashed the console reading its key."""
    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        screen = await first_pool_detail(pilot)
        await pilot.press("j")
        await settle(pilot)
        chosen = screen.table.selected_key
        assert chosen is not None and screen.query_one("#pairs").row_count > 0
        await pilot.press("slash", *"ZZZ", "tab", "pageup", "k", "end")
        await settle(pilot)
        assert app.is_running and app.screen is screen
        assert screen.table.row_count == 0 and screen.query_one("#pairs").row_count == 0  # no version, no pairs
        await pilot.press("escape", "escape")  # back to the table, then the filter cleared
        await settle(pilot)
        assert screen.table.selected_key == chosen  # the version chosen before the filter
        assert screen.query_one("#pairs").row_count > 0
    await app.site.close()
