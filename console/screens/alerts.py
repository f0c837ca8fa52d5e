"""Alerts: what happened while you looked elsewhere, newest first, until acknowledged."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding

from console import format as fmt
from console.modals.help import TextScreen
from console.screens.base import ListScreen
from console.widgets.live_table import Cells, Column
from engine.hsm.alerts import Severity

_ROLE = {Severity.INFORMATION: "busy", Severity.WARNING: "warn", Severity.ERROR: "bad"}


class AlertsScreen(ListScreen):
    IS_MODE_ROOT = True
    TITLE_TEXT = "Alerts"
    CRUMB = "Alerts"
    EMPTY_TEXT = "No alerts. Copies that complete, dumps, closing FRR windows and parked copies appear here."
    HELP_TEXT = (
        "Everything the console told you in a toast, newest first: background copies and dumps that "
        "completed, fast reverse restore windows that closed, copies parked by an error, a REQUIRED dump "
        "that will stop the next FRBACKUP, and commands run by others. space acknowledges the alert under "
        "the cursor, A acknowledges all; enter shows the whole text. The header counts the unacknowledged."
    )
    COLUMNS = [
        Column("#", "number", 4),
        Column("Time", "time", 19),
        Column("Severity", "severity", 13),
        Column("What", "title", 22, drop=2),
        Column("Copy pool", "pool", 14, drop=1),
        Column("Ack", "ack", 5),
        Column("Alert", "text", 80, grow=True, min_width=20),
    ]
    BINDINGS = [
        Binding("space", "acknowledge", "Acknowledge", id="alerts.ack"),
        Binding("A", "acknowledge_all", "Ack all", id="alerts.ack_all"),
        Binding("enter", "open", "Details", id="alerts.open"),
    ]

    def load(self) -> list[tuple[str, Cells]]:
        rows: list[tuple[str, Cells]] = []
        for a in reversed(self.fpapp.alerts.items):
            severity = Text(f"{a.glyph} {a.severity.name}", style=fmt.style(_ROLE[a.severity], bold=True))
            ack = "✔ yes" if a.acknowledged else "· no"
            rows.append(
                (str(a.number), (f"{a.number:>3}", fmt.when(a.at), severity, a.title, a.copy_pool or "—", ack, a.text))
            )
        return rows

    def action_acknowledge(self) -> None:
        key = self.table.selected_key
        if key and self.fpapp.alerts.acknowledge(int(key)):
            self.fpapp.alerts_changed()

    def action_acknowledge_all(self) -> None:
        if self.fpapp.alerts.acknowledge():
            self.fpapp.alerts_changed()

    def action_open(self) -> None:
        key = self.table.selected_key
        found = next((a for a in self.fpapp.alerts.items if str(a.number) == key), None)
        if found:
            head = f"{fmt.when(found.at)}  {found.glyph} {found.severity.name}  {found.title}"
            self.app.push_screen(TextScreen(head, found.text))
