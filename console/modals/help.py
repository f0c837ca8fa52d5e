"""? help: every key of the screen underneath and what it does, searchable with /."""

from __future__ import annotations

from typing import Any

from textual import events, on
from textual.actions import parse
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Input, Label, Static

from console import textual_internals as internals


def bindings_of(app: App[Any], screen: Screen[Any]) -> list[tuple[str, str, str]]:
    """(key, description, id) of every binding active on the screen: the screen's own first, then
    the console's, then the focused widget's (cursor keys and the like)."""
    seen: set[str] = set()
    found: list[tuple[float, tuple[str, str, str]]] = []  # (rank, row): screen 0, app 1, widgets 2, generic 3
    node: DOMNode | None = screen.focused
    nodes: list[tuple[DOMNode, int]] = []
    while node is not None and node is not screen:
        nodes.append((node, 2))
        node = node.parent
    nodes += [(screen, 0), (app, 1)]  # the nearest binding of an action wins, as when a key is pressed
    for n, rank in nodes:
        for b in internals.bindings(n).values():
            for binding in b:
                _, name, params = parse(binding.action)
                if n.check_action(name, params) is False:
                    continue  # not offered here (7 on a site without a plex): not in the footer either
                if binding.description and (binding.id or binding.action) not in seen:
                    seen.add(binding.id or binding.action)
                    row = (app.get_key_display(binding), binding.description, binding.id or "")
                    bid = binding.id or ""
                    shared = bid.startswith("screen.")  # what every list screen has, after its own
                    found.append((rank + (0.5 if shared else 0) if bid else 3, row))
    return [row for _, row in sorted(found, key=lambda f: f[0])]


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
            yield Input(placeholder="type to filter the keys (↓ to the list)", id="help-search")
            yield DataTable(id="help-table", cursor_type="row")

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        t.add_columns("Key", "Action", "Binding id (keymap.toml)")
        self._fill("")
        self.query_one("#help-search", Input).focus()  # typing filters at once; ↓ goes to the keys

    def _fill(self, needle: str) -> None:
        t = self.query_one(DataTable)
        t.clear()
        for key, desc, bid in self.keys:
            if needle.lower() in f"{key} {desc} {bid}".lower():
                t.add_row(key, desc, bid)

    @on(Input.Changed, "#help-search")
    def _search(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#help-search")
    def _to_keys(self) -> None:
        self.query_one(DataTable).focus()

    def on_key(self, event: events.Key) -> None:
        if event.key == "down" and isinstance(self.focused, Input):
            self.query_one(DataTable).focus()
            event.stop()

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
