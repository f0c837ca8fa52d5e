"""Random keys never take the console down. A seeded sequence of the keys an operator uses (every
screen's bindings, filters, the command line, walkthroughs, confirmations, the palette), pressed
on the demo site at 80 x 24 and 130 x 40: after every key the app still runs, and at the end it
still answers (escape back out, `1`: the copy pools again). `make soak` runs many more seeds, and
half of them on a live console (the engine copying, lists reloading, screens warmed meanwhile).

A failure prints its seed, size and last keys: `run(demo_path, seed, size, live)` replays them.
"""

from __future__ import annotations

import os
import random

import pytest

from tests.console.conftest import make_app, settle

#: the bindings of every screen and modal (console/**: Binding(...)) and what is typed into boxes;
#: not q / ctrl+q: quitting is a way out, not a crash, and has tests of its own
KEYS: tuple[str, ...] = (
    *"12345",
    *"jkjkjkgG",
    *("enter",) * 4,
    *("escape",) * 4,
    *"sSbrwdtAecp",
    "slash",
    "colon",
    "question_mark",
    "space",
    "tab",
    "shift+tab",
    "up",
    "down",
    "pageup",
    "pagedown",
    "home",
    "end",
    "backspace",
    "ctrl+p",
    *"ynZP09$(",
)
PRESSES = 160
SOAK = bool(os.environ.get("FLASHPOOL_SOAK"))
SIZES = ((80, 24), (130, 40))
CASES = (
    [(seed, size, live) for seed in range(1, 9) for size in SIZES for live in (False, True)]
    if SOAK
    else [(0, (80, 24), False)]
)
LIVE = {"live": True, "start_engine": True, "warm": True}


async def run(demo_path, seed: int, size: tuple[int, int], live: bool = False) -> None:
    rnd = random.Random(seed)
    app = make_app(demo_path, **(LIVE if live else {}))
    pressed: list[str] = []
    try:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            for n in range(PRESSES * (2 if SOAK else 1)):
                key = rnd.choice(KEYS)
                pressed.append(key)
                await pilot.press(key)
                if n % 20 == 19:
                    await settle(pilot, rounds=1)
                assert app.is_running and app.return_code is None, (seed, size, live, pressed[-25:])
            await settle(pilot)
            for _ in range(16):  # out of whatever is open (modals, walkthroughs, filters, drill-ins) in
                # each mode visited: a mode keeps its screens, a walkthrough left open included
                screen = app.screen
                filtering = bool(screen.query("#filter")) and screen.query_one("#filter").display
                if len(app.screen_stack) > 1 or filtering:
                    await pilot.press("escape")
                elif type(screen).__name__ == "PoolsScreen":
                    break
                else:
                    await pilot.press("1")
                await settle(pilot, rounds=1)
            assert type(app.screen).__name__ == "PoolsScreen", (seed, size, live, pressed[-25:])
            assert app.screen.table.row_count == 3
    finally:
        await app.site.close()


@pytest.mark.parametrize(
    ("seed", "size", "live"), CASES, ids=[f"seed{s}-{w}x{h}{'-live' if v else ''}" for s, (w, h), v in CASES]
)
async def test_random_keys_never_take_the_console_down(demo_path, seed: int, size: tuple[int, int], live: bool) -> None:
    await run(demo_path, seed, size, live)
