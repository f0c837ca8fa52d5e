"""Textual's private names, which the console reaches only through console/textual_internals.py.

Two guards, so that pyproject.toml can accept a range of Textual versions:

- every private name the adapter uses is there, and shaped as the adapter expects (a fresh app
  and widgets in Pilot runs: attributes of the expected kind, methods with the expected
  parameters, caches that can be listed and cleared), and the adapter's functions still do what
  the console relies on. A Textual release that renames or reshapes one fails here, with a
  message that names the internal that moved;
- no module of the console or of its tests, other than the adapter, uses those names or
  imports a private Textual module (`textual._…`, `textual.widgets._…`).
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

import pytest
import textual
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message_pump import MessagePump
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label
from textual.widgets.data_table import ColumnKey, RowKey

from console import textual_internals as internals

ROOT = Path(__file__).resolve().parents[2]
ADAPTER = ROOT / "console" / "textual_internals.py"
VERSION = textual.__version__

#: every private name of Textual the adapter uses, and where Textual keeps it
INTERNALS: dict[str, str] = {
    "_screen_stacks": "App._screen_stacks",
    "_init_mode": "App._init_mode",
    "_get_screen": "App._get_screen",
    "_css_update_count": "App._css_update_count / Screen._css_update_count",
    "_notifications": "App._notifications",
    "_unnotify": "App._unnotify",
    "_compositor": "Screen._compositor",
    "_bindings": "DOMNode._bindings",
    "_data": "DataTable._data",
    "_cell_render_cache": "DataTable._cell_render_cache",
    "_row_render_cache": "DataTable._row_render_cache",
    "_row_renderable_cache": "DataTable._row_renderable_cache",
    "_line_cache": "DataTable._line_cache",
    "_row_locations": "DataTable._row_locations",
    "_updated_cells": "DataTable._updated_cells",
    "_require_update_dimensions": "DataTable._require_update_dimensions",
    "_update_count": "DataTable._update_count",
    "_update_dimensions": "DataTable._update_dimensions",
    "_labelled_row_exists": "DataTable._labelled_row_exists",
    "_row_label_column_width": "DataTable._row_label_column_width",
    "_total_row_height": "DataTable._total_row_height",
    "_bindings_ready": "Footer._bindings_ready",
    "__watchers": "the reactive watchers a node keeps (textual.reactive)",
    "_mounted_event": "MessagePump._mounted_event",
    "_shutdown": "App._shutdown",
    "_closing": "MessagePump._closing",
    "_closed": "MessagePump._closed",
}

#: Textual's private modules the adapter imports from, and what it takes from each
PRIVATE_MODULES: dict[str, str] = {
    "textual._two_way_dict": "TwoWayDict",
    "textual.widgets._footer": "FooterKey",
}

#: uses not moved to the adapter yet: these files were outside the change that made it. Each
#: entry goes when its file calls the adapter instead (bindings, notifications, screen_lines).
NOT_MOVED_YET: set[tuple[str, str]] = set()


def moved(what: str, how: str) -> str:
    return (
        f"Textual {VERSION}: {what} moved or changed shape ({how}); console/textual_internals.py relies on it "
        "- adapt the adapter, then this test"
    )


def internal(owner: str, obj: object, name: str, kind: type | tuple[type, ...]) -> Any:
    """obj.name, which must be there and be a `kind`."""
    what = f"{owner}.{name}"
    assert hasattr(obj, name), moved(what, "no such attribute")
    value = getattr(obj, name)
    assert isinstance(value, kind), moved(what, f"a {type(value).__name__}, not a {kind}")
    return value


def method(owner: str, cls: type, name: str, params: list[str]) -> Callable[..., Any]:
    """cls.name, a method taking exactly these parameters (after self)."""
    what = f"{owner}.{name}"
    found = inspect.getattr_static(cls, name, None)
    assert callable(found), moved(what, "no such method")
    got = [p for p in inspect.signature(found).parameters if p != "self"]
    assert got == params, moved(what, f"parameters {got}, not {params}")
    return found


def cache(owner: str, obj: object, name: str) -> LRUCache[Any, Any]:
    """A cache the adapter lists and clears in part: keys(), discard() and clear()."""
    found = internal(owner, obj, name, object)
    for needed in ("keys", "discard", "clear", "get"):
        assert callable(getattr(found, needed, None)), moved(f"{owner}.{name}", f"no {needed}()")
    return found


# -- modules -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("module", "name"), sorted(PRIVATE_MODULES.items()))
def test_the_private_modules_hold_what_the_adapter_imports(module, name):
    try:
        found = importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(moved(f"module {module}", str(exc)))
    assert hasattr(found, name), moved(f"{module}.{name}", "not in the module")
    assert isinstance(getattr(found, name), type), moved(f"{module}.{name}", "not a class")


def test_a_two_way_dict_maps_both_ways():
    from textual._two_way_dict import TwoWayDict

    two = TwoWayDict({RowKey("a"): 0, RowKey("b"): 1})
    assert two.get(RowKey("b")) == 1 and two.get_key(1) == RowKey("b"), moved("TwoWayDict", "get / get_key")
    assert list(two) == [RowKey("a"), RowKey("b")], moved("TwoWayDict", "iterating gives the keys")


# -- the app's screens -----------------------------------------------------------------------------
class Named(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("j", "down", "Down")]
    TEXT = ""

    def compose(self) -> ComposeResult:
        yield Label(self.TEXT)


class First(Named):
    TEXT = "the first mode's screen"


class Second(Named):
    TEXT = "the second mode's screen"


class Third(Named):
    TEXT = "a screen on no stack"


class ModesApp(App[None]):
    MODES: ClassVar[dict[str, Any]] = {"first": First, "second": Second}
    DEFAULT_MODE: ClassVar[str] = "first"


async def test_the_app_keeps_each_modes_stack_and_composes_a_mode_off_screen():
    app = ModesApp()
    async with app.run_test(size=(60, 8)) as pilot:
        await pilot.pause()
        stacks = internal("App", app, "_screen_stacks", dict)
        assert all(isinstance(s, list) for s in stacks.values()), moved("App._screen_stacks", "not lists")
        assert stacks.get("first") == app.screen_stack, moved("App._screen_stacks", "the current mode's not there")
        assert internals.screen_stacks(app) is stacks
        assert "second" not in stacks

        method("App", App, "_init_mode", ["mode"])
        screen = internals.init_mode(app, "second")
        assert isinstance(screen, Second), moved("App._init_mode", "no Second screen on the mode's stack")
        await pilot.pause()
        assert screen.is_running and isinstance(app.screen, First), moved("App._init_mode", "not composed off screen")
        assert [type(s) for s in stacks["second"]] == [Second]

        method("App", App, "_get_screen", ["screen"])
        app.install_screen(Third(), name="third")
        third = app.get_screen("third")
        internals.mount_screen(app, third)
        await pilot.pause()
        assert third.is_running and third.query_one(Label), moved("App._get_screen", "the screen was not mounted")
        assert all(third not in s for s in stacks.values()) and isinstance(app.screen, First)

        internal("App", app, "_css_update_count", int)
        internal("Screen", third, "_css_update_count", int)
        internals.mark_styled(app, third)
        assert third._css_update_count == app._css_update_count

        await app.switch_mode("second")  # what the warmer made is shown as it is
        await pilot.pause()
        assert app.screen is screen and "the second mode's screen" in "\n".join(internals.screen_lines(app.screen))


class ClosingApp(internals.FinishesBeforeClosing, ModesApp):
    """Notes the screens it sees as it closes."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[list[type[Screen[Any]]]] = []

    async def before_closing(self) -> None:
        self.seen.append([type(s) for s in self.screen_stack])


