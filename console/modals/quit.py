"""Quit while something is in progress: say what stops, what continues and what is lost, then
let the operator choose. Nothing in progress: the console quits without asking."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class QuitScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("escape,n", "stay", "Stay", id="quit.stay"),
        Binding("q,y", "quit_now", "Quit", id="quit.quit"),
    ]
    DEFAULT_CSS = """
    QuitScreen { align: center middle; }
    #quit { width: 76; max-width: 100%; height: auto; border: thick $warning; background: $surface; padding: 1 2; }
    #quit-title { text-style: bold; }
    #quit-lines { margin: 1 0; }
    #quit-buttons { height: 3; align-horizontal: right; }
    #quit-buttons Button { margin-left: 2; }
    """

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def compose(self) -> ComposeResult:
        with Vertical(id="quit"):
            yield Label("Quit while work is in progress?", id="quit-title")
            yield Static("\n".join(f"• {line}" for line in self.lines), id="quit-lines")
            yield Label("q or y quits, escape or n stays")
            with Horizontal(id="quit-buttons"):
                yield Button("Stay", id="stay", variant="primary")
                yield Button("Quit", id="quit-now", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    @on(Button.Pressed, "#stay")
    def action_stay(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#quit-now")
    def action_quit_now(self) -> None:
        self.dismiss(True)
