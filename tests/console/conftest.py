"""Console fixtures: a deterministic demo site (fixed clock, seeded data), pinned environment."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import pytest

from console.app import FlashpoolApp
from engine.hsm.demo import demo_definition, seed_demo
from engine.site import Site

T0 = 1_795_000_000  # a fixed clock: every timestamp on screen is the same each run
_TEMPLATE: Path | None = None


def fixed_clock():
    ticks = iter(range(T0, T0 + 10**7, 7))
    return lambda: float(next(ticks))


@pytest.fixture(autouse=True)
def pinned_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FLASHPOOL_THEME", raising=False)
    monkeypatch.setenv("FLASHPOOL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def _template(root: Path) -> Path:
    """Build the seeded demo site once per test session, then copy it (seeding takes a second)."""
    global _TEMPLATE
    if _TEMPLATE is None:
        path = root / "demo-template" / "flashpool-data"

        async def build() -> None:
            site = Site.create(path, demo_definition(), clock=fixed_clock())
            await seed_demo(site)
            await site.close()

        asyncio.run(build())
        _TEMPLATE = path
    return _TEMPLATE


@pytest.fixture
def demo_path(tmp_path_factory, tmp_path) -> Path:
    src = _template(tmp_path_factory.getbasetemp())
    dst = tmp_path / "flashpool-data"
    shutil.copytree(src, dst)
    (dst / "site.lock").unlink(missing_ok=True)
    return dst


def make_app(path: Path, **kw) -> FlashpoolApp:
    site = Site.open(path, clock=fixed_clock())
    kw.setdefault("live", False)
    kw.setdefault("start_engine", False)
    return FlashpoolApp(site, **kw)


async def settle(pilot, rounds: int = 3) -> None:
    """Let reload workers and the resulting repaints finish (the event pump never finishes)."""
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause()
        for _ in range(200):
            busy = [w for w in app.workers if w.group != "engine-pump" and not w.is_finished]
            if not busy:
                break
            await asyncio.sleep(0.01)
        await pilot.pause()
