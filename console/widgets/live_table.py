"""DataTable that reconciles rows by key (no flicker, the cursor stays on its row), keeps the
order it was given (newest first stays newest first) or the column sort the operator chose
(shown by an arrow in the header), filters as you type, and fits its columns to the terminal:
the least important go first at 80 columns, the wide ones grow at 200."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.widget import Widget
from textual.widgets import DataTable
from textual.widgets._data_table import ColumnKey, RowKey

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
    """Rows made ready off the loop: cells as Text, and which rows differ from what is shown."""

    rows: list[tuple[str, Cells]]
    changed: set[str] = field(default_factory=set)


def prepare(rows: Rows, shown: dict[str, Cells] | None = None) -> Prepared:
    """Plain strings become Text (a name is never read as markup; parsing 20,000 cells as markup
    costs 150 ms) and rows are compared with `shown`; blocking, so a worker thread does it."""
    out = [(k, tuple(Text(c) if isinstance(c, str) else c for c in cells)) for k, cells in rows]
    shown = shown or {}
    return Prepared(out, {k for k, cells in out if shown.get(k) != cells})


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


class LiveTable(DataTable[Any]):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g", "scroll_top", "Top", show=False, id="table.top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="table.bottom"),
        Binding("s", "sort", "Sort…", id="table.sort"),
        Binding("S", "sort_reverse", "Reverse sort", show=False, id="table.sort_reverse"),
    ]

    def __init__(self, columns: Sequence[Column], **kw: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.all_columns = list(columns)
        self.layout_columns: list[tuple[Column, int]] = []  # shown: (column, width)
        self._shown_index: list[int] = []  # where each shown column's cell is in a row
        self._rows: dict[str, Cells] = {}
        self._order: list[str] = []  # the keys in the order they were given
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
        """Rebuild the columns (a resize, not a reload: the rows come from what is shown)."""
        selected = self.selected_key
        self.layout_columns = layout
        position = {c.key: i for i, c in enumerate(self.all_columns)}
        self._shown_index = [position[c.key] for c, _ in layout]  # once per layout, not per row
        with self.app.batch_update():
            self.clear(columns=True)
            for c, w in layout:
                self.add_column(self._header(c), key=c.key, width=w)
            rows = list(self._rows.items())
            self._rows = {}
            if rows:
                self.reconcile(rows)
            if selected is not None and selected in self._rows:
                self.move_cursor(row=self.get_row_index(selected))

    def _header(self, c: Column) -> Text:
        if c.key != self.sort_column:
            return Text(c.label)
        return Text(c.label + (" ▼" if self.sort_reverse else " ▲"), style="bold")

    def _project(self, cells: Cells) -> Cells:
        return tuple(cells[i] if i < len(cells) else "" for i in self._shown_index)

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
        return sum(1 for k, cells in self._rows.items() if self._visible(k, cells))

    # -- rows ---------------------------------------------------------------------------------
    def reconcile(self, rows: Rows | Prepared) -> None:
        """Show exactly these rows (key, cells), updating only what changed, in the order given
        unless the operator sorted by a column."""
        ready = rows if isinstance(rows, Prepared) else prepare(rows, self._rows)
        self._rows = dict(ready.rows)
        self._order = [k for k, _ in ready.rows]
        wanted = [(k, cells) for k, cells in ready.rows if self._visible(k, cells)]
        keep = {k for k, _ in wanted}
        current = {rk.value for rk in self.rows if rk.value is not None}
        with self.app.batch_update():
            for k in current - keep:
                self.remove_row(k)
            col_keys = [c.key for c, _ in self.layout_columns]
            for k, cells in wanted:
                shown = self._project(cells)
                if k not in current:
                    self.add_row(*shown, key=k)
                elif k in ready.changed:
                    old = self.get_row(k)
                    for ck, new, was in zip(col_keys, shown, old, strict=False):
                        if new != was:
                            self.update_cell(k, ck, new)
            self._arrange()

    def _arrange(self) -> None:
        if self.sort_column and self.sort_column in {c.key for c, _ in self.layout_columns}:
            self.sort(self.sort_column, key=_sort_key, reverse=self.sort_reverse)
            return
        order = [k for k in self._order if RowKey(k) in self._row_locations]
        if [self._row_locations.get_key(i) for i in range(len(order))] != [RowKey(k) for k in order]:
            self._row_locations = TwoWayDict({RowKey(k): i for i, k in enumerate(order)})  # textual 8.2.8
            self._update_count += 1
            self.refresh()

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Every column here has a fixed width and every row one line: DataTable would measure
        each new cell (about 35 us each: 0.7 s on the loop for 2,000 rows) only to find the width
        already set, so only the scrollable size is worked out (textual 8.2.8, pinned)."""
        if any(c.auto_width for c in self.columns.values()) or self._labelled_row_exists:
            super()._update_dimensions(new_rows)
            return
        width = sum(c.get_render_width(self) for c in self.columns.values()) + self._row_label_column_width
        self.virtual_size = Size(width, self._total_row_height + (self.header_height if self.show_header else 0))

    def _visible(self, key: str, cells: Cells) -> bool:
        if not self.filter_text:
            return True
        needle = self.filter_text.lower()
        return any(needle in (c.plain if isinstance(c, Text) else str(c)).lower() for c in (key, *cells))

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self.reconcile(list(self._rows.items()))

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
        self._arrange()

    def action_sort_reverse(self) -> None:
        """S: the same sort, the other way round (no sort yet: the first column, descending)."""
        if not self.layout_columns:
            return
        if self.sort_column is None:
            self.sort_column, self.sort_reverse = self.layout_columns[0][0].key, True
        else:
            self.sort_reverse = not self.sort_reverse
        self._relabel()
        self._arrange()

    def _relabel(self) -> None:
        for c, _ in self.layout_columns:
            column = self.columns.get(ColumnKey(c.key))
            if column is not None:
                column.label = self._header(c)
        self._require_update_dimensions = True
        self.refresh()
