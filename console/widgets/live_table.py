"""DataTable that reconciles rows by key (no flicker, the cursor stays on its row), keeps the
order it was given (newest first stays newest first) or the column sort the operator chose
(shown by an arrow in the header), filters as you type, and fits its columns to the terminal:
the least important go first at 80 columns, the wide ones grow at 200.

A table holds every row, but the DataTable under it only a window of them (WINDOW rows around
the cursor): filtering and sorting 20,000 rows is list work, while adding 20,000 rows to a
DataTable costs about a second on the event loop. Moving the cursor past either end of the
window slides it; `window_text` says which rows are shown when not all are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from console import textual_internals as internals

Cells = tuple[Any, ...]  # one row's cells: str, Text or numbers
PADDING = 2  # a cell's padding, one column each side


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    key: str
    width: int
    drop: int = 0  # 0: always shown; otherwise dropped on a narrow terminal, highest first
    grow: bool = False  # takes the width left over (messages, descriptions)
    min_width: int = 12  # a growing column shrinks to this before anything is dropped


Rows = Sequence[tuple[str, Cells]]


@dataclass(frozen=True, slots=True)
class Prepared:
    """Rows made ready off the loop, and which of them differ from what is shown."""

    rows: list[tuple[str, Cells]]
    changed: set[str] = field(default_factory=set)


def prepare(rows: Rows, shown: dict[str, Cells] | None = None) -> Prepared:
    """Rows compared with `shown`; blocking on 20,000 rows, so a worker thread does it."""
    out = list(rows)
    shown = shown or {}
    return Prepared(out, {k for k, cells in out if _differs(shown.get(k), cells)})


def _differs(old: Cells | None, new: Cells) -> bool:
    return old is None or len(old) != len(new) or any(_cell_differs(a, b) for a, b in zip(old, new, strict=True))


def _cell_differs(old: Any, new: Any) -> bool:
    """Rich's Text equality ignores a cell's own style: a cell drawn in another theme's colours
    (the RC column after a theme change) must count as changed too."""
    return bool(old != new or (isinstance(old, Text) and isinstance(new, Text) and old.style != new.style))


def _as_text(cell: Any) -> Any:
    """A plain string becomes Text: a name is never read as markup (and parsing markup costs)."""
    return Text(cell) if isinstance(cell, str) else cell


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, Text):
        value = value.plain
    if isinstance(value, (int, float)):
        return (0, value)
    text = str(value).strip().rstrip("%")
    try:
        return (0, float(text.replace(",", "")))
    except ValueError:
        return (1, text.lower())


class LiveTable(internals.FixedWidthRows, DataTable[Any]):
    #: the most rows the DataTable holds at once (the rest are slid in as the cursor moves)
    WINDOW: ClassVar[int] = 1000

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g", "scroll_top", "Top", show=False, id="table.top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="table.bottom"),
        Binding("s", "sort", "Sort…", id="table.sort"),
        Binding("S", "sort_reverse", "Reverse sort", show=False, id="table.sort_reverse"),
    ]

    class WindowMoved(Message):
        """The rows shown are a different slice of the matching ones (see `window_text`)."""

        def __init__(self, table: LiveTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> LiveTable:
            return self.table

    def __init__(self, columns: Sequence[Column], **kw: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.all_columns = list(columns)
        self.layout_columns: list[tuple[Column, int]] = []  # shown: (column, width)
        self._shown_index: list[int] = []  # where each shown column's cell is in a row
        self._rows: dict[str, Cells] = {}
        self._order: list[str] = []  # the keys in the order they were given
        self._view: list[str] = []  # the keys that pass the filter, in the order shown
        self._start = 0  # where the window begins in _view
        self._announced = ""  # the window_text last told (WindowMoved)
        self._held: str | None = None  # the row the cursor was last on, while no row is shown
        self._hay: dict[str, str] = {}  # key -> the row's text in lower case, for the filter
        self.filter_text = ""
        self.sort_column: str | None = None
        self.sort_reverse = False

    def on_mount(self) -> None:
        self._apply_layout(self.fit(self.size.width or 80))

    _painted_with: tuple[object, ...] | None = None

    def notify_style_update(self) -> None:
        """Rendered cells are kept while the styles they were drawn with are the same: Textual
        restyles a screen each time it is shown, and DataTable then renders every visible cell
        again (half of a warm screen switch on the demo site) though nothing looks different."""
        if not self.is_mounted:  # styled while being registered: its component styles are not there yet
            super().notify_style_update()
            return
        Widget.notify_style_update(self)  # the widget's own style caches first: what follows reads today's
        painted = (
            self.app.theme,
            self.rich_style,
            *(self.get_component_rich_style(name, partial=True) for name in sorted(self.COMPONENT_CLASSES)),
        )
        if painted == self._painted_with:
            return
        self._painted_with = painted
        super().notify_style_update()

    def prerender(self) -> None:
        """Render the rows in view now, for a screen not shown yet: its first frame is then drawn
        from the row caches (half of a first visit to a warmed screen was rendering 330 cells)."""
        if self.size.area:
            self.render_lines(Region(0, 0, self.size.width, self.size.height))

    def on_resize(self) -> None:
        wanted = self.fit(self.size.width)
        if wanted != self.layout_columns:
            self._apply_layout(wanted)

    # -- columns ------------------------------------------------------------------------------
    def fit(self, width: int) -> list[tuple[Column, int]]:
        """The columns a table `width` cells wide shows, and their widths."""
        shown = list(self.all_columns)

        def need(cols: list[Column], grow_at_min: bool) -> int:
            return sum((c.min_width if c.grow and grow_at_min else c.width) + PADDING for c in cols)

        while need(shown, grow_at_min=True) > width and any(c.drop for c in shown):
            shown.remove(max((c for c in shown if c.drop), key=lambda c: c.drop))
        fixed = sum(c.width + PADDING for c in shown if not c.grow)
        growing = [c for c in shown if c.grow]
        spare = width - fixed - PADDING * len(growing)
        out: list[tuple[Column, int]] = []
        for c in shown:
            if c.grow:
                share = spare // len(growing) if growing else 0
                out.append((c, max(c.min_width, share)))
            else:
                out.append((c, c.width))
        return out

    def _apply_layout(self, layout: list[tuple[Column, int]]) -> None:
        """Rebuild the columns (a resize, not a reload: the rows come from what is kept)."""
        self.layout_columns = layout
        position = {c.key: i for i, c in enumerate(self.all_columns)}
        self._shown_index = [position[c.key] for c, _ in layout]  # once per layout, not per row
        selected = self._to_keep()
        with self.app.batch_update():
            self.clear(columns=True)
            for c, w in layout:
                self.add_column(self._header(c), key=c.key, width=w)
            self._refresh_view(set(self._rows), keep=selected)

    def _header(self, c: Column) -> Text:
        if c.key != self.sort_column:
            return Text(c.label)
        return Text(c.label + (" ▼" if self.sort_reverse else " ▲"), style="bold")

    @property
    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - an empty or changing table has no selection
            return None

    @property
    def shown(self) -> dict[str, Cells]:
        """The rows last given (before filtering), for `prepare` to compare with."""
        return self._rows

    @property
    def matching(self) -> int:
        """How many of the rows pass the filter (all of them without one)."""
        return len(self._view)

    @property
    def window_text(self) -> str:
        """`rows 1,001–2,000 of 20,012` when the window holds only some of the matching rows."""
        if len(self._view) <= self.WINDOW:
            return ""
        end = min(self._start + self.WINDOW, len(self._view))
        return f"rows {self._start + 1:,}–{end:,} of {len(self._view):,}"

    # -- rows ---------------------------------------------------------------------------------
    def reconcile(self, rows: Rows | Prepared) -> None:
        """Show exactly these rows (key, cells), updating only what changed, in the order given
        unless the operator sorted by a column; the cursor stays on its row."""
        ready = rows if isinstance(rows, Prepared) else prepare(rows, self._rows)
        self._rows = dict(ready.rows)
        self._order = [k for k, _ in ready.rows]
        if self._hay:
            self._hay = {k: h for k, h in self._hay.items() if k in self._rows and k not in ready.changed}
        self._refresh_view(ready.changed, keep=self._to_keep())

    def _refresh_view(self, changed: set[str], keep: str | None) -> None:
        """Filter and order every row, then show the window that holds `keep` (the selection)."""
        view = self._matching()
        shown = [c.key for c, _ in self.layout_columns]
        if self.sort_column in shown:
            at = self._shown_index[shown.index(self.sort_column)]
            view.sort(key=lambda k: _sort_key(self._cell(k, at)), reverse=self.sort_reverse)
        self._view = view
        index = self._index_of(keep)
        start = self._start
        if index is None:
            start = 0
        elif not start <= index < start + self.WINDOW:
            start = index - self.WINDOW // 2
        self._show_window(start, changed)
        if index is not None:
            self._cursor_to(index - self._start)

    def _index_of(self, key: str | None) -> int | None:
        if key is None:
            return None
        try:
            return self._view.index(key)
        except ValueError:
            return None

    def _cell(self, key: str, at: int) -> Any:
        cells = self._rows[key]
        return cells[at] if at < len(cells) else ""

    def _show_window(self, start: int, changed: set[str]) -> None:
        """Make the DataTable hold exactly _view[start:start + WINDOW], in that order."""
        self._start = max(0, min(start, len(self._view) - self.WINDOW))
        wanted = self._view[self._start : self._start + self.WINDOW]
        keep = set(wanted)
        current = {rk.value for rk in self.rows if rk.value is not None}
        with self.app.batch_update():
            self._remove_rows(current - keep)
            col_keys = [c.key for c, _ in self.layout_columns]
            edits: list[tuple[str, str, Any]] = []
            for k in wanted:
                if k not in current:
                    self.add_row(*self._project(self._rows[k]), key=k)
                elif k in changed:
                    for ck, new, was in zip(col_keys, self._project(self._rows[k]), self.get_row(k), strict=False):
                        if _cell_differs(was, new):
                            edits.append((k, ck, new))
            self._write_cells(edits)
            self._arrange(wanted)
        if self.window_text != self._announced:
            self._announced = self.window_text
            self.post_message(self.WindowMoved(self))

    def _write_cells(self, edits: list[tuple[str, str, Any]]) -> None:
        """New values for cells, and only those cells drawn again: DataTable.update_cell has every
        visible cell drawn again (see textual_internals.write_cells). Every row is one line (see
        textual_internals.FixedWidthRows): the changed rows' lines, and only those, are drawn
        again; the rest of the table (blank lines too) is kept as it is."""
        if not edits:
            return
        cells = {(RowKey(k), ColumnKey(ck)): value for k, ck, value in edits}
        internals.write_cells(self, ((row, column, value) for (row, column), value in cells.items()))
        top = self.header_height if self.show_header else 0
        lines = {top + self.get_row_index(row) for row in {row for row, _ in cells}}
        internals.clear_render_caches(self, cells.keys(), lines)
        width = max(self.size.width, self.virtual_size.width)
        for y in lines:
            if self.window_region.overlaps(Region(0, y, width, 1)):  # lines out of view are drawn when scrolled to
                self.refresh_line(y)

    _frame_style: Style | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        """DataTable works out its base style (a walk up every ancestor's styles) again for each
        line it draws; here once a frame, as nothing restyles the table while it is drawn."""
        self._frame_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._frame_style = None

    @property
    def rich_style(self) -> Style:
        return self._frame_style or super().rich_style

    def _remove_rows(self, keys: set[str]) -> None:
        """All these rows go, then one renumbering (see textual_internals.remove_rows)."""
        internals.remove_rows(self, {RowKey(k) for k in keys})

    def _project(self, cells: Cells) -> Cells:
        return tuple(_as_text(cells[i]) if i < len(cells) else "" for i in self._shown_index)

    def _arrange(self, order: list[str]) -> None:
        internals.set_row_order(self, [RowKey(k) for k in order])

    def _cursor_to(self, row: int) -> None:
        if row != self.cursor_row and 0 <= row < self.row_count:
            self.move_cursor(row=row)

    def _matching(self) -> list[str]:
        """The keys, in the order given, of the rows the filter lets through: a row matches when
        its key or one of its cells holds the filter text, in any case."""
        if not self.filter_text:
            return list(self._order)
        needle = self.filter_text.lower()
        hay = self._hay
        for k in self._order:
            if k not in hay:  # each row's text is lowered once, not on every keystroke
                hay[k] = "\0".join((c.plain if isinstance(c, Text) else str(c)).lower() for c in (k, *self._rows[k]))
        return [k for k in self._order if needle in hay[k]]

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._refresh_view(set(), keep=self._to_keep())

    def _to_keep(self) -> str | None:
        """The row to keep the cursor on: the selected one, or, while a filter hides every row,
        the one selected before, so that clearing the filter brings the cursor back to it."""
        key = self.selected_key
        if key is None:
            return self._held
        self._held = key
        return key

    # -- moving past the window's ends -----------------------------------------------------------
    def _slide_to(self, index: int) -> None:
        """Put row `index` of the matching rows under the cursor, sliding the window to it."""
        index = max(0, min(index, len(self._view) - 1))
        if not self._start <= index < self._start + self.WINDOW:
            self._show_window(index - self.WINDOW // 2, set())
        self._cursor_to(index - self._start)

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - (self.header_height if self.show_header else 0))

    def action_cursor_down(self) -> None:
        if self.cursor_row == self.row_count - 1 and self._start + self.row_count < len(self._view):
            self._slide_to(self._start + self.cursor_row + 1)
        else:
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.cursor_row == 0 and self._start > 0:
            self._slide_to(self._start - 1)
        else:
            super().action_cursor_up()

    def action_page_down(self) -> None:
        target = self.cursor_row + self._page()
        if target >= self.row_count and self._start + self.row_count < len(self._view):
            self._slide_to(self._start + target)
        else:
            super().action_page_down()

    def action_page_up(self) -> None:
        target = self.cursor_row - self._page()
        if target < 0 and self._start > 0:
            self._slide_to(self._start + target)
        else:
            super().action_page_up()

    def action_scroll_top(self) -> None:
        self._slide_to(0)
        super().action_scroll_top()

    def action_scroll_bottom(self) -> None:
        self._slide_to(len(self._view) - 1)
        super().action_scroll_bottom()

    # -- sorting ------------------------------------------------------------------------------
    def action_sort(self) -> None:
        """s: choose the column to sort by (the one sorted now is marked; choosing it again
        reverses it; "as loaded" goes back to the screen's own order)."""
        from console.modals.sort import SortChooser

        if not self.layout_columns:
            return
        choices = [(c.key, c.label) for c, _ in self.layout_columns]
        self.app.push_screen(SortChooser(choices, self.sort_column, self.sort_reverse), self.sort_by)

    def sort_by(self, key: str | None) -> None:
        """Sort by column `key` (again: reversed); "" restores the order rows were given in."""
        if key is None:
            return
        if key == "":
            self.sort_column, self.sort_reverse = None, False
        else:
            self.sort_reverse = not self.sort_reverse if key == self.sort_column else False
            self.sort_column = key
        self._relabel()
        self._refresh_view(set(), keep=None)  # a new order is read from its top
        self._cursor_to(0)

    def action_sort_reverse(self) -> None:
        """S: the same sort, the other way round (no sort yet: the first column, descending)."""
        if not self.layout_columns:
            return
        if self.sort_column is None:
            self.sort_column, self.sort_reverse = self.layout_columns[0][0].key, True
        else:
            self.sort_reverse = not self.sort_reverse
        self._relabel()
        self._refresh_view(set(), keep=None)  # a new order is read from its top
        self._cursor_to(0)

    def _relabel(self) -> None:
        for c, _ in self.layout_columns:
            column = self.columns.get(ColumnKey(c.key))
            if column is not None:
                column.label = self._header(c)
        internals.remeasure(self)
        self.refresh()
