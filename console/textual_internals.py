"""The one module of the console that touches Textual's private names.

Textual has no public API for some of what the console does to be fast (screens composed in
the background, a table that redraws only the cells that changed, a footer that is not rebuilt
on every screen switch) and for some of what its tests look at. Each such use is a small
function here, with the reason it is needed; everything else in the console, and its tests,
goes through these functions and uses Textual's public API wherever one exists.

A Textual release that renames or reshapes any of these names fails
tests/console/test_textual_internals.py, which names the internal that moved; the same test
fails if a module other than this one uses them. That is what lets pyproject.toml accept a
range of Textual versions, while the lock files pin the one tested.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from textual._two_way_dict import TwoWayDict
from textual.app import App
from textual.binding import Binding
from textual.cache import LRUCache
from textual.dom import DOMNode
from textual.geometry import Size
from textual.message_pump import MessagePump
from textual.notifications import Notification
from textual.screen import Screen
from textual.widgets import DataTable, Footer
from textual.widgets._footer import FooterKey
from textual.widgets.data_table import CellKey, ColumnKey, RowKey

__all__ = [
    "FinishesBeforeClosing",
    "FixedWidthRows",
    "FooterKey",
    "bindings",
    "cell_render_cache",
    "clear_render_caches",
    "init_mode",
    "is_gone",
    "mark_bindings_ready",
    "mark_styled",
    "mount_screen",
    "mounted",
    "notifications",
    "remeasure",
    "remove_rows",
    "screen_lines",
    "screen_stacks",
    "set_row_order",
    "watchers",
    "write_cells",
]

# FooterKey: the widget Footer.compose yields for each key. KeysFooter restyles it as it is born
# (console/widgets/footer.py) and tests count the live ones; Textual does not export it.


# -- the app's screens (console/app.py, console/warming.py) ------------------------------------
def screen_stacks(app: App[Any]) -> Mapping[str, Sequence[Screen[Any]]]:
    """Every mode's screen stack, by mode; a mode not entered yet has none. App.screen_stack
    is the current mode's only: a walkthrough left open in another mode is on one of these, and a
    kept screen is let go only when it is on none of them."""
    return app._screen_stacks


def init_mode(app: App[Any], mode: str) -> Screen[Any]:
    """Compose a mode's screen without switching to it (the warmer makes every mode's screen
    ready while the console is idle, so that a first visit is a resume, not a compose). The
    screen is mounted a moment later (call_next); the mode's screen is returned."""
    app._init_mode(mode)
    return app._screen_stacks[mode][-1]


def mount_screen(app: App[Any], screen: Screen[Any]) -> None:
    """Compose and mount an installed screen that is on no stack (the warmer's drill-in screens):
    App.push_screen would also show it."""
    app._get_screen(screen)


async def mounted(screen: Screen[Any]) -> None:
    """Wait until a screen whose mount has begun (init_mode, mount_screen) has composed and
    mounted its widgets; at once if it has. AwaitMount, the public awaitable, also lays the
    screen out and moves the mouse over it, which a screen in the background has no need of."""
    await screen._mounted_event.wait()


def mark_styled(app: App[Any], screen: Screen[Any]) -> None:
    """Record that a screen has today's stylesheet. Textual records the stylesheet generation as
    it styles a screen only for the screens of the current mode, so a screen composed in the
    background would otherwise be restyled in full (120 ms here) on its first visit. A theme
    changed later still restyles it when it is shown."""
    screen._css_update_count = app._css_update_count


# -- closing (console/app.py) -------------------------------------------------------------------
if TYPE_CHECKING:
    _App = App[None]
else:
    _App = object


class FinishesBeforeClosing(_App):
    """A mixin for an App with work to finish before Textual takes its screens down. Every way
    out ends in App._shutdown (App.exit: q, ctrl+q; a test leaving run_test, which does not call
    App.exit), which has no public hook and removes every screen at once: a screen still composing
    then has the widgets it mounts refused, and its mount handlers (Textual's Header's too) find
    none (NoMatches); one composed meanwhile changes the stacks Textual is going through."""

    async def _shutdown(self) -> None:
        await self.before_closing()
        await super()._shutdown()

    async def before_closing(self) -> None:
        """Runs first, with every screen still up."""


# -- the live table (console/widgets/live_table.py) --------------------------------------------
def write_cells(table: DataTable[Any], values: Iterable[tuple[RowKey, ColumnKey, Any]]) -> None:
    """Give cells new values without redrawing the whole table. DataTable.update_cell counts
    each update as a change of the whole table (its update count is in the key of every render
    cache): 64 copies' progress moving had every visible cell drawn again, 100-300 ms on the loop.
    The changed cells' cached renders are dropped with clear_render_caches."""
    data = table._data
    for row, column, value in values:
        data[row][column] = value


