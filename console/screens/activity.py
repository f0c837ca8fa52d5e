"""The activity log: every command with its ARC messages and return code, newest first."""

from __future__ import annotations

from textual.binding import Binding

from console import format as fmt
from console.modals.help import TextScreen
from console.screens.base import ListScreen
from console.widgets.live_table import Cells, Column


class ActivityScreen(ListScreen):
    IS_MODE_ROOT = True
    TITLE_TEXT = "Activity log"
    CRUMB = "Activity"
    EMPTY_TEXT = "No command has run yet. Press : to enter one."
    HELP_TEXT = (
        "Every HSM command - from the command line, the CLI, a walkthrough or the demo - with its "
        "return code and messages, newest first. / filters (try ARC1806E or a copy pool name); "
        "enter shows every message of the entry."
    )
    COLUMNS = [
        Column("Time", "time", 19),
        Column("From", "origin", 8, drop=1),
        Column("Command", "command", 36, grow=True, min_width=24),
        Column("RC", "rc", 3),
        Column("Messages", "first", 60, grow=True, min_width=12),
    ]
    BINDINGS = [Binding("enter", "open", "Messages", id="activity.open")]

    def load(self) -> list[tuple[str, Cells]]:
        entries = self.fpapp.site.activity()
        self._entries = {str(e.id): e for e in entries}
        rows = []
        for e in entries:
            first = next((f"{i} {t}" for i, t in e.messages if i.endswith("E")), None) or (
                f"{e.messages[-1][0]} {e.messages[-1][1]}" if e.messages else ""
            )
            text = " ".join(e.command.split())
            rows.append((str(e.id), (fmt.when(e.at), e.origin, text, fmt.rc(e.return_code), first)))
        return rows

    def action_open(self) -> None:
        e = self._entries.get(self.table.selected_key or "")
        if e:
            body = "\n".join(f"{i} {t}" for i, t in e.messages) or "(no messages)"
            by = f"  by {e.user}" if e.user else ""
            self.app.push_screen(TextScreen(f"{fmt.when(e.at)}  {e.command}  RC={e.return_code}{by}", body))
