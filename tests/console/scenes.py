"""Scenes of the console: a deterministic demo site and the keys that lead to each screen.

One list serves `make screenshots` (the README's pictures) and the snapshot tests, so the pictures
the README shows are exactly the screens the tests pin.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from textual.widgets import Input

from console.app import FlashpoolApp
from engine.api import LocalSite
from engine.demo import demo_definition, seed_demo
from engine.site import Site
from tests.sitecopy import copy_site  # noqa: F401 - the scenes' sites are copies of one template

#: a fixed clock: every timestamp on screen is the same on every run
T0 = 1_795_000_000
SIZE = (130, 40)


def fixed_clock(start: int = T0) -> Callable[[], float]:
    ticks = iter(range(start, start + 10**7, 7))
    return lambda: float(next(ticks))


def pin_environment() -> None:
    """UTC and no user settings, so pictures do not depend on who renders them."""
    os.environ["TZ"] = "UTC"
    time.tzset()
    os.environ.pop("NO_COLOR", None)
    os.environ.pop("FLASHPOOL_THEME", None)


async def build_demo_site(path: Path) -> Path:
    """The seeded demo site on a fixed clock (about a second)."""
    site = Site.create(path, demo_definition(), clock=fixed_clock())
    await seed_demo(site)
    await site.close()
    return path


def scene_app(path: Path, **kw: object) -> FlashpoolApp:
    """The real app on a still site: no copier running, no timer, nothing warmed in the background,
    so every frame is reproducible."""
    site = Site.open(path, clock=fixed_clock(T0 + 86_400))  # a day after the demo was seeded
    kw.setdefault("live", False)
    kw.setdefault("user", "operator")  # not whoever runs the tests
    kw.setdefault("start_engine", False)
    kw.setdefault("warm", False)  # the other screens are composed when a test visits them
    return FlashpoolApp(LocalSite(site), **kw)  # type: ignore[arg-type]


#: workers that run as long as something lives (the engine's events, a copy's progress bar)
LONG_RUNNING = {"engine-pump", "walkthrough-progress"}
#: workers that wait for the operator while a modal (a confirmation) is up
ASKING = {"commands", "walkthrough", "quit", "config"}


async def settle(pilot, rounds: int = 3) -> None:
    """Let reload workers and the repaints they cause finish (the event pump never finishes)."""
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause()
        for _ in range(300):
            waiting_on_operator = app.screen.is_modal
            busy = [
                w
                for w in app.workers
                if not w.is_finished and w.group not in LONG_RUNNING and not (w.group in ASKING and waiting_on_operator)
            ]
            paced = getattr(app.screen, "_waiting", None) is not None  # a reload due soon (ListScreen.PACE)
            if not busy and not paced:
                break
            await asyncio.sleep(0.01)
        await pilot.pause()
    for box in app.screen.query(Input):  # a blinking cursor would be caught in either phase
        box.cursor_blink = False
    await pilot.pause()


@dataclass(frozen=True)
class Scene:
    """A screen worth a picture: its name and the key presses (from the first screen) that reach it."""

    name: str
    keys: tuple[str, ...]
    caption: str
    app_options: dict = field(default_factory=dict)
    before: Callable[[FlashpoolApp], Awaitable[None]] | None = None  # what happens on the site first (alerts)

    async def drive(self, pilot) -> None:
        await settle(pilot)
        if self.before is not None:
            await self.before(pilot.app)
            await settle(pilot)
            pilot.app.clear_notifications()  # the list is the picture, not the toasts over it
        for key in self.keys:
            await pilot.press(key)
            if len(key) > 1 or key.isdigit():  # typed characters need no reload in between
                await settle(pilot, 1)
        await settle(pilot)


def _typed(text: str) -> tuple[str, ...]:
    return tuple(text)


SCENES: list[Scene] = [
    Scene("pools", (), "Copy pools: versions, fast reverse restore eligibility, dumps, live copy progress"),
    Scene("pool-detail", ("enter",), "A copy pool's versions and the selected version's volume pairs"),
    Scene("groups", ("2",), "Storage groups and their volumes"),
    Scene(
        "volume",
        ("2", "slash", *_typed("BK0A09"), "enter", "enter"),
        "A volume's live track map: uncopied and changed tracks in cylinder bands",
    ),
    Scene("relationships", ("3",), "Every FlashCopy relationship, with the cascades as a tree"),
    Scene("activity", ("4",), "The activity log: every command with its messages and return code"),
    Scene(
        "command-line",
        ("colon", *_typed("LIST COPYPOOL(PAYROLL)"), "enter"),
        "The command line: the HSM command language, messages in place",
    ),
    Scene("confirm-withdraw", ("enter", "w"), "A destructive action: its impact, and the copy pool name to type"),
    Scene("walkthroughs", ("r",), "The walkthroughs: r on a copy pool, or the palette"),
    Scene("help", ("question_mark",), "Help: the keys of the current screen, searchable"),
    Scene("config", ("6",), "The configuration: copy pools, storage groups, volumes, dump classes, what holds each"),
    Scene(
        "config-versions",
        ("6", "slash", *_typed("DSN$DB0A$DB"), "enter", "g", "v", "backspace", "1", "enter"),
        "A configuration change previewed: VERSIONS lowered, the versions the next FRBACKUP rolls off",
    ),
    Scene("read-only", (), "Read-only mode: changing actions greyed out", {"read_only": True}),
    Scene(
        "alerts",
        ("5", "j", "space"),
        "Alerts: copies and dumps that ended, closing FRR windows, parked copies; one acknowledged",
        before=lambda app: raise_demo_alerts(app),
    ),
]


async def raise_demo_alerts(app: FlashpoolApp) -> None:
    """What an evening on the demo site raises, on the site's fixed clock: in the site's alert
    list, as its alert watch records them."""
    from engine.hsm.alerts import AlertKind, AlertRaised

    now = app.site.engine.flashcopy.clock()
    db2 = "DSN$DB0A$DB"
    watch = app.site.engine.alerts
    watch._raise(
        [
            AlertRaised(
                now - 900,
                AlertKind.COPY_COMPLETE,
                "HRNIGHT",
                "BACKGROUND COPY OF VERSION 002 OF COPY POOL HRNIGHT IS COMPLETE: ITS TARGETS HOLD THE WHOLE POINT IN TIME",
            ),
            AlertRaised(
                now - 600,
                AlertKind.FRR_WINDOW_CLOSED,
                db2,
                f"VERSION 002 OF COPY POOL {db2} CAN NO LONGER BE RECOVERED BY FAST REVERSE RESTORE (ITS RELATIONSHIPS ENDED); FRRECOV NOW COPIES EVERY TRACK BACK",
            ),
            AlertRaised(
                now - 300,
                AlertKind.DUMP_COMPLETE,
                "PAYROLL",
                "DUMP OF VERSION 004 OF COPY POOL PAYROLL IS ALLCOMPLETE",
            ),
            AlertRaised(
                now - 120,
                AlertKind.COPY_PARKED,
                None,
                "BACKGROUND COPY DB0A01 -> BK0A09 STOPPED: no space left on device; IT IS RETRIED EVERY FEW SECONDS AND NOTHING COPIED IS LOST",
            ),
        ]
    )
    await watch.settle()


#: every list screen, the alerts and a walkthrough again at the smallest and a large terminal
SIZES = ((80, 24), (200, 50))
SIZED = (
    "pools",
    "pool-detail",
    "groups",
    "volume",
    "relationships",
    "activity",
    "alerts",
    "confirm-withdraw",
    "config",
    "w1-checks",
)


W1_STEPS = [
    ("context", ("r", "1")),
    ("pool", ("enter",)),
    ("checks", ("enter",)),
    ("impact", ("enter",)),
    ("confirm", ("enter", *_typed("DSN$DB0A$DB"))),
    ("run", ("enter",)),
    ("verify", ("enter",)),
    ("summary", ("enter",)),
]


def _w1_scenes() -> list[Scene]:
    out, keys = [], ()
    for step, more in W1_STEPS:
        keys = (*keys, *more)
        out.append(Scene(f"w1-{step}", keys, f"Walkthrough 1, {step}"))
    return out


#: walkthrough 1 from start to finish, and the checks of every other walkthrough
WALKTHROUGH_SCENES: list[Scene] = [
    *_w1_scenes(),
    Scene(
        "w2-checks", ("enter", "j", "r", "enter", "enter", "enter", "enter"), "Walkthrough 2: an older version, checked"
    ),
    Scene("w3-checks", ("j", "r", "3", "enter", "enter"), "Walkthrough 3: incremental recovery, checked"),
    Scene("w4-checks", ("r", "4", "enter", "enter", "down", "enter", "down", "enter"), "Walkthrough 4: one volume"),
    Scene("w5-checks", ("j", "j", "r", "5", "enter", "enter", "enter", "enter", "enter"), "Walkthrough 5: from tape"),
    Scene("w6-pattern", ("r", "6", "enter", *_typed("PAY.**")), "Walkthrough 6: data sets by pattern"),
    Scene("w7-checks", ("j", "j", "b", "enter", "enter", "enter"), "Walkthrough 7: backup now"),
    Scene(
        "w8-only-version",
        ("j", "j", "r", "8", "enter", "enter", "enter", "enter"),
        "Walkthrough 8: withdrawing the only valid version: the impact says nothing is left to recover from",
    ),
    Scene("w9-checks", ("j", "j", "r", "9", "enter", "enter"), "Walkthrough 9: PREPARE, checked"),
]


def scene(name: str) -> Scene:
    return next(s for s in SCENES + WALKTHROUGH_SCENES if s.name == name)
