"""Screen switches as an operator makes them, many times: 1 → pool detail → back, 2 → a volume →
back, 3, 4, 5, ctrl+p, each from the key to the frame that shows the new screen's rows. Five rounds
on the demo site and on the 2,000-volume site of `bench.console_scale`; the p95 of each site's
switches is the figure (#14's goals: 150 ms on the demo, 500 ms on the big site).

Baseline, same run: the demo site's p95 (the big site's ratio to it is printed too).
"""

from __future__ import annotations

import asyncio
import time

from bench._common import result, scratch
from bench._console import FrameClock, key_to_frame, p95, reloads_idle, rows_shown
from bench.console_scale import POOLS, build_big
from console.app import FlashpoolApp
from engine.api import LocalSite
from engine.site import Site
from tests.console.scenes import build_demo_site

ROUNDS = 5
STEPS = [
    ("pool detail", "enter", "PoolDetailScreen"),
    ("back to copy pools", "escape", "PoolsScreen"),
    ("groups and volumes", "2", "GroupsScreen"),
    ("volume", "enter", "VolumeScreen"),
    ("back to groups", "escape", "GroupsScreen"),
    ("relationships", "3", "RelationshipsScreen"),
    ("activity", "4", "ActivityScreen"),
    ("alerts", "5", "AlertsScreen"),
    ("copy pools", "1", "PoolsScreen"),
]


async def switches(path, expect_pools: int) -> dict[str, list[float]]:
    site = Site.open(path)
    app = FlashpoolApp(LocalSite(site), live=False, start_engine=False, user="bench")
    times: dict[str, list[float]] = {name: [] for name, _, _ in STEPS}
    times["palette"] = []
    async with app.run_test(size=(130, 40)) as pilot:
        clock = FrameClock(app)
        while not (type(app.screen).__name__ == "PoolsScreen" and app.screen.table.row_count >= expect_pools):
            await asyncio.sleep(0.001)
        while not app.warmed or not reloads_idle(app):  # the other screens warmed, as in the console
            await asyncio.sleep(0.01)
        await pilot.pause()

        for _ in range(ROUNDS):
            for name, key, screen in STEPS:
                times[name].append(await key_to_frame(app, clock, key, rows_shown(app, screen), timeout=30))
                await asyncio.sleep(0.05)
            t = await key_to_frame(app, clock, "ctrl+p", lambda: type(app.screen).__name__ == "CommandPalette")
            times["palette"].append(t)
            await pilot.press("escape")
            await asyncio.sleep(0.05)
    await site.close()
    return times


def main() -> None:
    with scratch("console-switch") as root:
        asyncio.run(build_big(root / "big"))
        asyncio.run(build_demo_site(root / "demo"))
        started = time.perf_counter()
        small = asyncio.run(switches(root / "demo", 3))
        big = asyncio.run(switches(root / "big", POOLS))
        took = time.perf_counter() - started
    print(f"{ROUNDS} rounds of {len(STEPS) + 1} switches per site ({took:.0f} s)")
    for name in small:
        print(
            f"  {name:<20} demo p95 {p95(small[name]) * 1000:7.1f} ms   "
            f"big p95 {p95(big[name]) * 1000:7.1f} ms (max {max(big[name]) * 1000:.1f}, "
            f"median {sorted(big[name])[len(big[name]) // 2] * 1000:.1f})"
        )
    demo = p95([t for ts in small.values() for t in ts]) * 1000
    large = p95([t for ts in big.values() for t in ts]) * 1000
    result("console_switch_p95_demo_ms", demo, "<", 150, ".1f")
    result("console_switch_p95_big_ms", large, "<", 500, ".1f")
    result("console_switch_ratio_big_vs_demo", large / demo, "<", 20, ".2f")


if __name__ == "__main__":
    main()
