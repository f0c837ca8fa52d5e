"""The footer's keys are born with the look they keep: no bound key is restyled on its way in,
and the command palette's key stays compact, as Textual draws it."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.dom import DOMNode

from console.textual_internals import FooterKey
from console.widgets.footer import KeysFooter


class FooterApp(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "down", "Down"),
        Binding("k", "up", "Up"),
        Binding("s", "sort", "Sort"),
    ]

    def compose(self) -> ComposeResult:
        yield KeysFooter()


async def test_footer_keys_are_not_restyled_as_they_mount(monkeypatch):
    restyled: list[str] = []
    update = DOMNode.update_node_styles

    def spy(self, animate: bool = True) -> None:
        if isinstance(self, FooterKey):
            restyled.append(self.key)
        update(self, animate)

    monkeypatch.setattr(DOMNode, "update_node_styles", spy)
    app = FooterApp()
    async with app.run_test(size=(80, 5)) as pilot:
        await pilot.pause()
        keys = {k.key: k for k in app.query(FooterKey)}
        assert {"j", "k", "s"} <= set(keys)
        assert set(restyled) <= {"ctrl+p"}, restyled  # Textual's palette key: compact, and so restyled
        assert not keys["j"].compact and not keys["j"].has_class("-compact")
        assert keys["ctrl+p"].compact and keys["ctrl+p"].has_class("-compact")
