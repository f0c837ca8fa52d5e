"""The console on a site the size of a real shop (`bench.sites`: 20,012 volumes, 500 copy pools,
85 versions of the largest), as `make run` opens it: a client of the site's server, which runs
the background copies (thousands of relationships copying throughout).

Timed from the key to the frame that shows its effect: the start (to the copy pools list with
all 500 pools; the first right after the server started is printed, the goal is the start with
the server running, as a site's service is), every screen switch (three rounds), each keystroke of a filter on the 20,012
volumes, and j/k on the 20,012-row list. Goals (#17): start, each switch and each filter key under
500 ms; keypress p95 under 50 ms with at least 256 copies running.

Baseline, same run: the same keys on the demo site's server (the ratio is printed).
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

from bench import sites
from bench._common import Timer, result, scratch
from bench._console import FrameClock, cursor_moved, key_to_frame, p95, reloads_idle, rows_shown, up_and_down
from bench._server import serving
from bench.console_switch import STEPS
from console.app import FlashpoolApp
from server.client import RemoteSite
from tests.console.scenes import build_demo_site

ROUNDS = 3
PRESSES = 100
FILTER = "DB07"  # 1,024 -> ... -> 10 of the largest pool's volumes


async def first_start(path: Path, expect_pools: int) -> float:
    """Seconds to the copy pools list with all its pools, the server just started (cold)."""
    api = RemoteSite(path)
    started = time.perf_counter()
    try:
        async with FlashpoolApp(api, refresh_interval=1.0).run_test(size=(130, 40)) as pilot:
            app = pilot.app
            while not (type(app.screen).__name__ == "PoolsScreen" and app.screen.table.row_count >= expect_pools):
                await asyncio.sleep(0.001)
            return time.perf_counter() - started
    finally:
        await api.close()


async def session(path: Path, expect_pools: int) -> dict[str, list[float]]:
    """Seconds per measured key (and the start), the console attached to the running server."""
    api = RemoteSite(path)
    app = FlashpoolApp(api, refresh_interval=1.0)
    times: dict[str, list[float]] = {"start": []}
    started = time.perf_counter()
    try:
        async with app.run_test(size=(130, 40)) as pilot:
            clock = FrameClock(app)
            while not (type(app.screen).__name__ == "PoolsScreen" and app.screen.table.row_count >= expect_pools):
                await asyncio.sleep(0.001)
            times["start"].append(time.perf_counter() - started)
            while not app.warmed or not reloads_idle(app):
                await asyncio.sleep(0.01)
            for _ in range(ROUNDS):
                for name, key, screen in STEPS:
                    times.setdefault(name, []).append(
                        await key_to_frame(app, clock, key, rows_shown(app, screen), timeout=30)
                    )
                    await asyncio.sleep(0.1)
            await pilot.press("2")
            while type(app.screen).__name__ != "GroupsScreen" or not reloads_idle(app):
                await asyncio.sleep(0.01)
            table = app.screen.table
            await key_to_frame(app, clock, "slash", lambda: app.screen.query_one("#filter").display)
            for n in range(1, len(FILTER) + 1):
                typed = FILTER[:n]
                times.setdefault("filter key", []).append(
                    await key_to_frame(app, clock, FILTER[n - 1], lambda t=typed: table.filter_text == t)
                )
                await asyncio.sleep(0.1)
            await pilot.press("escape", "escape")  # the filter kept, then cleared
            while table.filter_text:
                await asyncio.sleep(0.01)
            rng = random.Random(7)
            for n in range(PRESSES):
                key = up_and_down(table, n, 10)
                times.setdefault("j/k", []).append(await key_to_frame(app, clock, key, cursor_moved(table)))
                await asyncio.sleep(rng.uniform(0.02, 0.06))
            times["copies"] = [float((await asyncio.to_thread(api.status)).copies)]
    finally:
        await api.close()
    return times


def main() -> None:
    with scratch("console-big") as root:
        with Timer() as built:
            asyncio.run(sites.build(root / "big"))
        asyncio.run(build_demo_site(root / "demo" / "flashpool-data"))
        with serving(root / "demo" / "flashpool-data", copy_rate=50):
            small_cold = asyncio.run(first_start(root / "demo" / "flashpool-data", 3))
            small = asyncio.run(session(root / "demo" / "flashpool-data", 3))
        with serving(root / "big", copy_rate=20):  # tracks a second per copier: copies run throughout
            cold = asyncio.run(first_start(root / "big", sites.POOLS))
            big = asyncio.run(session(root / "big", sites.POOLS))
    copies = int(big.pop("copies")[0])
    small.pop("copies")
    print(
        f"{sites.volume_count():,} volumes, {sites.POOLS} copy pools (built in {built.seconds:.1f} s); "
        f"the console attached to the server, {copies:,} copies running at the end"
    )
    print(
        f"  {'first start':<20} big {cold * 1000:7.1f} ms (the server just started)      demo {small_cold * 1000:6.1f} ms"
    )
    for name in big:
        print(
            f"  {name:<20} big p95 {p95(big[name]) * 1000:7.1f} ms (max {max(big[name]) * 1000:7.1f})   "
            f"demo p95 {p95(small[name]) * 1000:6.1f} ms"
        )
    print(
        f"  the baseline: j/k p95 {p95(big['j/k']) / p95(small['j/k']):.2f}x the demo site's, "
        f"switches {max(t for name, _, _ in STEPS for t in big[name]) / max(t for name, _, _ in STEPS for t in small[name]):.2f}x"
    )
    switches = [t for name, _, _ in STEPS for t in big[name]]
    result("console_big_start_ms", big["start"][0] * 1000, "<", 500, ".0f")
    result("console_big_switch_max_ms", max(switches) * 1000, "<", 500, ".0f")
    result("console_big_filter_key_max_ms", max(big["filter key"]) * 1000, "<", 500, ".0f")
    result("console_big_keypress_p95_ms", p95(big["j/k"]) * 1000, "<", 50, ".1f")
    result("console_big_copies_running", copies, ">=", 256, "d")


if __name__ == "__main__":
    main()
