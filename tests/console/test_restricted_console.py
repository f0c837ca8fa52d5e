"""The console shows a user only what the site lets it LIST: a monitor that may not list HRNIGHT
finds nothing of it on any screen (pools, storage groups, relationships, activity, alerts), where
the site's owner sees it; the screens show what the API answers, never more."""

from __future__ import annotations

import asyncio
import html
import re

from console.app import FlashpoolApp
from engine.api import Change, LocalSite, SecurityChange
from engine.security import Access, Identity
from engine.site import Site
from tests.console.scenes import T0, copy_site, fixed_clock, settle

#: what of HRNIGHT a screen could show: the pool, its volumes, groups, data set and token
HIDDEN = re.compile(r"HRNIGHT|HR000[12]|HRB00[12]|HRDATA|HRBK|HR\.STAFF|NIGHTLY")
SCREENS = ("1", "2", "3", "4", "5")


def _text(app: FlashpoolApp) -> str:
    svg = app.export_screenshot()
    return html.unescape(" ".join(re.findall(r"<text[^>]*>(.*?)</text>", svg))).replace("\xa0", " ")


async def _screens(app: FlashpoolApp) -> dict[str, str]:
    out = {}
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        for key in SCREENS:
            await pilot.press(key)
            await settle(pilot)
            out[key] = _text(app)
    app.site.engine.close_files()  # type: ignore[attr-defined]
    return out


def _restrict(site: Site) -> None:
    owner = LocalSite(site)
    for change in (
        SecurityChange(Change.GRANT, name="mon", role="monitor"),
        SecurityChange(Change.DEFINE, profile="STGADMIN.ARC.LIST.HRNIGHT"),
        SecurityChange(Change.PERMIT, profile="STGADMIN.ARC.LIST.HRNIGHT", name="*", access=Access.READ),
        SecurityChange(Change.PERMIT, profile="STGADMIN.ARC.LIST.HRNIGHT", name="mon", access=Access.NONE),
    ):
        res = asyncio.run(owner.change_security(change))
        assert res.rc == 0, res.lines()


def _app(path, who: Identity) -> FlashpoolApp:
    site = Site.open(path, clock=fixed_clock(T0 + 86_400))
    return FlashpoolApp(LocalSite(site, who), live=False, user=who.user, start_engine=False, warm=False)  # type: ignore[arg-type]


def test_a_monitor_that_may_not_list_a_pool_sees_nothing_of_it_on_any_screen(demo_path, tmp_path):
    path = copy_site(demo_path, tmp_path / "site")
    site = Site.open(path)
    try:
        _restrict(site)
    finally:
        site.close_files()
    owner = asyncio.run(_screens(_app(path, Identity.current())))
    assert HIDDEN.search(owner["1"]) and HIDDEN.search(owner["2"]) and HIDDEN.search(owner["4"])
    mine = asyncio.run(_screens(_app(path, Identity("mon", ()))))
    for key, text in mine.items():
        assert not HIDDEN.search(text), (key, HIDDEN.search(text), text)
    assert "PAYROLL" in mine["1"] and "DSN$DB0A$DB" in mine["1"] and "PAY001" in mine["2"]