@pytest.mark.parametrize("way_out", ["App.exit", "leaving run_test"])
async def test_an_app_finishes_its_work_before_textual_takes_its_screens_down(way_out):
    method("App", App, "_shutdown", [])
    app = ClosingApp()
    async with app.run_test(size=(60, 8)) as pilot:
        await pilot.pause()
        internal("MessagePump", app.screen, "_mounted_event", asyncio.Event)
        second = internals.init_mode(app, "second")
        await internals.mounted(second)  # composed, off screen
        assert second.is_mounted and second.query_one(Label), moved("MessagePump._mounted_event", "set before mount")
        await internals.mounted(second)  # a screen mounted already: at once
        if way_out == "App.exit":
            app.exit()
    assert app.seen == [[First]], moved("App._shutdown", f"before_closing saw {app.seen}")


async def test_notifications_screen_lines_and_bindings_can_be_read():
    app = ModesApp()
    async with app.run_test(size=(60, 8)) as pilot:
        await pilot.pause()
        internal("App", app, "_notifications", Iterable)
        app.notify("hello from the test")
        await pilot.pause()
        said = [n.message for n in internals.notifications(app)]
        assert said == ["hello from the test"], moved("App._notifications", f"holds {said}")
        app.notify("taken back", title="gone")
        internal("App", app, "_unnotify", object)
        internals.withdraw_notifications(app, "gone")
        said = [n.message for n in internals.notifications(app)]
        assert said == ["hello from the test"], moved("App._unnotify", f"left {said}")

        compositor = internal("Screen", app.screen, "_compositor", object)
        assert callable(getattr(compositor, "render_strips", None)), moved("Screen._compositor", "no render_strips()")
        lines = internals.screen_lines(app.screen)
        assert len(lines) == 8 and any("the first mode's screen" in line for line in lines), lines

        internal("DOMNode", app.screen, "_bindings", object)
        keys = internals.bindings(app.screen)
        assert isinstance(keys, dict) and [b.action for b in keys.get("j", [])] == ["down"], moved(
            "DOMNode._bindings", "key_to_bindings is not {key: [Binding]}"
        )


