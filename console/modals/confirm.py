"""Confirmation of a destructive action: the impact, what will be lost, then the name of what is
overwritten typed to go on (the volser when one volume is, else the copy pool). The typing goes to
the name at once; a name that does not match says so; escape cancels; nothing is changed unless
the name matches."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from engine.hsm.impact import Impact


def lost_lines(impact: Impact) -> list[str]:
    """What the command takes away for good, repeated just above the name to type."""
    out = []
    if impact.volumes_overwritten:
        out.append(f"✘ overwritten: {' '.join(impact.volumes_overwritten)} (their current data is lost)")
    if impact.versions_invalidated:
        out.append("✘ versions lost: " + " ".join(f"{n:03d}" for n in impact.versions_invalidated))
    if impact.tapes_deleted:
        out.append(f"✘ tapes scratched: {' '.join(impact.tapes_deleted)}")
    return out


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="confirm.cancel")]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    #confirm { width: 84; max-width: 100%; height: auto; border: thick $error; background: $surface; padding: 1 2; }
    #confirm-title { text-style: bold; color: $error; }
    #confirm-impact { margin: 1 0 0 0; }
    #confirm-lost { margin: 1 0; color: $text-error; text-style: bold; }
    #confirm-match { height: 1; }
    #confirm-buttons { height: 3; align-horizontal: right; }
    #confirm-buttons Button { margin-left: 2; }
    """

    def __init__(self, impact: Impact, title: str | None = None) -> None:
        super().__init__()
        self.impact = impact
        self.title_text = title or f"Run {impact.command.split()[0]}?"
        one = impact.volumes_overwritten if len(impact.volumes_overwritten) == 1 else []
        self.expected = (one[0] if one else impact.copy_pool or "YES").upper()

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Label(self.title_text, id="confirm-title")
            yield Static(self.impact.command, id="confirm-command")
            yield Static("\n".join(f"• {line}" for line in self.impact.lines), id="confirm-impact")
            yield Static("\n".join(lost_lines(self.impact)), id="confirm-lost")
            yield Label(f"Type {self.expected} to confirm:")
            yield Input(id="confirm-name")  # empty: a placeholder of the name looked typed already
            yield Label("", id="confirm-match")
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button("Run", id="run", variant="error", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#confirm-lost", Static).display = bool(lost_lines(self.impact))
        self.query_one("#confirm-name", Input).focus()

    @on(Input.Changed, "#confirm-name")
    def _typed(self, event: Input.Changed) -> None:
        typed = event.value.strip().upper()
        self.query_one("#run", Button).disabled = typed != self.expected
        self._say(typed, submitted=False)

    @on(Input.Submitted, "#confirm-name")
    def _submitted(self, event: Input.Submitted) -> None:
        typed = event.value.strip().upper()
        if typed == self.expected:
            self.dismiss(True)
        else:
            self._say(typed, submitted=True)

    def _say(self, typed: str, submitted: bool) -> None:
        """Whether the name matches, said in words (not only by a greyed-out button)."""
        match = self.query_one("#confirm-match", Label)
        if typed == self.expected:
            match.update(Text("✔ the name matches: enter runs the command", style="bold"))
        elif typed and (submitted or not self.expected.startswith(typed)):
            match.update(Text(f"✘ {typed} does not match {self.expected}: nothing will run", style="bold"))
        elif submitted:
            match.update(Text(f"✘ type {self.expected} to run it; escape cancels", style="bold"))
        else:
            match.update("")

    @on(Button.Pressed, "#run")
    def _run(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
