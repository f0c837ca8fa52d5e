"""A label a reload rewrites lays the screen out again only when its size may change, and always
shows the text it was given."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import Sparkline

from console import textual_internals as internals
from console.widgets.live_label import LiveLabel


class LabelApp(App[None]):
    CSS = "#row { height: 1; } LiveLabel { width: auto; } Sparkline { width: 1fr; }"

    def compose(self) -> ComposeResult:
        with Horizontal(id="row"):
            yield LiveLabel("", id="text")
            yield Sparkline([1.0, 2.0])


async def test_a_label_lays_out_only_when_its_width_changes(monkeypatch):
    app = LabelApp()
    async with app.run_test(size=(60, 5)) as pilot:
        label = app.query_one(LiveLabel)
        layouts: list[bool] = []
        refresh = LiveLabel.refresh

        def spy(self, *regions, **kw):
            layouts.append(kw.get("layout", False))
            return refresh(self, *regions, **kw)

        monkeypatch.setattr(LiveLabel, "refresh", spy)

        def shown() -> str:
            return internals.screen_lines(app.screen)[0].rstrip()

        label.show("3 running · 12.5 tracks/s")
        await pilot.pause()
        assert any(layouts) and shown().startswith("3 running · 12.5 tracks/s")
        layouts.clear()
        label.show("3 running · 12.5 tracks/s")  # a reload with nothing new
        await pilot.pause()
        assert layouts == []
        label.show(Text("2 running · 99.0 tracks/s"))  # as wide: repainted where it is
        await pilot.pause()
        assert layouts == [False] and shown().startswith("2 running · 99.0 tracks/s")
        layouts.clear()
        label.show("1 running · 1,234.5 tracks/s")  # wider: the sparkline beside it must move
        await pilot.pause()
        assert layouts[0] is True and shown().startswith("1 running · 1,234.5 tracks/s")
        assert label.size.width == len("1 running · 1,234.5 tracks/s")
