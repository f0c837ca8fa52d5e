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

    def __init__(self, *, rows: int = 8, **kw: Any) -> None:
        super().__init__(**kw)
        self.rows_ = rows

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self.rows_

    def on_mount(self) -> None:
        self.border_subtitle = "· in sync   ░▒▓█ share still to copy: onto this volume (uncopied) / off it (changed)"

    def render_line(self, y: int) -> Strip:
        """The bands spread over the widget's width (each cell shows the most it covers)."""
        width = self.size.width
        if y >= self.rows_ or not self.bands or width <= 0:
            return Strip.blank(width, Style())  # a None style breaks the NO_COLOR filter
        vars_ = self.app.theme_variables
        colour_in = vars_.get("track-uncopied", "red")
        colour_out = vars_.get("track-changed", "yellow")
        colour_ok = vars_.get("track-copied", "green")
        n, cells = len(self.bands), width * self.rows_
        segs = []
        for x in range(width):
            c = y * width + x
            lo = c * n // cells
            covered = self.bands[lo : max(lo + 1, (c + 1) * n // cells)]
            inn = max(b[0] for b in covered)
            out = max(b[1] for b in covered)
            share = max(inn, out)
            if share <= 0:
                segs.append(Segment("·", Style(color=colour_ok)))
            else:
                glyph = SHADES[min(4, 1 + int(share * 3.999))]
                segs.append(Segment(glyph, Style(color=colour_in if inn >= out else colour_out)))
        return Strip(segs)
