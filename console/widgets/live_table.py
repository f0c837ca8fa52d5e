"""DataTable that reconciles rows by key (no flicker, the cursor stays on its row), filters as
you type and sorts by any column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable


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


class LiveTable(DataTable):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g", "scroll_top", "Top", show=False, id="table.top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="table.bottom"),
        Binding("s", "sort", "Sort", id="table.sort"),
        Binding("S", "sort_reverse", "Sort ↓", show=False, id="table.sort_reverse"),
    ]

    def __init__(self, columns: Sequence[tuple[str, str, int | None]], **kw) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self._columns = columns
        self._rows: dict[str, tuple] = {}
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

    def reconcile(self, rows: Sequence[tuple[str, tuple]]) -> None:
        """Show exactly these rows (key, cells), updating only what changed. Plain strings become
        Text: a name is never read as markup (and parsing 20,000 cells as markup costs 150 ms)."""
        rows = [(k, tuple(Text(c) if isinstance(c, str) else c for c in cells)) for k, cells in rows]
        self._rows = dict(rows)
        wanted = [(k, cells) for k, cells in rows if self._visible(k, cells)]
        keep = {k for k, _ in wanted}
        current = {rk.value for rk in self.rows}
        with self.app.batch_update():
            for k in current - keep:
                self.remove_row(k)
            col_keys = [c[1] for c in self._columns]
            for k, cells in wanted:
                if k in current:
                    old = self.get_row(k)
                    for ck, new, was in zip(col_keys, cells, old):
                        if new != was:
                            self.update_cell(k, ck, new)
                else:
                    self.add_row(*cells, key=k)
            if self.sort_column:
                self.sort(self.sort_column, key=_sort_key, reverse=self.sort_reverse)

    def _visible(self, key: str, cells: tuple) -> bool:
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