# -- the data table -------------------------------------------------------------------------------
ROW_KEYS = [RowKey(f"r{i}") for i in range(1, 6)]
A, B = ColumnKey("a"), ColumnKey("b")


class FixedTable(internals.FixedWidthRows, DataTable[str]):
    measured = 0

    def _update_dimensions(self, new_rows):
        self.measured += 1
        super()._update_dimensions(new_rows)


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        for table in (DataTable[str](id="plain"), FixedTable(id="fixed")):
            table.add_column("A", key="a", width=6)
            table.add_column("B", key="b", width=8)
            for i, row in enumerate(ROW_KEYS, 1):
                table.add_row(f"a{i}", f"b{i}", key=row.value)
            yield table


def table_lines(app: App[Any], table: DataTable[Any]) -> list[str]:
    region = table.region
    return [line[region.x : region.right] for line in internals.screen_lines(app.screen)[region.y : region.bottom]]


@pytest.fixture
async def tables():
    app = TableApp()
    async with app.run_test(size=(40, 16)) as pilot:
        await pilot.pause()
        yield app, pilot, app.query_one("#plain", DataTable), app.query_one("#fixed", FixedTable)


async def test_a_table_keeps_its_rows_and_its_renders_where_the_adapter_reaches_them(tables):
    app, pilot, table, _ = tables
    data = internal("DataTable", table, "_data", dict)
    assert data.get(ROW_KEYS[1], {}).get(B) == "b2", moved("DataTable._data", "not {RowKey: {ColumnKey: value}}")
    at = internal("DataTable", table, "_row_locations", object)
    assert at.get(ROW_KEYS[2]) == 2 and at.get_key(2) == ROW_KEYS[2], moved("DataTable._row_locations", "get / get_key")
    internal("DataTable", table, "_updated_cells", set)
    internal("DataTable", table, "_require_update_dimensions", bool)
    internal("DataTable", table, "_update_count", int)

    cells = cache("DataTable", table, "_cell_render_cache")
    rows = cache("DataTable", table, "_row_render_cache")
    lines = cache("DataTable", table, "_line_cache")
    cache("DataTable", table, "_row_renderable_cache")
    assert internals.cell_render_cache(table) is cells
    assert {(k[0], k[1]) for k in cells.keys()} >= {(r, c) for r in ROW_KEYS for c in (A, B)}, moved(  # noqa: SIM118
        "DataTable._cell_render_cache", "keys not (RowKey, ColumnKey, …)"
    )
    assert {k[0] for k in rows.keys()} >= set(ROW_KEYS), moved("DataTable._row_render_cache", "keys not (RowKey, …)")  # noqa: SIM118
    assert {k[0] for k in lines.keys()} >= set(range(6)), moved("DataTable._line_cache", "keys not (y, …)")  # noqa: SIM118

    # a cell written and its renders dropped: drawn again, and alone
    table.refresh()
    await pilot.pause()  # drawn as the table is now (focused)
    before = {k: cells.get(k) for k in list(cells.keys())}
    internals.write_cells(table, [(ROW_KEYS[1], B, "NEW")])
    internals.clear_render_caches(table, {(ROW_KEYS[1], B)}, {2})
    table.refresh_line(2)
    await pilot.pause()
    assert table.get_cell(ROW_KEYS[1], B) == "NEW"
    assert "NEW" in table_lines(app, table)[2], moved("DataTable render caches", "the cell was not drawn again")
    redrawn = {(k[0], k[1]) for k in list(cells.keys()) if before.get(k) is not cells.get(k)}
    assert redrawn == {(ROW_KEYS[1], B)}, moved("DataTable render caches", f"drawn again: {redrawn}")


