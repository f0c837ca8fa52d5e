"""The console never shows what is not so: random operator keys in a Pilot console, random
commands from a second client of the same site, alerts raised and acknowledged; after every step
each figure the visible screen shows is compared with what the engine's API answers at that
instant. A hundred steps here; FLASHPOOL_SOAK makes it thousands (`make soak`)."""

from __future__ import annotations

import os
import random

from console.screens.alerts import AlertsScreen
from console.screens.pool_detail import PoolDetailScreen
from console.screens.pools import PoolsScreen
from console.widgets.status_line import StatusLine
from engine.api import LocalSite
from engine.hsm.alerts import AlertKind, AlertRaised
from tests.console.scenes import scene_app, settle

STEPS = 2_000 if os.environ.get("FLASHPOOL_SOAK") else 100
KEYS = ["1", "1", "5", "j", "k", "enter", "escape", "j", "enter"]
POOLS = ["DSN$DB0A$DB", "HRNIGHT", "PAYROLL"]


def cells(table, key: str) -> dict[str, str]:
    row = table.get_row(key)
    return {c.key: str(v) for (c, _), v in zip(table.layout_columns, row, strict=False)}


def check_pools(app, api) -> None:
    table = app.screen.table
    for p in api.pools():
        shown = cells(table, p.name)
        assert shown["valid"] == f"{p.valid_versions}/{p.versions_kept}", (p.name, shown, p)
        frr = "—" if not p.frr_allowed else ("✔ eligible" if p.frr_eligible else "allowed")
        assert shown["frr"] == frr, (p.name, shown, p)
        assert (shown["copy"] == "—") == (not p.copying), (p.name, shown, p)


def check_detail(app, api) -> None:
    screen = app.screen
    versions = {str(v.id): v for v in api.versions(screen.pool)}
    assert set(versions) == {rk.value for rk in screen.table.rows}, (versions, screen.table.rows)
    for key, v in versions.items():
        shown = cells(screen.table, key)
        assert shown["dasd"].endswith(str(v.dasd_state)), (shown, v)
        assert shown["frr"] == ("—" if not v.fcfrr else "eligible" if v.frr_eligible else "no longer"), (shown, v)


def check_alerts(app, api) -> None:
    alerts = api.alerts()
    assert app.screen.table.row_count == len(alerts)
    for a in alerts:
        ack = cells(app.screen.table, str(a.number))["ack"]
        assert ack == ("✔ yes" if a.acknowledged else "· no"), (a, ack)


def check_status(app, api) -> None:
    line = app.screen.query_one(StatusLine)
    assert line.alerts == sum(not a.acknowledged for a in api.alerts()), line.alerts
    st = api.status()
    assert line.held == ", ".join(st.holds), (line.held, st.holds)


async def other_client(api, rng: random.Random, watch, clock) -> str:
    """What someone else does meanwhile: a command from the CLI, or an alert the site raises."""
    pool = rng.choice(POOLS)
    choice = rng.randrange(6)
    if choice == 0:
        text = f"FRBACKUP COPYPOOL({pool})"
    elif choice == 1:
        text = f"FRDELETE COPYPOOL({pool}) VERSIONS({rng.randint(1, 5)}) BOTH"
    elif choice == 2:
        text = rng.choice(["HOLD FRBACKUP", "RELEASE FRBACKUP", "HOLD FRRECOV", "RELEASE FRRECOV"])
    elif choice == 3:
        text = f"FRBACKUP COPYPOOL({pool}) WITHDRAW"
    elif choice == 4:
        watch._raise([AlertRaised(clock(), rng.choice(list(AlertKind)), pool, f"A TEST ALERT ON {pool}")])
        await watch.settle()
        return "alert"
    else:
        await api.acknowledge_alerts(None if rng.random() < 0.5 else [rng.randint(1, 6)])
        return "acknowledge"
    await api.command(text, origin="CLI")
    return text


async def test_every_screen_shows_what_the_api_answers_after_every_step(demo_path):
    app = scene_app(demo_path)
    rng = random.Random(38)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        engine = app.site.engine
        api = LocalSite(engine)  # a second client of the same site: its commands are not this console's
        checked = 0
        trail: list[str] = []
        for _ in range(STEPS):
            if rng.random() < 0.35:
                trail.append(await other_client(api, rng, engine.alerts, engine.flashcopy.clock))
            else:
                key = rng.choice(KEYS)
                trail.append(key)
                await pilot.press(key)
            await settle(pilot)
            screen = app.screen
            try:
                if isinstance(screen, PoolsScreen):
                    check_pools(app, api)
                elif isinstance(screen, PoolDetailScreen):
                    check_detail(app, api)
                elif isinstance(screen, AlertsScreen):
                    check_alerts(app, api)
                if not screen.is_modal:
                    check_status(app, api)
                    checked += 1
            except AssertionError as exc:
                raise AssertionError(f"after {trail[-12:]}: {exc}") from None
        assert checked > STEPS // 2  # most steps compared a screen, not only dialogs
    engine.close_files()
