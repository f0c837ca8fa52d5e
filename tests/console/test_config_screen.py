"""The configuration screen: the constructs as the API answers them, and changes made the way the
walkthroughs act - fields, the engine's preview (with the versions a lowered VERSIONS rolls off),
the name typed - applied exactly as previewed; a refused change offers no way to apply it; cancel
and a monitor change nothing."""

from __future__ import annotations

import asyncio

from textual.widgets import Input, Static

from console.modals.config_change import ConfigChangeScreen
from engine.api import Change, LocalSite, SecurityChange
from engine.security import Identity
from engine.site import Site
from tests.console.scenes import copy_site, scene_app, settle

DB2 = "DSN$DB0A$DB"


async def select(pilot, text: str, key: str) -> None:
    """Narrow the list as an operator does, and check the row wanted is the selected one."""
    await pilot.press("slash", *text, "enter", "g")
    await settle(pilot)
    assert pilot.app.screen.table.selected_key == key


def _valid(app) -> list[int]:
    return sorted(v.version for v in app.site.versions(DB2) if v.dasd_state in ("RECOVERABLE", "FCFRRINCOMPLETE"))


async def test_lowering_versions_previews_the_roll_off_and_applies_it_as_previewed(demo_path):
    app = scene_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        rows = app.screen.table.shown
        assert f"pool:{DB2}" in rows and "group:DB0ABK" in rows and "volume:BK0A01" in rows, list(rows)
        assert rows["volume:BK0A01"][3].startswith("is the target of version 001"), rows["volume:BK0A01"]
        await select(pilot, DB2, f"pool:{DB2}")
        await pilot.press("v")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ConfigChangeScreen)
        box = modal.query_one("#field-versions", Input)
        assert box.value == "3"
        box.value = "1"
        await pilot.press("enter")
        await settle(pilot)
        shown = str(modal.query_one("#config-plan", Static).render())
        assert "VERSIONS 3 becomes 1" in shown and "roll off: 001 002 003" in shown, shown
        assert app.site.configuration().pools[0].versions == 3, "a preview changes nothing"
        for ch in DB2:
            await pilot.press(ch)
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ConfigChangeScreen)
        assert next(p for p in app.site.configuration().pools if p.name == DB2).versions == 1
        assert _valid(app) == [1, 2, 3], "the roll-off waits for the next FRBACKUP"
    app.site.engine.close_files()


async def test_a_refused_change_offers_no_apply_and_cancel_changes_nothing(demo_path):
    app = scene_app(demo_path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        before = app.site.configuration().definition.split("\n", 1)[1]
        await select(pilot, "DB0A01", "volume:DB0A01")
        await pilot.press("d")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ConfigChangeScreen)
        shown = str(modal.query_one("#config-plan", Static).render())
        assert "✘ refused" in shown and "is the source of version" in shown, shown
        assert not modal.query_one("#config-confirm").display
        await pilot.press("escape")
        await settle(pilot)
        await select(pilot, "PAYBK", "group:PAYBK")
        await pilot.press("a")
        await settle(pilot)
        app.screen.query_one("#field-volsers", Input).value = "PBK007"
        await pilot.press("enter")
        await settle(pilot)
        shown = str(app.screen.query_one("#config-plan", Static).render())
        assert "PBK007" in shown and "joins PAYBK" in shown, shown
        app.screen.query_one("#field-volsers", Input).value = "PBK008"  # edited: the preview is taken back
        await settle(pilot)
        assert not app.screen.query_one("#config-confirm").display
        await pilot.press("escape")
        await settle(pilot)
        assert app.site.configuration().definition.split("\n", 1)[1] == before
        assert not (demo_path / "volumes" / "PBK007.img").exists()
    app.site.engine.close_files()


async def test_a_monitor_sees_why_it_may_not_see_the_configuration(demo_path, tmp_path):
    path = copy_site(demo_path, tmp_path / "site")
    site = Site.open(path)
    res = await LocalSite(site).change_security(SecurityChange(Change.GRANT, name="mon", role="monitor"))
    assert res.rc == 0
    site.close_files()
    app = scene_app(path)
    app.site = LocalSite(app.site.engine, Identity("mon", ()))  # type: ignore[attr-defined]
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        empty = str(app.screen.query_one("#empty").render())
        assert "You may not see the configuration" in empty and "STGADMIN.FPL.CONFIG" in empty, empty
        await asyncio.sleep(0)
        await pilot.press("v")
        await settle(pilot)
        assert not isinstance(app.screen, ConfigChangeScreen)
    app.site.engine.close_files()
