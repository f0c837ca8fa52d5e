"""Confirmation of a destructive action: the impact, then the copy pool name typed to go on.
Focus starts on Cancel; escape cancels; nothing is changed unless the name matches."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from engine.hsm.impact import Impact


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="confirm.cancel")]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    #confirm { width: 84; height: auto; border: thick $error; background: $surface; padding: 1 2; }
    #confirm-title { text-style: bold; color: $error; }
    #confirm-impact { margin: 1 0; }
    #confirm-buttons { height: 3; align-horizontal: right; }
    #confirm-buttons Button { margin-left: 2; }
    """

    def __init__(self, impact: Impact, title: str | None = None) -> None:
        super().__init__()
        self.impact = impact
        self.title_text = title or f"Run {impact.command.split()[0]}?"
        self.expected = (impact.copy_pool or "YES").upper()

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Label(self.title_text, id="confirm-title")
            yield Static(self.impact.command, id="confirm-command")
            yield Static("\n".join(f"• {line}" for line in self.impact.lines), id="confirm-impact")
            yield Label(f"Type {self.expected} to confirm:")
            yield Input(placeholder=self.expected, id="confirm-name")
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button("Run", id="run", variant="error", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()
        self.query_one("#confirm-name", Input).cursor_blink = False

    @on(Input.Changed, "#confirm-name")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#run", Button).disabled = event.value.strip().upper() != self.expected

    @on(Input.Submitted, "#confirm-name")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip().upper() == self.expected:
            self.dismiss(True)

    @on(Button.Pressed, "#run")
    def _run(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
