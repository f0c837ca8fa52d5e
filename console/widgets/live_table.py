"""DataTable that reconciles rows by key (no flicker, the cursor stays on its row), filters as
you type and sorts by any column."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets._data_table import RowKey

Cells = tuple[Any, ...]  # one row's cells: str, Text or numbers
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
        Binding("s", "sort", "Sort", id="table.sort"),
        Binding("S", "sort_reverse", "Sort ↓", show=False, id="table.sort_reverse"),
    ]

    def __init__(self, columns: Sequence[tuple[str, str, int | None]], **kw: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self._columns = columns
        self._rows: dict[str, Cells] = {}
        self.filter_text = ""
        self.sort_column: str | None = None
        self.sort_reverse = False

    def on_mount(self) -> None:
        for label, key, width in self._columns:
            self.add_column(label, key=key, width=width)

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

    def reconcile(self, rows: Rows | Prepared) -> None:
        """Show exactly these rows (key, cells), updating only what changed."""
        ready = rows if isinstance(rows, Prepared) else prepare(rows, self._rows)
        self._rows = dict(ready.rows)
        wanted = [(k, cells) for k, cells in ready.rows if self._visible(k, cells)]
        keep = {k for k, _ in wanted}
        current = {rk.value for rk in self.rows if rk.value is not None}
        with self.app.batch_update():
            for k in current - keep:
                self.remove_row(k)
            col_keys = [c[1] for c in self._columns]
            for k, cells in wanted:
                if k not in current:
                    self.add_row(*cells, key=k)
                elif k in ready.changed:
                    old = self.get_row(k)
                    for ck, new, was in zip(col_keys, cells, old, strict=False):
                        if new != was:
                            self.update_cell(k, ck, new)
            if self.sort_column:
                self.sort(self.sort_column, key=_sort_key, reverse=self.sort_reverse)

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

    def action_sort(self) -> None:
        if not self.columns:
            return
        key = self._next_sort_column()  # a row cursor: s steps through the columns
        self.sort_reverse = False if key != self.sort_column else not self.sort_reverse
        self.sort_column = key
        self.sort(key, key=_sort_key, reverse=self.sort_reverse)
        self.app.notify(f"sorted by {self._label(key)}{' (descending)' if self.sort_reverse else ''}", timeout=2)

    def action_sort_reverse(self) -> None:
        if self.sort_column is None:
            self.sort_column = self._columns[0][1]
        self.sort_reverse = not self.sort_reverse
        self.sort(self.sort_column, key=_sort_key, reverse=self.sort_reverse)

    def _next_sort_column(self) -> str:
        keys = [c[1] for c in self._columns]
        if self.sort_column not in keys:
            return keys[0]
        if not self.sort_reverse:
            return self.sort_column
        return keys[(keys.index(self.sort_column) + 1) % len(keys)]

    def _label(self, key: str) -> str:
        return next(c[0] for c in self._columns if c[1] == key)
