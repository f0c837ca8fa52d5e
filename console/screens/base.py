"""What every list screen shares: header, a live table, a filter bar (/), the status line and the
footer; data loads in a thread worker and reloads on site changes or on a timer (re-armed, never
piling up), unless the operator paused live updates."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Header, Input, Label

from console import textual_internals as internals
from console.messages import SiteChanged
from console.widgets.footer import KeysFooter
from console.widgets.live_label import LiveLabel
from console.widgets.live_table import Cells, Column, LiveTable, Prepared, prepare
from console.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from console.app import FlashpoolApp

#: a screen to drill into: the name it is kept under, and how to make it
DrillIn = tuple[str, Callable[[], Screen[None]]]


#: the worker group of the list screens' loads
RELOAD_GROUP = "reload"


def lists_loading(app: App[None]) -> bool:
    """Some list screen is still loading its rows (its reload worker has not finished)."""
    return any(w.group == RELOAD_GROUP and not w.is_finished for w in app.workers)


class ListScreen(Screen[None]):
    TITLE_TEXT: ClassVar[str] = ""
    CRUMB: ClassVar[str] = ""  # this screen's step in the breadcrumbs (default: TITLE_TEXT)
    COLUMNS: ClassVar[list[Column]] = []
    EMPTY_TEXT: ClassVar[str] = "Nothing here yet."
    HELP_TEXT: ClassVar[str] = ""
    loads: int = 0
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="screen.filter"),
        Binding("escape", "back", "Back", id="screen.back"),
        Binding("c", "copy_name", "Copy name", show=False, id="screen.copy"),
    ]

    @property
    def fpapp(self) -> FlashpoolApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="body"):
            yield Label(self.TITLE_TEXT, id="screen-title")
            yield from self.compose_top()
            yield LiveTable(self.COLUMNS, id="main-table")
            yield LiveLabel("", id="window")
            yield LiveLabel(self.EMPTY_TEXT, id="empty")
            yield from self.compose_bottom()
        yield Input(placeholder="filter: type to narrow the list, enter to keep, escape to clear", id="filter")
        yield StatusLine(id="status")
        yield KeysFooter()

    def compose_top(self) -> ComposeResult:
        yield from ()

    def compose_bottom(self) -> ComposeResult:
        yield from ()

    @property
    def table(self) -> LiveTable:
        return self.query_one("#main-table", LiveTable)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one("#empty", LiveLabel).display = False
        self.query_one("#window", Label).display = False
        self.fpapp.update_status(self.query_one(StatusLine))
        self.show_breadcrumbs()
        # no reload here: ScreenResume follows the first mount too (two loads of 2,000 rows cost 100s of ms)

    def on_screen_resume(self) -> None:
        self.fpapp.update_status(self.query_one(StatusLine))
        self.show_breadcrumbs()
        self.request_reload()

    # -- where am I -------------------------------------------------------------------------------
    def crumb(self) -> str:
        return self.CRUMB or self.TITLE_TEXT

    def breadcrumbs(self) -> str:
        """`Pools › DSN$DB0A$DB › v003 › DB0A01`: every list screen from the mode's root to this one,
        on this screen's own stack. A screen composed in the background (another mode's, or one
        on no stack yet) is not on the stack shown, whose screens may be going away: it has its
        own steps until it is shown."""
        stack = next((s for s in internals.screen_stacks(self.app).values() if self in s), [self])
        return " › ".join(s.crumb() for s in stack[: stack.index(self) + 1] if isinstance(s, ListScreen))

    def show_breadcrumbs(self) -> None:
        self.query_one("#screen-title", Label).update(Text(self.breadcrumbs()))

    def drill_in(self) -> DrillIn | None:
        """The screen enter opens from the selected row (its name and how to make it), if any."""
        return None

    def action_open(self) -> None:
        """Enter on a row: the screen it drills into (screens whose rows open something else
        override this)."""
        if target := self.drill_in():
            self.fpapp.open_screen(*target)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    # -- data -------------------------------------------------------------------------------------
    def load(self) -> list[tuple[str, Cells]]:
        """Rows (key, cells) to show; runs in a worker thread."""
        return []

    _loading: bool = False
    _dirty: bool = False
    #: site changes reload a list at most once per PACE times its last load: 20,000 rows that
    #: take 0.4 s to read refresh every 1.6 s, not every second, and keys stay quick meanwhile
    PACE: ClassVar[float] = 4.0
    _load_started: float = 0.0
    _next_due: float = 0.0  # monotonic: a site change before it waits until then
    _waiting: Timer | None = None

    def request_reload(self) -> None:
        """Reload now, or right after the load in flight: a burst of changes (a thousand copies
        ending) costs two loads, not a thousand."""
        if self._loading:
            self._dirty = True
            return
        self._loading, self._dirty = True, False
        self._load_started = time.monotonic()
        self.reload()

    def reload_when_due(self) -> None:
        """A site change: reload now if the last load was long enough ago, else once, when due."""
        wait = self._next_due - time.monotonic()
        if wait <= 0:
            self.request_reload()
        elif self._waiting is None:
            self._waiting = self.set_timer(wait, self._due)

    def _due(self) -> None:
        self._waiting = None
        if not self.fpapp.paused and self.is_current:
            self.request_reload()

    @work(thread=True, exclusive=True, group=RELOAD_GROUP, exit_on_error=False)
    def reload(self) -> None:
        try:
            rows = self.load()
            ready = prepare(rows, self.table.shown)
            self.app.call_from_thread(self._show, ready)
        except Exception as exc:  # the operator is told; the screen keeps what it shows
            self.app.call_from_thread(self._load_failed, str(exc) or type(exc).__name__)
            raise
        finally:
            self.app.call_from_thread(self._reload_done)

    _failure: str = ""

    def _load_failed(self, why: str) -> None:
        """Rows that could not be read are said so, once per reason (reloads repeat every few
        seconds), never a screen that silently stays empty or stale."""
        if why != self._failure:
            self._failure = why
            self.app.notify(f"FPL630E {self.crumb()}: THE ROWS COULD NOT BE READ - {why}", severity="error", timeout=12)

    def _reload_done(self) -> None:
        self._loading = False
        now = time.monotonic()
        self._next_due = now + self.PACE * (now - self._load_started)
        if self._dirty:
            self._dirty = False
            self.reload_when_due()

    def _show(self, rows: Prepared) -> None:
        self._failure = ""
        self.loads += 1  # how many times rows arrived: tests and benchmarks wait on it
        self.table.reconcile(rows)
        self.show_matches()
        self.after_show()
        if not self.is_current:  # composed in the background: drawn before it is shown
            self.call_after_refresh(self.table.prerender)

    def show_matches(self) -> None:
        """The filter says how many rows it lets through; none is said in words, not a blank."""
        table, empty = self.table, self.query_one("#empty", LiveLabel)
        total, matching = len(table.shown), table.matching
        box = self.query_one("#filter", Input)
        box.border_subtitle = f"{matching} of {total}" if table.filter_text else ""
        if table.filter_text and total and not matching:
            empty.show(Text(f"No rows match “{table.filter_text}” (escape clears the filter)"))
        else:
            empty.show(self.empty_text())
        empty.display = not matching

    def empty_text(self) -> str:
        """What an empty list says (a screen may say why it is empty for this user)."""
        return self.EMPTY_TEXT

    def after_show(self) -> None:
        pass

    @on(LiveTable.WindowMoved, "#main-table")
    def show_window(self) -> None:
        """Which slice of a long list is in the table, and how to reach the rest."""
        label, text = self.query_one("#window", LiveLabel), self.table.window_text
        label.display = bool(text)
        if text:
            label.show(Text(f"{text} · moving past either end brings the next ones in · / narrows the list"))

    def on_site_changed(self, message: SiteChanged) -> None:
        if not self.fpapp.paused and self.is_current:
            if message.command_ended:  # what a command changed is shown at once (after a load in flight)
                self.request_reload()
            else:
                self.reload_when_due()

    # -- actions ----------------------------------------------------------------------------------
    @property
    def current_pool(self) -> str | None:
        """The copy pool a changing action here would act on (what the greying is checked for)."""
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Changing actions follow the app (greyed out when read-only or held); escape is only
        offered where there is something to go back from."""
        if action == "back" and getattr(self, "IS_MODE_ROOT", False):
            return self.is_mounted and self.query_one("#filter", Input).display
        return self.fpapp.check_action(action, parameters)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()
        self.refresh_bindings()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.set_filter(event.value)
        self.show_matches()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.table.focus()

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display:
            box.value = ""
            box.display = False
            self.table.set_filter("")
            self.show_matches()
            self.table.focus()
            self.refresh_bindings()
        elif len(self.app.screen_stack) > 1 and not getattr(self, "IS_MODE_ROOT", False):
            self.app.pop_screen()

    def action_copy_name(self) -> None:
        key = self.table.selected_key
        if key:
            self.app.copy_to_clipboard(key)
            self.app.notify(f"copied {key}", timeout=2)