def clear_render_caches(
    table: DataTable[Any], cells: Collection[tuple[RowKey, ColumnKey]], lines: Collection[int]
) -> None:
    """Drop the cached renders of these cells, of their rows, and of these lines (y within the
    table, the header included); every other cell, row and line keeps its render. The cache of
    rows' renderables is keyed by position, not by row, and goes whole (it is cheap to fill)."""
    rows = {row for row, _ in cells}
    cell_cache, row_cache, line_cache = table._cell_render_cache, table._row_render_cache, table._line_cache
    # LRUCaches have no __iter__: their keys are listed first, as discarding changes them
    for cell_key in [key for key in cell_cache.keys() if (key[0], key[1]) in cells]:  # noqa: SIM118
        cell_cache.discard(cell_key)
    for row_key in [key for key in row_cache.keys() if key[0] in rows]:  # noqa: SIM118
        row_cache.discard(row_key)
    table._row_renderable_cache.clear()
    for line_key in [key for key in line_cache.keys() if key[0] in lines]:  # noqa: SIM118
        line_cache.discard(line_key)


def remove_rows(table: DataTable[Any], keys: Collection[RowKey]) -> None:
    """Remove rows all at once. DataTable.remove_row renumbers every row for each row it removes
    (a filter that replaces a 1,000-row window: a second on the loop); here all go, then one
    renumbering, and the table is measured and drawn again as remove_row has it."""
    if not keys:
        return
    gone = set(keys)
    for row in gone:
        for column in table._data.pop(row, {}):
            table._updated_cells.discard(CellKey(row, column))
        del table.rows[row]
    at = table._row_locations
    kept = sorted((row for row in at if row not in gone), key=lambda row: at.get(row) or 0)
    table._row_locations = TwoWayDict({row: i for i, row in enumerate(kept)})
    table._require_update_dimensions = True
    table.cursor_coordinate = table.cursor_coordinate  # validated against the rows left
    table.hover_coordinate = table.hover_coordinate
    table._update_count += 1
    table.refresh(layout=True)


def set_row_order(table: DataTable[Any], order: Sequence[RowKey]) -> None:
    """Show the table's rows in this order (every row of the table, once). DataTable.sort orders
    by cell values; the live table's order is the one its rows were given in, or its own sort of
    every row, of which the table holds a window. Nothing is redrawn when the order is the same."""
    at = table._row_locations
    if [at.get_key(i) for i in range(len(order))] == list(order):
        return
    table._row_locations = TwoWayDict({row: i for i, row in enumerate(order)})
    table._update_count += 1
    table.refresh()


def remeasure(table: DataTable[Any]) -> None:
    """Have the table work out its columns' widths and its size again before it is next drawn
    (a column's label changed in place: the sort arrow)."""
    table._require_update_dimensions = True


if TYPE_CHECKING:
    _Table = DataTable[Any]
else:
    _Table = object


class FixedWidthRows(_Table):
    """A mixin for a DataTable whose columns all have a fixed width and whose rows are all one
    line: DataTable measures each new cell (about 35 us each: 0.7 s on the loop for 2,000 rows)
    only to find the width already set, so here only the scrollable size is worked out. A table
    with an auto-width column or a labelled row is measured as DataTable measures it.

    Not a DOMNode: the table's CSS type names, and so its styles, are DataTable's."""

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        if any(c.auto_width for c in self.columns.values()) or self._labelled_row_exists:
            super()._update_dimensions(new_rows)
            return
        width = sum(c.get_render_width(self) for c in self.columns.values()) + self._row_label_column_width
        self.virtual_size = Size(width, self._total_row_height + (self.header_height if self.show_header else 0))


# -- the footer (console/widgets/footer.py) -----------------------------------------------------
def mark_bindings_ready(footer: Footer) -> None:
    """Footer.bindings_changed sets this before recomposing; KeysFooter overrides that method
    (it recomposes only when the keys shown change) and must set it too, or compose shows no key."""
    footer._bindings_ready = True


def watchers(node: DOMNode) -> dict[str, list[tuple[MessagePump, Callable[..., object]]]]:
    """The watchers of a node's reactives, by reactive name: (watching node, callback). A key the
    footer removed stays alive through the watcher its `compact` binding left on the footer;
    Textual prunes a watcher only when the watched value changes, which `compact` never does."""
    found: dict[str, list[tuple[MessagePump, Callable[..., object]]]] = getattr(node, "__watchers", {})
    return found


def is_gone(node: MessagePump) -> bool:
    """Whether a node is closing or closed (removed from the DOM, its message queue stopped)."""
    return node._closing or node._closed


# -- help (console/modals/help.py) ----------------------------------------------------------------
def bindings(node: DOMNode) -> Mapping[str, Sequence[Binding]]:
    """A node's own bindings, by key (each key's bindings, nearest first). Screen.active_bindings
    has one binding a key, the one a key press would run; the help screen lists every action."""
    return node._bindings.key_to_bindings


# -- for the tests ------------------------------------------------------------------------------
def notifications(app: App[Any]) -> list[Notification]:
    """The notifications (toasts) the app holds now; App has notify and clear_notifications only."""
    return list(app._notifications)


def withdraw_notifications(app: App[Any], title: str) -> None:
    """Take back the toasts with this title before they time out (App clears all, or none)."""
    for notification in list(app._notifications):
        if notification.title == title:
            app._unnotify(notification)


def cell_render_cache(table: DataTable[Any]) -> LRUCache[Any, Any]:
    """The table's cached renders of its cells, keyed by (row key, column key, ...): a test tells
    from it which cells were drawn again."""
    return table._cell_render_cache


def screen_lines(screen: Screen[Any]) -> list[str]:
    """The screen's text, line by line, as last composed: what a terminal shows."""
    return ["".join(segment.text for segment in strip) for strip in screen._compositor.render_strips()]
