"""A live picture of a volume's tracks: one cell per band of tracks, coloured by what is still to
copy onto the volume (it is a target) or off it (it is a source). Cells carry glyphs as well as
colours, so the picture reads under NO_COLOR too:  · copied/in sync   ░▒▓█ share still to copy."""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

SHADES = " ░▒▓█"


class TrackMap(Widget):
    DEFAULT_CSS = """
    TrackMap { height: auto; min-height: 4; border: round $primary; padding: 0 1; }
    """
    COMPONENT_CLASSES = {"trackmap--in", "trackmap--out", "trackmap--sync"}
    bands: reactive[list[tuple[float, float]]] = reactive(list, layout=True)

    def __init__(self, *, columns: int = 100, rows: int = 8, **kw: Any) -> None:
        super().__init__(**kw)
        self.columns, self.rows_ = columns, rows

    @property
    def cells(self) -> int:
        return self.columns * self.rows_

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self.rows_

    def render_line(self, y: int) -> Strip:
        if y >= self.rows_ or not self.bands:
            return Strip.blank(self.size.width, Style())  # a None style breaks the NO_COLOR filter
        vars_ = self.app.theme_variables
        colour_in = vars_.get("track-uncopied", "red")
        colour_out = vars_.get("track-changed", "yellow")
        colour_ok = vars_.get("track-copied", "green")
        segs = []
        for x in range(min(self.columns, self.size.width)):
            i = y * self.columns + x
            if i >= len(self.bands):
                segs.append(Segment(" ", Style()))  # a None style breaks the NO_COLOR filter
                continue
            inn, out = self.bands[i]
            share = max(inn, out)
            if share <= 0:
                segs.append(Segment("·", Style(color=colour_ok)))
            else:
                glyph = SHADES[min(4, 1 + int(share * 3.999))]
                segs.append(Segment(glyph, Style(color=colour_in if inn >= out else colour_out)))
        return Strip(segs)
