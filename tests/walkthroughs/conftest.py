"""Walkthrough fixtures: the console demo site and a key counter (operator effort is a figure)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tests.console.conftest import demo_path, make_app, pinned_environment, settle  # noqa: F401 - fixtures

#: keys each walkthrough test pressed, from the first screen to the verified summary
KEY_COUNTS: dict[str, int] = {}


class Keys:
    """Presses keys through the Pilot and counts them; typing a name counts as one key."""

    def __init__(self, pilot) -> None:
        self.pilot = pilot
        self.count = 0

    async def press(self, *keys: str) -> None:
        for key in keys:
            await self.pilot.press(key)
            self.count += 1
            await settle(self.pilot, 1)
        await settle(self.pilot)

    async def type(self, text: str) -> None:
        await self.pilot.press(*text)
        self.count += 1
        await settle(self.pilot)


async def digest(site, volser: str) -> str:
    """What a host reads from the volume, hashed here (not through engine.hsm.verify)."""
    h = hashlib.sha256()
    vol = site.context.volume(volser)
    for data in await site.flashcopy.read_run(volser, 0, vol.tracks):
        h.update(data)
    return h.hexdigest()


async def damage(site, volser: str, first: int, count: int) -> None:
    size = site.context.volume(volser).geometry.track_size
    for k in range(first, first + count):
        await site.flashcopy.write(volser, k, bytes([0xDE, 0xAD]) * (size // 2))


def report(name: str, keys: Keys) -> None:
    KEY_COUNTS[name] = keys.count


@asynccontextmanager
async def console(path) -> AsyncIterator[tuple]:
    """The console on a copy of the demo site, settled on its first screen, with a key counter."""
    app = make_app(path)
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        yield app, Keys(pilot)
    await app.site.close()
