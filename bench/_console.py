"""Measuring the console as an operator feels it: from a key arriving at the app (as a terminal
driver delivers it) to the frame that shows its effect.

Headless Textual still composes every frame and hands it to `App._display`; we timestamp those
calls, so "rendered" means the compositor produced the update the terminal would receive.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual import events
from textual.app import App

from console.screens.base import lists_loading
from console.widgets.live_table import LiveTable


class FrameClock:
    """Notes the first frame the app produced (wraps `App._display`) once a condition holds:
    the condition is checked as each frame is produced, so the frame shows the effect."""

    def __init__(self, app: App) -> None:
        self.frames = 0
        self.condition: Callable[[], bool] | None = None
        self.hit: float | None = None
        original = app._display

        def display(screen, renderable) -> None:
            original(screen, renderable)
            if renderable is not None:
                self.frames += 1
                if self.condition is not None and self.hit is None and self.condition():
                    self.hit = time.perf_counter()

        app._display = display  # type: ignore[method-assign]


async def key_to_frame(app: App, clock: FrameClock, key: str, done: Callable[[], bool], timeout: float = 10.0) -> float:
    """Seconds from sending `key` until the first frame after `done()` became true."""
    driver = app._driver
    assert driver is not None
    char = key if len(key) == 1 else None
    clock.condition, clock.hit = done, None
    start = time.perf_counter()
    driver.send_message(events.Key(key, char))
    while time.perf_counter() - start < timeout:
        if clock.hit is not None:
            clock.condition = None
            return clock.hit - start
        await asyncio.sleep(0.0005)
    raise TimeoutError(f"key {key!r}: no frame showed its effect within {timeout} s")


def rows_shown(app: App, screen_name: str) -> Callable[[], bool]:
    """A condition for `key_to_frame`: the screen named is on top and has received rows since
    the key was sent (a screen already on top must load again)."""
    before = getattr(app.screen, "loads", 0) if type(app.screen).__name__ == screen_name else 0

    def check() -> bool:
        s = app.screen
        return type(s).__name__ == screen_name and getattr(s, "loads", 0) > (before if s is app.screen else 0)

    return check


def up_and_down(table: LiveTable, n: int, run: int) -> str:
    """The n-th key of `run` j's then `run` k's, turned at either end of the list (a reload may
    have carried the cursor's row to the top or the bottom, where that key would do nothing)."""
    key = "j" if (n // run) % 2 == 0 else "k"
    if key == "j" and table.cursor_row >= table.row_count - 1:
        return "k"
    if key == "k" and table.cursor_row <= 0:
        return "j"
    return key


def cursor_moved(table: LiveTable) -> Callable[[], bool]:
    """A condition for `key_to_frame` after j/k: the cursor left the row it was on. Not "the
    cursor is at index n": a reload that reorders rows (copy progress) keeps the cursor on its
    row, so its index may change while only a key moves it to another row."""
    before = table.selected_key
    return lambda: table.selected_key != before


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def p95(values: list[float]) -> float:
    return quantile(values, 0.95)


def reloads_idle(app: App) -> bool:
    """No screen is still loading its rows."""
    return not lists_loading(app)
