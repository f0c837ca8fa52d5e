"""Screens made ready in the background, so that a first visit is a resume and a reload, not a
compose, a restyle and a first render (which took 200-800 ms a screen on this machine).

One step at a time, and only while the console is otherwise idle (the screen shown has its rows,
no list is loading, no key or mouse action for a second): an operator who acts at once is never
queued behind the warming. The steps:
each mode's screen, then the screen enter would open from each mode's selected row (the first
pool's detail, the first volume), kept as if visited. When all are up and loaded, what start-up
made is moved out of the collector's reach (gc.freeze). When the console closes, warming stops
and the screens it is composing finish first (see stop).

Textual has no public API for a screen composed and styled off screen: the warmer reaches its
internals through console/textual_internals.py (screen_stacks, init_mode, mount_screen, mark_styled).
"""

from __future__ import annotations

import gc
import time
from typing import TYPE_CHECKING

from textual import events
from textual.screen import Screen

from console import textual_internals as internals
from console.screens.base import ListScreen, lists_loading

if TYPE_CHECKING:
    from console.app import FlashpoolApp


class Warmer:
    #: seconds between steps; the first step waits this long after the first screen has its rows
    STEP = 0.25
    #: steps to wait for the warmed screens' rows before freezing anyway (a very slow site)
    PATIENCE = 240
    #: seconds without a key or mouse action before a step: a step is up to 300 ms of the
    #: event loop's time, which a key pressed meanwhile would wait for
    QUIET = 1.0

    def __init__(self, app: FlashpoolApp) -> None:
        self.app = app
        self.done = False
        self.stopped = False  # the console is closing: no more steps
        self._made: list[Screen[None]] = []  # the screens it composed (some may still be composing)
        self._drilled: set[str] = set()  # modes whose drill-in was warmed (once each)
        self._waited = 0

    def start(self) -> None:
        self.app.set_timer(self.STEP * 2, self.step)

    def cold_modes(self) -> list[str]:
        """The modes whose screen is not composed yet."""
        return [m for m in self.app.MODES if m not in internals.screen_stacks(self.app)]

    def busy(self) -> bool:
        app = self.app
        if time.monotonic() - app.last_input < self.QUIET:
            return True
        shown = app.screen
        if isinstance(shown, ListScreen) and not shown.loads:
            return True
        return lists_loading(app)

    def step(self) -> None:
        app = self.app
        if self.stopped or self.done:
            return
        if self.busy():
            self._waited += 1
            if self._waited < self.PATIENCE:
                app.set_timer(self.STEP, self.step)
                return
        if cold := self.cold_modes():
            self.warm_mode(cold[0])
        elif drill := self._next_drill_in():
            self.warm_drill_in(*drill)
        else:
            self.finish()
            return
        app.set_timer(self.STEP, self.step)

    def warm_mode(self, mode: str) -> None:
        screen = internals.init_mode(self.app, mode)  # a mode other than the current one: composed, not shown
        self._made.append(screen)
        self._styled_today(screen)

    def _next_drill_in(self) -> tuple[str, ListScreen] | None:
        for mode, stack in internals.screen_stacks(self.app).items():
            root = stack[0]
            if mode not in self._drilled and isinstance(root, ListScreen) and root.loads:
                return mode, root
        return None

    def warm_drill_in(self, mode: str, root: ListScreen) -> None:
        self._drilled.add(mode)
        target = root.drill_in()
        if target is None or self.app.is_screen_installed(target[0]):
            return
        screen = self.app.keep_screen(*target)
        internals.mount_screen(self.app, screen)  # composed and mounted off every stack
        self._made.append(screen)
        self._styled_today(screen)
        screen.post_message(events.ScreenResume())  # loads its rows, rendered before it is shown

    def _styled_today(self, screen: Screen[None]) -> None:
        """Textual styles a screen as it is mounted but records the stylesheet generation only
        for the screens of the current mode: the first visit would parse and apply the whole
        stylesheet again (120 ms here). A theme changed later still restyles it when shown."""
        internals.mark_styled(self.app, screen)

    async def stop(self) -> None:
        """The console is closing: no step from now on, and the screens still composing finish
        first. Textual takes every screen down at once; a screen composing then would have the
        widgets it mounts refused and its mount handlers would find none, and a step meanwhile
        would add a mode's stack while Textual goes through them."""
        self.stopped = True
        for screen in self._made:
            await internals.mounted(screen)

    def finish(self) -> None:
        # what start-up made lives as long as the console: out of the collector's full passes
        gc.freeze()
        self.done = True