async def test_rows_removed_and_reordered_at_once_are_shown_so(tables):
    app, pilot, table, _ = tables
    internals.remove_rows(table, {ROW_KEYS[1], ROW_KEYS[3]})
    await pilot.pause()
    assert table.row_count == 3 and table.get_row_index(ROW_KEYS[4]) == 2
    assert [line.split()[0] for line in table_lines(app, table)[1:4]] == ["a1", "a3", "a5"], moved(
        "DataTable._row_locations / _update_count", "rows removed are still drawn"
    )
    internals.set_row_order(table, [ROW_KEYS[4], ROW_KEYS[2], ROW_KEYS[0]])
    await pilot.pause()
    assert [table.get_row_at(i)[0] for i in range(3)] == ["a5", "a3", "a1"]
    assert [line.split()[0] for line in table_lines(app, table)[1:4]] == ["a5", "a3", "a1"], moved(
        "DataTable._row_locations / _update_count", "the new order is not drawn"
    )
    internals.remeasure(table)
    assert table._require_update_dimensions is True
    await pilot.pause()
    assert table._require_update_dimensions is False, moved("DataTable._require_update_dimensions", "not consumed")


async def test_a_table_of_fixed_widths_is_sized_without_measuring_its_cells(tables):
    app, _, plain, fixed = tables
    method("DataTable", DataTable, "_update_dimensions", ["new_rows"])
    internal("DataTable", fixed, "_labelled_row_exists", bool)
    internal("DataTable", fixed, "_row_label_column_width", int)
    internal("DataTable", fixed, "_total_row_height", int)
    assert fixed.measured, moved("DataTable._update_dimensions", "DataTable no longer calls it")
    assert fixed.virtual_size == plain.virtual_size == Size(6 + 2 + 8 + 2, 6)
    assert table_lines(app, fixed) == table_lines(app, plain)


# -- the footer ----------------------------------------------------------------------------------
class FooterApp(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("j", "down", "Down"), Binding("k", "up", "Up")]

    def compose(self) -> ComposeResult:
        yield Footer()


