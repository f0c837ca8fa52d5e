"""Scenes of the console: a deterministic demo site and the keys that lead to each screen.

One list serves `make screenshots` (the README's pictures) and the snapshot tests, so the pictures
the README shows are exactly the screens the tests pin.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from console.app import FlashpoolApp
from engine.hsm.demo import demo_definition, seed_demo
from engine.site import Site

#: a fixed clock: every timestamp on screen is the same on every run
T0 = 1_795_000_000
SIZE = (130, 40)


def fixed_clock() -> Callable[[], float]:
    ticks = iter(range(T0, T0 + 10**7, 7))
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


def _sparse_copy(src: str, dst: str) -> None:
    """Copy only the data regions: a demo site is mostly holes, and copying 260 MB of zeros per
    test would dominate the console suite."""
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        size = os.fstat(fi.fileno()).st_size
        pos = 0
        while pos < size:
            try:
                start = os.lseek(fi.fileno(), pos, os.SEEK_DATA)
            except OSError:  # no data after pos
                break
            end = os.lseek(fi.fileno(), start, os.SEEK_HOLE)
            fi.seek(start)
            fo.seek(start)
            left = end - start
            while left:
                data = fi.read(min(left, 1 << 20))
                fo.write(data)
                left -= len(data)
            pos = end
        fo.truncate(size)
    shutil.copystat(src, dst)


def copy_site(template: Path, dst: Path) -> Path:
    shutil.copytree(template, dst, copy_function=_sparse_copy)
    (dst / "site.lock").unlink(missing_ok=True)
    return dst


def scene_app(path: Path, **kw: object) -> FlashpoolApp:
    """The real app on a still site: no copier running, no timer, so every frame is reproducible."""
    site = Site.open(path, clock=fixed_clock())
    kw.setdefault("live", False)
    kw.setdefault("start_engine", False)
    return FlashpoolApp(site, **kw)  # type: ignore[arg-type]


async def settle(pilot, rounds: int = 3) -> None:  # noqa: ANN001 - a textual Pilot
    """Let reload workers and the repaints they cause finish (the event pump never finishes)."""
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause()
        for _ in range(300):
            waiting_on_operator = app.screen.is_modal
            busy = [w for w in app.workers if not w.is_finished and w.group != "engine-pump"
                    and not (w.group == "commands" and waiting_on_operator)]
            if not busy:
                break
            await asyncio.sleep(0.01)
        await pilot.pause()


@dataclass(frozen=True)
class Scene:
    """A screen worth a picture: its name and the key presses (from the first screen) that reach it."""

    name: str
    keys: tuple[str, ...]
    caption: str
    app_options: dict = field(default_factory=dict)

    async def drive(self, pilot) -> None:  # noqa: ANN001
        await settle(pilot)
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
    Scene("volume", ("2", "slash", *_typed("BK0A09"), "enter", "enter"), "A volume's live track map: uncopied and changed tracks in cylinder bands"),
    Scene("relationships", ("3",), "Every FlashCopy relationship, with the cascades as a tree"),
    Scene("activity", ("4",), "The activity log: every command with its messages and return code"),
    Scene("command-line", ("colon", *_typed("LIST COPYPOOL(PAYROLL)"), "enter"),
          "The command line: the HSM command language, messages in place"),
    Scene("confirm-recovery", ("r",), "A destructive action: its impact, and the copy pool name to type"),
    Scene("help", ("question_mark",), "Help: the keys of the current screen, searchable"),
    Scene("read-only", (), "Read-only mode: changing actions greyed out", {"read_only": True}),
]


def scene(name: str) -> Scene:
    return next(s for s in SCENES if s.name == name)
