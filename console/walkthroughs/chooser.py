"""Which walkthrough? A short list; a digit picks one directly."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from console.walkthroughs import ALL


class Chooser(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="chooser.cancel"),
        *(Binding(str(n), f"pick({n})", f"Walkthrough {n}", show=False, id=f"chooser.{n}") for n in range(1, 10)),
    ]
    DEFAULT_CSS = """
    Chooser { align: center middle; }
    #chooser { width: 90; height: auto; border: thick $primary; background: $surface; padding: 0 1; }
    #chooser OptionList { height: auto; max-height: 14; }
    """

    def __init__(self, suggested: str = "", why: str = "") -> None:
        super().__init__()
        self.suggested = suggested  # the walkthrough that fits what the cursor was on
        self.why = why

    def compose(self) -> ComposeResult:
        with Vertical(id="chooser"):
            yield Label("Walkthroughs: a digit or enter starts one, escape closes")
            yield OptionList(
                *[
                    Option(f"{w.id[1:]}  {w.title}" + (f"  ← {self.why}" if w.id == self.suggested else ""), id=w.id)
                    for w in ALL
                ],
                id="chooser-list",
            )

    def on_mount(self) -> None:
        box = self.query_one(OptionList)
        ids = [w.id for w in ALL]
        if self.suggested in ids:
            box.highlighted = ids.index(self.suggested)
        box.focus()

    def action_pick(self, n: int) -> None:
        self.dismiss(ALL[n - 1].id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
