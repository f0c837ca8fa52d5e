"""Alerts: what happened while you looked elsewhere, newest first, until acknowledged."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.binding import Binding

from console import format as fmt
from console.alerts import glyph
from console.modals.help import TextScreen
from console.screens.base import ListScreen
from console.widgets.live_table import Cells, Column
from engine.hsm.alerts import AlertView, Severity

_ROLE = {Severity.INFORMATION: "busy", Severity.WARNING: "warn", Severity.ERROR: "bad"}


class AlertsScreen(ListScreen):
    IS_MODE_ROOT = True
    TITLE_TEXT = "Alerts"
    CRUMB = "Alerts"
    EMPTY_TEXT = "No alerts. Copies that complete, dumps, closing FRR windows and parked copies appear here."
    HELP_TEXT = (
        "Everything the console told you in a toast, newest first: background copies and dumps that "
        "completed, fast reverse restore windows that closed, copies parked by an error, a REQUIRED dump "
        "that will stop the next FRBACKUP. The list is the site's: every console shows the same alerts, and "
        "space (the alert under the cursor) or A (all) acknowledges them for every console, with your name. "
        "enter shows the whole text. The status line counts the unacknowledged."
    )
    COLUMNS = [
        Column("#", "number", 4),
        Column("Time", "time", 19),
        Column("Severity", "severity", 13),
        Column("Id", "id", 8, drop=3),
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
        """The site's list, read afresh (the console's copy and its count follow it)."""
        views = self.fpapp.site.alerts()
        self.app.call_from_thread(self._synced, views)
        rows: list[tuple[str, Cells]] = []
        for a in views:
            severity = Text(f"{glyph(a.severity)} {a.severity.name}", style=fmt.style(_ROLE[a.severity], bold=True))
            ack = "✔ yes" if a.acknowledged else "· no"  # who: in its details (enter)
            rows.append(
                (
                    str(a.number),
                    (
                        f"{a.number:>3}",
                        fmt.when(a.at),
                        severity,
                        a.kind.message_id,
                        a.kind.title,
                        a.copy_pool or "—",
                        ack,
                        a.text,
                    ),
                )
            )
        return rows

    def _synced(self, views: list[AlertView]) -> None:
        self.fpapp.alerts.load(views)
        self.fpapp.update_status()

    def action_acknowledge(self) -> None:
        key = self.table.selected_key
        if key and key.isdigit() and int(key):
            self.acknowledge([int(key)])

    def action_acknowledge_all(self) -> None:
        self.acknowledge(None)

    @work(exclusive=True, group="acknowledge", exit_on_error=False)
    async def acknowledge(self, numbers: list[int] | None) -> None:
        """Acknowledged in the site, for every console; the site's events bring it back here."""
        try:
            await self.fpapp.site.acknowledge_alerts(numbers)
        except Exception as exc:  # noqa: BLE001 - said, with its message id
            self.app.notify(f"FPL631E THE ALERT COULD NOT BE ACKNOWLEDGED - {exc}", severity="error", timeout=8)

    def action_open(self) -> None:
        key = self.table.selected_key
        found = next((a for a in self.fpapp.alerts.items if str(a.number) == key), None)
        if found:
            head = f"{fmt.when(found.at)}  {found.glyph} {found.severity.name}  {found.message_id}  {found.title}"
            if found.acknowledged_by is not None:
                head += f"  (acknowledged by {found.acknowledged_by})"
            self.app.push_screen(TextScreen(head, found.text))
