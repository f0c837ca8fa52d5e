"""The live table on lists longer than its window: the DataTable holds WINDOW rows, yet the
cursor reaches every row, sorting and filtering see every row, and the slice shown is named."""

from __future__ import annotations

from typing import ClassVar

import pytest
from textual.app import App, ComposeResult

from console import textual_internals as internals
from console.widgets.live_table import Column, LiveTable

ROWS = 100


class Small(LiveTable):
    WINDOW: ClassVar[int] = 20


def rows(n: int = ROWS, first: int = 0) -> list[tuple[str, tuple[str, ...]]]:
    """VOL000 … with a size that falls as the name rises (sorting by it reverses the list)."""
    return [(f"VOL{i:03d}", (f"VOL{i:03d}", f"{1000 - i:,}")) for i in range(first, first + n)]


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.moved = 0

    def compose(self) -> ComposeResult:
        yield Small([Column("Volume", "volser", 8), Column("Size", "size", 8)])

    def on_live_table_window_moved(self, message: LiveTable.WindowMoved) -> None:
        self.moved += 1


@pytest.fixture
async def table():
    app = TableApp()
    async with app.run_test(size=(40, 15)) as pilot:
        t = app.query_one(Small)
        t.reconcile(rows())
        t.focus()
        await pilot.pause()
        yield t, pilot


async def test_the_data_table_holds_only_the_window_and_says_which_rows(table):
    t, _ = table
    assert t.row_count == 20
    assert t.matching == ROWS
    assert t.window_text == "rows 1–20 of 100"
    assert t.app.moved == 1  # the first slice was announced


async def test_the_cursor_walks_past_the_window_end_and_back(table):
    t, pilot = table
    for _ in range(30):
        await pilot.press("down")
    assert t.selected_key == "VOL030"
    assert t.window_text != "rows 1–20 of 100"
    for _ in range(30):
        await pilot.press("up")
    assert t.selected_key == "VOL000"
    assert t.window_text == "rows 1–20 of 100"


async def test_top_bottom_and_pages_reach_every_row(table):
    t, pilot = table
    await pilot.press("G")
    assert t.selected_key == "VOL099"
    assert t.window_text == "rows 81–100 of 100"
    await pilot.press("g")
    assert t.selected_key == "VOL000"
    keys = set()
    for _ in range(40):
        await pilot.press("pagedown")
        keys.add(t.selected_key)
    assert "VOL099" in keys and len(keys) > 5


async def test_sorting_orders_every_row_not_only_the_window(table):
    t, pilot = table
    await pilot.press("G")
    t.sort_by("size")  # ascending size: the last volume first, read from the top
    await pilot.pause()
    assert t.get_row_at(0)[0].plain == "VOL099"
    assert t.selected_key == "VOL099" and t.window_text == "rows 1–20 of 100"
    t.sort_by("")
    await pilot.pause()
    assert t.get_row_at(0)[0].plain == "VOL000"


async def test_a_filter_searches_every_row(table):
    t, pilot = table
    t.set_filter("VOL09")
    await pilot.pause()
    assert t.matching == 10 and t.row_count == 10
    assert t.window_text == ""
    t.set_filter("nothing like it")
    assert t.matching == 0 and t.row_count == 0


async def test_a_filter_that_hides_every_row_gives_the_cursor_back_when_cleared(table):
    t, pilot = table
    for _ in range(45):  # past the first window
        await pilot.press("down")
    assert t.selected_key == "VOL045"
    t.set_filter("VOL0")  # VOL045 still matches
    t.set_filter("VOL0Z")  # nothing does
    assert t.row_count == 0 and t.selected_key is None
    await pilot.press("down", "end", "pageup")  # keys in an empty table move nothing
    t.reconcile(rows())  # a reload while nothing is shown
    t.set_filter("")
    await pilot.pause()
    assert t.selected_key == "VOL045"
    await pilot.press("down")
    assert t.selected_key == "VOL046"


async def test_rows_inserted_above_keep_the_cursor_on_its_row(table):
    t, pilot = table
    for _ in range(5):
        await pilot.press("down")
    assert t.selected_key == "VOL005"
    t.reconcile([*rows(3, first=200), *rows()])  # newest first: three new rows on top
    await pilot.pause()
    assert t.selected_key == "VOL005"
    assert t.matching == ROWS + 3


async def test_a_selection_far_down_stays_in_view_through_a_reload(table):
    t, pilot = table
    await pilot.press("G")
    t.reconcile([(k, (k, "changed")) for k, _ in rows()])
    await pilot.pause()
    assert t.selected_key == "VOL099"
    assert t.get_row("VOL099")[1].plain == "changed"
    t.reconcile([(k, (k, "again" if k == "VOL098" else "changed")) for k, _ in rows()])  # scrolled: one row
    await pilot.pause()
    screen = internals.screen_lines(t.app.screen)
    assert any("VOL098" in line and "again" in line for line in screen)
    assert any("VOL099" in line and "changed" in line for line in screen)


async def test_a_filter_sees_a_rows_new_text_after_a_reload(table):
    t, pilot = table
    t.set_filter("changed")
    assert t.matching == 0
    t.reconcile([(k, (k, "changed" if k == "VOL042" else cells[1])) for k, cells in rows()])
    await pilot.pause()
    assert t.matching == 1 and t.selected_key == "VOL042"


async def test_a_reload_draws_again_only_the_cells_that_changed(table, monkeypatch):
    t, pilot = table
    lines_drawn: list[int] = []
    draw_line = LiveTable.render_line

    def spy(self, y):
        lines_drawn.append(y)
        return draw_line(self, y)

    monkeypatch.setattr(LiveTable, "render_line", spy)

    def renders() -> dict[object, object]:
        """Each cell's cached render (a cell is drawn once and kept until it changes)."""
        cache = internals.cell_render_cache(t)
        return {key: cache.get(key) for key in list(cache.keys())}

    def drawn_since(before: dict[object, object]) -> set[tuple[str | None, str | None]]:
        return {(key[0].value, key[1].value) for key, lines in renders().items() if before.get(key) is not lines}

    t.refresh()
    await pilot.pause()  # drawn as the table is now
    before = renders()
    lines_drawn.clear()
    t.reconcile([(k, (k, "changed" if k in ("VOL003", "VOL005") else cells[1])) for k, cells in rows()])
    await pilot.pause()
    assert drawn_since(before) == {("VOL003", "size"), ("VOL005", "size")}  # every other cell kept its render
    assert sorted(set(lines_drawn)) == [4, 6]  # and the other lines theirs (the header is line 0)
    lines = ["".join(seg.text for seg in t.render_line(y)) for y in range(1, 8)]
    assert "changed" in lines[3] and "changed" in lines[5] and "998" in lines[2]  # what the screen shows
    before = renders()
    t.reconcile(rows())  # and back
    await pilot.pause()
    assert drawn_since(before) == {("VOL003", "size"), ("VOL005", "size")}
    assert "997" in "".join(seg.text for seg in t.render_line(4))
