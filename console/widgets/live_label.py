"""A label that a reload rewrites, drawn again only when its text changes.

`Static.update` lays the whole screen out again, and so draws every widget on it, even when the
text is the same: the reload of a screen rewrote two or three labels, one full-screen frame a
second for each console, and a key pressed meanwhile waited for it (the relationships screen
with copies running: 40 % of the console's loop time in layouts)."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Label


def _plain(content: str | Text) -> str:
    return content.plain if isinstance(content, Text) else content


class LiveLabel(Label):
    _shown: str | Text | None = None

    def show(self, content: str | Text) -> None:
        """Show `content`: nothing happens when it is what is shown; a text as wide as the one
        shown on one line is repainted in place (it fits where that one did)."""
        if self._shown is not None and content == self._shown:
            return
        was, now = self._shown, _plain(content)
        in_place = (
            was is not None
            and self.content_size.height == 1
            and "\n" not in now
            and cell_len(now) == cell_len(_plain(was))
        )
        self._shown = content
        self.update(content, layout=not in_place)
