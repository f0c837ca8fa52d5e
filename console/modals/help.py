"""? help: every key of the screen underneath and what it does, searchable with /."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Input, Label, Static


def bindings_of(app: App[Any], screen: Screen[Any]) -> list[tuple[str, str, str]]:
    """(key, description, id) of every binding active on the screen (focused widget up to app)."""
    seen: set[str] = set()
    out: list[tuple[str, str, str]] = []
    nodes: list[DOMNode] = []
    node: DOMNode | None = screen.focused
    while node is not None and node is not screen:
        nodes.append(node)
        node = node.parent
    nodes += [screen, app]
    for n in nodes:
        for b in n._bindings.key_to_bindings.values() if hasattr(n, "_bindings") else []:
            for binding in b:
                if binding.description and (binding.id or binding.action) not in seen:
                    seen.add(binding.id or binding.action)
                    out.append((app.get_key_display(binding), binding.description, binding.id or ""))
    return out


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close", id="help.close"),
        Binding("slash", "search", "Search", id="help.search"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    #help { width: 90; height: 80%; border: thick $primary; background: $surface; padding: 0 1; }
    #help-table { height: 1fr; }
    """

    def __init__(self, title: str, text: str, keys: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.title_text, self.text, self.keys = title, text, keys

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Label(f"Help - {self.title_text}", id="help-title")
            yield Static(self.text, id="help-text")
            yield Input(placeholder="search keys", id="help-search")
            yield DataTable(id="help-table", cursor_type="row")

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        t.add_columns("Key", "Action", "Binding id (keymap.toml)")
        self._fill("")
        self.query_one("#help-search", Input).cursor_blink = False
        t.focus()

    def _fill(self, needle: str) -> None:
        t = self.query_one(DataTable)
        t.clear()
        for key, desc, bid in self.keys:
            if needle.lower() in f"{key} {desc} {bid}".lower():
                t.add_row(key, desc, bid)

    @on(Input.Changed, "#help-search")
    def _search(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def action_search(self) -> None:
        self.query_one("#help-search", Input).focus()

    def action_close(self) -> None:
        self.dismiss(None)


class TextScreen(ModalScreen[None]):
    """A block of text (an activity entry's messages, a command's result)."""

    BINDINGS = [Binding("escape", "close", "Close", id="text.close")]
    DEFAULT_CSS = """
    TextScreen { align: center middle; }
    #text-box { width: 100; height: 80%; border: thick $primary; background: $surface; padding: 0 1; overflow-y: auto; }
    """

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with Vertical(id="text-box"):
            yield Label(self.title_text)
            yield Static(self.text, markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
