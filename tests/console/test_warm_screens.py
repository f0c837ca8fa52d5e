"""Pilot tests for what makes screen switches fast: screens composed in the background, a footer
that is rebuilt only when its keys change, tables that keep their rendered cells while their
styles are the same. Each must stay invisible: the screen shown is today's, in today's theme."""

from __future__ import annotations

import gc
import time

from textual.widgets import DataTable

from console import textual_internals as internals
from console.textual_internals import FooterKey
from tests.console.conftest import make_app, settle


async def warmed(pilot) -> None:
    app = pilot.app
    for _ in range(400):
        if app.warmed:
            break
        await pilot.pause(0.02)
    await settle(pilot)


async def test_the_other_screens_are_composed_in_the_background_and_show_todays_rows(demo_path):
    before = gc.get_threshold()
    app = make_app(demo_path, warm=True)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        assert gc.get_threshold() == app.GC_THRESHOLDS
        await warmed(pilot)
        assert app.warmer.cold_modes() == []
        assert type(app.screen).__name__ == "PoolsScreen"  # warming never shows a screen
        assert gc.get_freeze_count() > 0  # what start-up made is out of the collector's full passes
        # the first pool's detail is composed and loaded too, kept as if visited
        first_pool = app.screen.table.selected_key
        detail = app.get_screen(f"pool:{first_pool}")
        assert detail.is_mounted and detail.loads >= 1 and detail.table.row_count > 0
        loads = detail.loads
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is detail and detail.loads > loads  # shown, and its rows loaded again
        assert detail.breadcrumbs().startswith(f"Pools › {first_pool}")
        assert str(detail.query_one("#screen-title").render()) == detail.breadcrumbs()  # not warming's trail
        await pilot.press("escape")
        await settle(pilot)
        # a command after the activity screen was composed: the first visit still shows it
        await pilot.press("colon", *"HOLD FRBACKUP", "enter")
        await settle(pilot, 6)
        await pilot.press("escape", "4")
        await settle(pilot)
        assert type(app.screen).__name__ == "ActivityScreen"
        assert str(app.screen.table.get_row_at(0)[2]) == "HOLD FRBACKUP"
    assert gc.get_freeze_count() == 0  # a console that has gone gives its objects back
    assert gc.get_threshold() == before  # and the collector's thresholds
    await app.site.close()


async def test_warming_waits_while_the_operator_types_and_goes_on_after(demo_path):
    app = make_app(demo_path, warm=True)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        await pilot.press("j")  # from here on, no step: each key comes within a second of the last
        cold = app.warmer.cold_modes()
        assert cold, "warming finished before the typing began: nothing to show"
        for n in range(int(app.warmer.STEP * 8 / 0.1)):  # eight steps' time at a typing rhythm
            await pilot.press("k" if n % 2 else "j")
            await pilot.pause(0.1)
        assert app.warmer.cold_modes() == cold  # nothing composed while keys came
        assert not app.warmed
        await warmed(pilot)  # a second of quiet, and warming goes on to the end
        assert app.warmer.cold_modes() == []
    await app.site.close()


async def test_a_console_closed_while_screens_are_composed_in_the_background_closes_cleanly(demo_path):
    """The console closed (here by leaving run_test, without q) as the warmer composes a screen and
    is due to compose the next. Textual takes every screen down at once: the screen composing had
    its widgets refused and its mount found none (NoMatches, in Textual's Header or in the title's
    breadcrumbs), and a step meanwhile added a mode's stack as Textual went through them
    (RuntimeError: dictionary changed size during iteration)."""
    app = make_app(demo_path, warm=True)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        await pilot.press("G", "enter")  # the last pool's detail, over the list
        await settle(pilot)
        cold = app.warmer.cold_modes()
        assert type(app.screen).__name__ == "PoolDetailScreen" and cold
        app.last_input = time.monotonic() - app.warmer.QUIET  # the operator has been idle a while
        app.warmer.STEP = 0.001  # the next steps come as the console closes
        app.warmer.step()  # composes the next mode's screen, still composing as the test leaves
    assert app.warmer.cold_modes() == cold[1:]  # no step once closing: nothing else was composed
    await app.site.close()


async def test_a_screen_composed_in_the_background_takes_its_trail_from_its_own_stack(demo_path):
    """A screen warmed in another mode (or on no stack) reads none of the screens shown: their
    widgets may be going away (the detail's table, as the console closed: NoMatches)."""
    app = make_app(demo_path, warm=True)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        await pilot.press("G", "enter")
        await settle(pilot)
        assert app.screen.breadcrumbs().startswith("Pools › ")
        await warmed(pilot)
        activity = internals.screen_stacks(app)["activity"][0]
        assert activity.breadcrumbs() == "Activity"  # not the trail shown, Pools › … › v001
        assert str(activity.query_one("#screen-title").render()) == "Activity"
        target = internals.screen_stacks(app)["groups"][0].drill_in()
        assert target is not None
        volume = app.get_screen(target[0])  # the first volume's screen, warmed on no stack
        assert volume.breadcrumbs() == volume.crumb() and volume.is_mounted
        await pilot.press("4")
        await settle(pilot)
        assert str(app.screen.query_one("#screen-title").render()) == "Activity"
    await app.site.close()


async def test_a_cold_console_composes_nothing_in_the_background(demo_path):
    app = make_app(demo_path, warm=False)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        await pilot.pause(app.warmer.STEP * 4)
        assert len(app.warmer.cold_modes()) == len(app.MODES) - 1
    await app.site.close()


def live_footer_keys() -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, FooterKey))


async def test_screen_switches_do_not_pile_up_footer_keys(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)

        async def round_of_switches() -> None:
            for key in ("2", "3", "4", "5", "1", "enter", "escape"):
                await pilot.press(key)
                await settle(pilot, 1)

        await round_of_switches()
        gc.collect()
        after_one = live_footer_keys()
        for _ in range(3):
            await round_of_switches()
        gc.collect()
        assert live_footer_keys() <= after_one  # every mode's footer is built once, not once a visit
        for footer in app.query("KeysFooter"):
            watchers = internals.watchers(footer)
            assert all(not internals.is_gone(node) for entries in watchers.values() for node, _ in entries)
    await app.site.close()


async def test_a_table_kept_while_styles_are_unchanged_is_redrawn_in_a_new_theme(demo_path, monkeypatch):
    redrawn: list[object] = []
    clear_caches = DataTable.notify_style_update

    def spy(table) -> None:
        redrawn.append(table)
        clear_caches(table)

    monkeypatch.setattr(DataTable, "notify_style_update", spy)
    app = make_app(demo_path, theme="flashpool-dark")
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        table = app.screen.table

        def header_background():
            return table.get_component_rich_style("datatable--header").bgcolor

        app.stylesheet.update(app.screen)
        redrawn.clear()
        app.stylesheet.update(app.screen)  # restyled again, as each time the screen is shown: same look
        assert table not in redrawn  # its rendered cells were kept
        table.blur()  # unfocused, the table has another background
        await settle(pilot)
        assert table in redrawn
        redrawn.clear()
        dark = header_background()
        app.theme = "flashpool-light"
        await settle(pilot)
        assert table in redrawn
        assert header_background() != dark
        lines = [table.render_line(y) for y in range(3)]
        assert any(
            seg.style is not None and seg.style.bgcolor == header_background() for seg in lines[0]
        )  # the header row is painted in the new theme, not taken from the old cache
    await app.site.close()
