"""s on a list: which column to sort by. The column sorted now is marked with its direction;
choosing it again reverses it; the first entry restores the screen's own order."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


class SortChooser(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="sort.cancel")]
    DEFAULT_CSS = """
    SortChooser { align: center middle; }
    #sort { width: 44; max-width: 100%; height: auto; max-height: 80%; border: thick $primary; background: $surface; padding: 0 1; }
    #sort-options { height: auto; max-height: 20; }
    """

    def __init__(self, columns: list[tuple[str, str]], current: str | None, reverse: bool) -> None:
        super().__init__()
        self.columns = columns
        self.current = current
        self.reverse = reverse

    def compose(self) -> ComposeResult:
        options = [Option("as loaded (the screen's own order)" + ("  ●" if self.current is None else ""), id="")]
        for key, label in self.columns:
            mark = ("  ▼ (enter: ▲)" if self.reverse else "  ▲ (enter: ▼)") if key == self.current else ""
            options.append(Option(label + mark, id=key))
        with Vertical(id="sort"):
            yield Label("Sort by")
            yield OptionList(*options, id="sort-options")

    def on_mount(self) -> None:
        box = self.query_one(OptionList)
        keys = ["", *(k for k, _ in self.columns)]
        box.highlighted = keys.index(self.current) if self.current in keys else 0
        box.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id or "")
