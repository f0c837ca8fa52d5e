"""Snapshots of every screen in two themes (plus light and high contrast for the first screen):
the same scenes `make screenshots` renders, on a fixed clock and fixed demo data.

Update after an intended change: `pytest tests/console/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import pytest

from tests.console.conftest import make_app
from tests.console.scenes import SCENES, SIZE, SIZED, SIZES, WALKTHROUGH_SCENES, Scene, scene

THEMES = ["flashpool-dark", "3270"]
CASES = (
    [(s, t) for s in SCENES for t in THEMES]
    + [(scene("pools"), "flashpool-light"), (scene("pools"), "high-contrast")]
    + [(s, "flashpool-dark") for s in WALKTHROUGH_SCENES]
    + [(scene("w1-summary"), "3270")]
)
SIZED_CASES = [(scene(name), size) for name in SIZED for size in SIZES]


@pytest.mark.parametrize(("sc", "theme"), CASES, ids=[f"{s.name}-{t}" for s, t in CASES])
def test_screen(snap_compare, demo_path, sc: Scene, theme: str) -> None:
    app = make_app(demo_path, theme=theme, **sc.app_options)
    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=sc.drive)
    finally:
        app.site.engine.close_files()


@pytest.mark.parametrize(("sc", "size"), SIZED_CASES, ids=[f"{s.name}-{w}x{h}" for s, (w, h) in SIZED_CASES])
def test_screen_size(snap_compare, demo_path, sc: Scene, size: tuple[int, int]) -> None:
    """80 x 24 keeps what matters (columns dropped by priority, nothing cut at the right edge);
    200 x 50 uses the room (wide columns grow)."""
    app = make_app(demo_path, **sc.app_options)
    try:
        assert snap_compare(app, terminal_size=size, run_before=sc.drive)
    finally:
        app.site.engine.close_files()


def test_no_color(snap_compare, demo_path, monkeypatch) -> None:
    """NO_COLOR: the track map and states still read (characters, not colours, carry the meaning)."""
    monkeypatch.setenv("NO_COLOR", "1")
    sc = scene("volume")
    app = make_app(demo_path)
    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=sc.drive)
    finally:
        app.site.engine.close_files()
