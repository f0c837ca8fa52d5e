"""Console fixtures: a deterministic demo site (fixed clock, seeded data), pinned environment.
The site and the helpers are the same ones `make screenshots` uses (console/scenes.py)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.console.scenes import build_demo_site, copy_site, fixed_clock, scene_app, settle  # noqa: F401 - re-exported

_TEMPLATE: Path | None = None


@pytest.fixture(autouse=True)
def pinned_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FLASHPOOL_THEME", raising=False)
    monkeypatch.setenv("FLASHPOOL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def _template(root: Path) -> Path:
    """Build the seeded demo site once per test session, then copy it for each test."""
    global _TEMPLATE
    if _TEMPLATE is None:
        _TEMPLATE = asyncio.run(build_demo_site(root / "demo-template" / "flashpool-data"))
    return _TEMPLATE


@pytest.fixture
def demo_path(tmp_path_factory, tmp_path) -> Path:
    return copy_site(_template(tmp_path_factory.getbasetemp()), tmp_path / "flashpool-data")


make_app = scene_app