async def test_the_footer_keys_and_their_watchers_are_where_the_adapter_reaches_them():
    ready = inspect.getattr_static(Footer, "_bindings_ready", None)
    assert isinstance(ready, Reactive), moved("Footer._bindings_ready", "not a reactive")
    method("Footer", Footer, "bindings_changed", ["screen"])
    assert isinstance(inspect.getattr_static(internals.FooterKey, "compact", None), Reactive), moved(
        "FooterKey.compact", "not a reactive"
    )
    fresh = Footer()
    assert internal("Footer", fresh, "_bindings_ready", bool) is False
    internals.mark_bindings_ready(fresh)
    assert fresh._bindings_ready is True

    app = FooterApp()
    async with app.run_test(size=(60, 4)) as pilot:
        await pilot.pause()
        footer = app.query_one(Footer)
        keys = {k.key: k for k in app.query(internals.FooterKey)}
        assert {"j", "k"} <= set(keys), moved("FooterKey", f"the footer shows {sorted(keys)}")
        internal("a reactive's owner", footer, "__watchers", dict)
        watched = internals.watchers(footer)
        assert watched.get("compact"), moved("the reactive watchers (__watchers)", f"the footer's are {watched!r}")
        assert {node for node, _ in watched["compact"]} >= {keys["j"], keys["k"]}
        assert all(callable(cb) for _, cb in watched["compact"])

        internal("MessagePump", keys["j"], "_closing", bool)
        internal("MessagePump", keys["j"], "_closed", bool)
        assert not internals.is_gone(keys["j"])
        await keys["j"].remove()
        assert internals.is_gone(keys["j"]) and not internals.is_gone(keys["k"]), moved(
            "MessagePump._closing / _closed", "a removed widget is neither"
        )
        assert isinstance(keys["k"], MessagePump)


# -- no one else -----------------------------------------------------------------------------------
PRIVATE_MODULE = re.compile(r"^textual(\.\w+)*\._\w")


def private_uses(tree: ast.AST, names: Iterable[str]) -> set[str]:
    """The private names of Textual a module uses: imports from its private modules, attributes
    and overridden methods by those names, and the names as strings (getattr, monkeypatch)."""
    names = set(names)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and PRIVATE_MODULE.match(node.module):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if PRIVATE_MODULE.match(alias.name)}
        elif isinstance(node, ast.Attribute) and node.attr in names:
            found.add(node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            found.add(node.name)
        elif isinstance(node, ast.Name) and node.id in names:
            found.add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in names or PRIVATE_MODULE.match(node.value):
                found.add(node.value)
    return found


def reaches_textual(tree: ast.AST) -> bool:
    """Whether a module imports Textual or the console: one that does neither has names of its own
    that may read like Textual's (an engine test's `_data`) and cannot reach Textual's."""
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        if any(m.split(".")[0] in ("textual", "console") or m.startswith("tests.console") for m in modules):
            return True
    return False


def uses_elsewhere() -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    here = Path(__file__).resolve()
    for path in sorted([*(ROOT / "console").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]):
        if path.resolve() in (ADAPTER, here):
            continue
        tree = ast.parse(path.read_text(), str(path))
        names = INTERNALS if reaches_textual(tree) else {}
        out |= {(path.relative_to(ROOT).as_posix(), name) for name in private_uses(tree, names)}
    return out


def test_no_module_but_the_adapter_uses_textuals_private_names():
    found = uses_elsewhere()
    stray = sorted(found - NOT_MOVED_YET)
    assert not stray, (
        "Textual's private names belong in console/textual_internals.py only; add a function there "
        f"(and its check here) and call it instead: {stray}"
    )
    gone = sorted(NOT_MOVED_YET - found)
    assert not gone, f"these files no longer use the name: take them out of NOT_MOVED_YET: {gone}"


def test_the_adapter_uses_exactly_the_names_checked_here():
    tree = ast.parse(ADAPTER.read_text())
    private = re.compile(r"^__?[a-z]\w*(?<!__)$")
    used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and private.match(n.attr)}
    used |= {
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and private.match(n.value)
    }
    assert used == set(INTERNALS), f"INTERNALS here and the adapter differ: {sorted(used ^ set(INTERNALS))}"
    modules = {
        n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and PRIVATE_MODULE.match(n.module or "")
    }
    assert modules == set(PRIVATE_MODULES), f"PRIVATE_MODULES here and the adapter differ: {sorted(modules)}"


def test_every_name_is_checked_on_a_live_textual():
    """Each name of INTERNALS is looked up by internal(), method() or cache() above, so that a
    rename fails here with the name."""
    tree = ast.parse(Path(__file__).read_text())
    checked = {
        call.args[2].value
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id in ("internal", "method", "cache")
        and len(call.args) > 2
        and isinstance(call.args[2], ast.Constant)
    }
    assert set(INTERNALS) <= checked, f"not checked on a live Textual: {sorted(set(INTERNALS) - checked)}"
