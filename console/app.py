"""The flashpool console: modes, global keys, themes, the engine event pump. Glue only: screens,
modals and widgets live in their own modules."""

from __future__ import annotations

import asyncio
import gc
import getpass
import os
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme

from console import format as fmt
from console import textual_internals as internals
from console.alerts import Alert, AlertList, notice_of
from console.commands import palette_commands
from console.config import load_keymap, load_settings, save_settings
from console.messages import SiteChanged
from console.modals.command_line import CommandLine
from console.modals.config_change import ConfigChangeScreen, ConfigForm
from console.modals.confirm import ConfirmScreen
from console.modals.help import HelpScreen, bindings_of
from console.modals.quit import QuitScreen
from console.screens.activity import ActivityScreen
from console.screens.alerts import AlertsScreen
from console.screens.config import ConfigScreen
from console.screens.groups import GroupsScreen
from console.screens.hosts import HostsScreen
from console.screens.pools import PoolsScreen
from console.screens.relationships import RelationshipsScreen
from console.warming import Warmer
from console.widgets.status_line import StatusLine
from engine.api import NotAuthorized, SiteAPI, SiteStatus
from engine.command import changes_site, parse_command
from engine.command.syntax import CommandSyntaxError
from engine.errors import FlashpoolError
from engine.events import ActivityLogged, CopyProgress, Event, FlashCopyChanged
from engine.hostviews import summary
from engine.hsm.alerts import AlertAcknowledged, AlertView, Severity, changed_the_site
from engine.messages import CommandResult
from engine.security import Check, Decision, Function
from engine.security.needs import Needs, rule_of
from engine.site import Site
from engine.states import Origin
from themes import ALL_THEMES, DEFAULT_THEME, TRACK_DEFAULTS

#: the mode keys share one footer entry ("123456 Views"): a footer of 80 columns keeps room for the rest
SCREENS = Binding.Group("Views", compact=True)

#: actions that change something: refused (greyed out) in read-only mode, and for a user the
#: site's profiles do not allow them (each with the function it is checked for)
MUTATING = {
    "backup": Function.FRBACKUP,
    "recover": Function.FRRECOV,
    "withdraw": Function.FRBACKUP,
    "delete": Function.FRDELETE,
    "config": Function.CONFIG,
}


def mutating_check(function: Function, pool: str | None) -> Check:
    """What a changing action is greyed by: a configuration change needs what the API's rule for
    it says (of no copy pool); the commands READ of their function for the screen's copy pool."""
    if function is Function.CONFIG:
        rule = rule_of("change_config")
        assert isinstance(rule, Needs)
        return Check(function, None, rule.access)
    return Check(function, pool)


SERVER_GONE = "server gone"  # the title of the FPL620E toast, taken back on reconnecting


class FlashpoolApp(internals.FinishesBeforeClosing, App[None]):
    TITLE = "flashpool"
    CSS_PATH = [Path(__file__).parent / "styles" / "app.tcss"]
    MODES = {
        "pools": PoolsScreen,
        "groups": GroupsScreen,
        "relationships": RelationshipsScreen,
        "activity": ActivityScreen,
        "alerts": AlertsScreen,
        "config": ConfigScreen,
        "hosts": HostsScreen,
    }
    DEFAULT_MODE = "pools"
    BINDINGS = [
        Binding("1", "switch_mode('pools')", "Pools", id="app.pools", group=SCREENS),
        Binding("2", "switch_mode('groups')", "Groups", id="app.groups", group=SCREENS),
        Binding("3", "switch_mode('relationships')", "Relationships", id="app.relationships", group=SCREENS),
        Binding("4", "switch_mode('activity')", "Activity", id="app.activity", group=SCREENS),
        Binding("5", "switch_mode('alerts')", "Alerts", id="app.alerts", group=SCREENS),
        Binding("6", "switch_mode('config')", "Configuration", id="app.config", group=SCREENS),
        Binding("7", "switch_mode('hosts')", "Hosts", id="app.hosts", group=SCREENS),  # a plex only
        Binding("colon", "command_line", "Command", id="app.command"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("p", "toggle_pause", "Pause", id="app.pause"),
        Binding("q", "leave", "Quit", id="app.quit", priority=True),
        Binding("ctrl+q", "leave", "Quit", show=False, id="app.quit_anywhere", priority=True),
    ]

    def __init__(
        self,
        site: SiteAPI,
        *,
        theme: str | None = None,
        read_only: bool = False,
        live: bool = True,
        refresh_interval: float = 1.0,
        start_engine: bool = True,
        user: str | None = None,
        warm: bool = True,
    ) -> None:
        super().__init__()
        self.site = site
        self.read_only = read_only
        self.live = live
        self.refresh_interval = refresh_interval
        self.start_engine = start_engine
        self.warm = warm
        self.warmer = Warmer(self)
        self.last_input = 0.0  # time.monotonic() of the operator's last key or mouse action
        self.paused = False
        self.history: list[str] = []
        self.holds: set[str] = set()  # HOLD FRBACKUP / FRRECOV in effect; refreshed with the status line
        self.user = user or site.who.user or getpass.getuser()
        self.status_now: SiteStatus | None = None  # the site's last status reading (one a tick)
        self.plex = False  # the site is served by an HSMplex (its last status named hosts)
        self.unreachable: str | None = None  # why the last status reading failed (the server is gone)
        self.gone_at: float | None = None  # when this console found its server gone (time.time())
        self.decisions: dict[str, Decision] = {}  # resource name -> may this user (the greying)
        self.alerts = AlertList()
        self.bell_on_alert = bool(load_settings().get("bell", False))
        self.last_rc: int | None = None
        self._rates: dict[int, float] = {}  # relationship -> recent tracks per second (for the ETA)
        self.throughput: deque[float] = deque(maxlen=120)  # tracks a second, one sample a tick
        self._mine: Counter[str] = Counter()  # commands this console ran, not yet seen in the activity log
        self._kept: list[str] = []  # drill-in screens kept for the next visit, oldest first
        self._theme_choice = theme or os.environ.get("FLASHPOOL_THEME") or load_settings().get("theme") or DEFAULT_THEME
        # the theme is chosen before the stylesheet is first read: set on mount, it read and
        # applied the whole stylesheet a second time (150 ms of every start)
        for t in ALL_THEMES:
            self.register_theme(t)
        names = {t.name for t in ALL_THEMES} | set(self.available_themes)
        self.theme = self._theme_choice if self._theme_choice in names else DEFAULT_THEME
        self._theme_known = self._theme_choice in names
        self._subtitle = site.name + ("  DEMO" if site.demo else "") + ("  READ-ONLY" if read_only else "")
        self.sub_title = self._subtitle

    # -- start --------------------------------------------------------------------------------
    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(TRACK_DEFAULTS)

    #: the collector's thresholds while a console runs. With CPython's (700, 10, 10) a restyle's
    #: short-lived cycles (textual makes a node per component class each time) reach the oldest
    #: generation, whose passes took 200-300 ms every few switches on the 2,000-volume site;
    #: bench.console_switch's big-site p95 went from 500 to about 250 ms with these.
    GC_THRESHOLDS = (5000, 20, 20)

    def on_load(self) -> None:
        """Before the terminal is put in application mode: SIGTERM (kill, a service manager, a
        closing multiplexer) closes the console, without the quit question. Textual's terminal
        driver leaves it to Python, whose default ended the process at once, the terminal left in
        the alternate screen and in raw mode. Only the main thread takes signals: a console run in
        another thread (a test beside a browser) has none to take."""
        if threading.current_thread() is threading.main_thread():
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.exit)

    def on_mount(self) -> None:
        self._gc_before = gc.get_threshold()
        gc.set_threshold(*self.GC_THRESHOLDS)
        if not self._theme_known:
            self.notify(
                f"theme {self._theme_choice!r} is unknown; using {DEFAULT_THEME} "
                f"(flashpool themes: {', '.join(t.name for t in ALL_THEMES)})",
                severity="warning",
                timeout=10,
            )
        fmt.use_theme(self.get_css_variables())
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        keymap, error = load_keymap()
        unknown = sorted(set(keymap) - binding_ids())
        if unknown:
            error = f"keymap: no key has the id {', '.join(unknown)}; ? lists every id"
        if keymap:
            self.set_keymap({k: v for k, v in keymap.items() if k not in unknown})
        if error:
            self.notify(error, severity="warning", timeout=10)
        self.run_worker(self.site.start(self.start_engine), exclusive=True, group="engine-start")
        self.refresh_status()
        self.pump_engine_events()
        self.load_alerts()
        if self.live:
            self.set_timer(self.refresh_interval, self._tick)
        if self.warm:
            self.warmer.start()

    async def on_event(self, event: events.Event) -> None:
        """Notes when the operator last acted: warming waits while they do."""
        if isinstance(event, events.InputEvent) and not event.is_forwarded:
            self.last_input = time.monotonic()
        await super().on_event(event)

    @property
    def warmed(self) -> bool:
        """Every screen the warming composes is up and loaded (tests and benchmarks wait on it)."""
        return self.warmer.done

    async def before_closing(self) -> None:
        await self.warmer.stop()

    def on_unmount(self) -> None:
        # tests run many consoles in one process: give their objects, the thresholds and SIGTERM back
        if threading.current_thread() is threading.main_thread():
            asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
        gc.unfreeze()
        gc.set_threshold(*self._gc_before)

    def _theme_changed(self, theme: Theme) -> None:
        """Remembered, and the rows redrawn in the new theme's colours."""
        save_settings(theme=theme.name)
        fmt.use_theme(self.get_css_variables())
        if self.screen_stack:
            self.screen.post_message(SiteChanged())

    @work(exclusive=True, group="engine-pump")
    async def pump_engine_events(self) -> None:
        async for event in self.site.events():
            if isinstance(event, CopyProgress):  # progress: screens reload on their timer
                self._rates[event.rel_id] = event.rate
                if not event.out_of_sync:
                    self._rates.pop(event.rel_id, None)
                continue
            alert = self.alerts.apply(event)
            notice = notice_of(event, mine=self._is_mine(event), elsewhere=self._elsewhere(event))
            if alert is not None:
                self.announce(alert)
            elif isinstance(event, AlertAcknowledged):
                self.alerts_changed()
            elif notice is not None:
                self.notify(notice.text, title=notice.title, severity=notice.severity.value, timeout=8)
            if (isinstance(event, ActivityLogged) and changed_the_site(event)) or isinstance(event, FlashCopyChanged):
                # a HOLD from the CLI, or the server's stream broke (stopped? restarted?): said now, not at the next tick
                self.refresh_status()
            if isinstance(event, FlashCopyChanged) and self.site.mode == "server":
                # the stream broke or came back: an alert raised meanwhile reached no stream
                self.load_alerts()
            self.post_message(SiteChanged(event))

    def _is_mine(self, event: Event) -> bool:
        """An activity entry for a command this console ran (every other one, from the CLI,
        another console, the scheduler, may change what is shown here: it is an alert)."""
        if not isinstance(event, ActivityLogged) or event.user not in (None, self.site.who.user):
            return False
        key = _key(event.command)
        if self._mine[key] <= 0:
            return False
        self._mine[key] -= 1
        return True

    def _elsewhere(self, event: Event) -> bool:
        """An activity entry of another copy pool than the one pool the shown screen is about
        (the lists of every pool, the relationships, the activity log show them all)."""
        from console.screens.pool_detail import PoolDetailScreen

        shown = self.screen.pool if self.screen_stack and isinstance(self.screen, PoolDetailScreen) else None
        return isinstance(event, ActivityLogged) and None not in (shown, event.copy_pool) and event.copy_pool != shown

    @work(thread=True, exclusive=True, group="alerts", exit_on_error=False)
    def load_alerts(self) -> None:
        """The site's alert list (at start, again after a reconnect, and when the event stream
        breaks or comes back): the same count as every other console's."""
        views = self.site.alerts()
        self.call_from_thread(self.alerts_loaded, views)

    def alerts_loaded(self, views: list[AlertView]) -> None:
        self.alerts.load(views)
        self.alerts_changed()

    def announce(self, alert: Alert) -> None:
        """A toast with the alert's severity, the bell if the operator asked for it, the count."""
        timeout = 12 if alert.severity is Severity.ERROR else 8
        title = f"{alert.glyph} {alert.title}" + (f" · {alert.copy_pool}" if alert.copy_pool else "")
        self.notify(alert.text, title=title, severity=alert.severity.value, timeout=timeout)
        if self.bell_on_alert:
            self.bell()
        self.alerts_changed()

    def alerts_changed(self) -> None:
        self.update_status()
        if isinstance(self.screen, AlertsScreen):
            self.screen.request_reload()

    def _tick(self) -> None:
        """Re-armed timer: one refresh at a time, skipped while paused or a dialog is open."""
        if not self.screen_stack:
            return
        self.throughput.append(sum(self._rates.values()))
        if not self.paused and isinstance(self.screen, Screen) and not self.screen.is_modal:
            self.screen.post_message(SiteChanged())
            self.refresh_status()
        self.set_timer(self.refresh_interval, self._tick)

    def on_site_changed(self, message: SiteChanged) -> None:
        if not self.screen_stack:  # shutting down
            return
        self.screen.post_message(SiteChanged(message.event))
        if not self._status_due:  # a burst of engine events updates the status line once
            self._status_due = True
            self.set_timer(0.1, self._status_now)

    _status_due = False

    def _status_now(self) -> None:
        self._status_due = False
        self.update_status()

    def update_status(self, widget: StatusLine | None = None) -> None:
        if widget is None and not self.screen_stack:
            return
        try:
            line = widget or self.screen.query_one(StatusLine)
        except Exception:  # noqa: BLE001 - a modal has no status line
            return
        st = self.status_now
        line.site_text = f"site {self.site.name}"
        line.demo = self.site.demo
        line.attachment = "embedded" if self.site.mode == "embedded" else f"server pid {st.pid if st else '?'}"
        line.gone = self.gone_text()
        line.user = self.user + (f" ⊘ {' '.join(self.denied_here())}" if self.denied_here() else "")
        line.read_only = self.read_only
        line.paused = self.paused
        if st is not None:
            line.not_durable = not st.durable
            line.plex = summary(st.hosts)
            line.clock = time.strftime("%H:%M", time.localtime(st.clock))
            line.copies = st.copies
            line.percent = 100.0 * (1 - st.out_of_sync / st.tracks) if st.tracks else None
            rate = sum(self._rates.values())
            line.eta = fmt.eta(st.out_of_sync, rate) if st.copies and rate > 0 else ""
        line.held = ", ".join(sorted(self.holds))
        line.alerts = len(self.alerts.unacknowledged)
        line.last_rc = self.last_rc
        line.walkthrough = self.open_walkthrough()

    def open_walkthrough(self) -> str:
        """A walkthrough left open on any screen stack ("W4 at Checks"), or ""."""
        from console.walkthroughs.screen import WalkthroughScreen

        for stack in internals.screen_stacks(self).values():  # every mode's stack
            for screen in stack:
                if isinstance(screen, WalkthroughScreen):
                    return screen.where
        return ""

    @work(thread=True, exclusive=True, group="status", exit_on_error=False)
    def refresh_status(self) -> None:
        """The site's status (copies, holds, clock) and what this user may do here, read in a
        thread: never a catalog query, nor a request to a server, on the loop."""
        pool = getattr(self.screen, "current_pool", None) if self.screen_stack else None
        checks = [mutating_check(f, pool) for f in dict.fromkeys(MUTATING.values())]
        try:
            st = self.site.status()
            decisions = {c.resource: d for c, d in zip(checks, self.site.may(checks), strict=True)}
        except NotAuthorized as exc:  # the server runs, but this user may read nothing more of it
            self.call_from_thread(self._access_ended, str(exc))
            return
        except FlashpoolError as exc:  # the server stopped, or is restarting: said, and tried again
            self.call_from_thread(self._status_lost, str(exc))
            return
        self.call_from_thread(self._status_read, st, decisions)

    def gone_text(self) -> str:
        """ "server gone 21:04:07 — reconnecting" while the server cannot be reached, else ""."""
        if self.unreachable is None or self.gone_at is None:
            return ""
        return f"server gone {time.strftime('%H:%M:%S', time.localtime(self.gone_at))} — reconnecting"

    def _status_lost(self, why: str) -> None:
        """The server stopped or died: said at once, every changing action greyed, nothing shown
        as live until it is back (the status reading is tried again every tick: it reconnects)."""
        if self.unreachable is None:
            self.gone_at = time.time()
            self.notify(
                f"FPL620E {why}; the console reconnects when a server runs again (flashpool serve)",
                title=SERVER_GONE,
                severity="error",
                timeout=10,
            )
        self.unreachable = why
        self._show_attachment()
        if self.screen_stack:
            self.screen.refresh_bindings()
        self.update_status()

    def _access_ended(self, why: str) -> None:
        """The session ended (a new password, a logout elsewhere) or LIST was withdrawn: nothing
        this console shows may stay on the screen, and no reconnect would bring it back, so it
        ends and says why (a browser's page then offers to log in again)."""
        self.exit(
            return_code=3,
            message=f"FPL622E the console has ended: {why}; log in again, or ask the security administrator",
        )

    def _show_attachment(self) -> None:
        self.sub_title = self._subtitle + (f"  ⚠ {self.gone_text().upper()}" if self.unreachable else "")

    def _status_read(self, st: SiteStatus, decisions: dict[str, Decision]) -> None:
        if not self.screen_stack:
            return
        back = self.unreachable is not None
        self.status_now = st
        self.unreachable = self.gone_at = None
        if back:  # a server runs again: every screen reads afresh, and "server gone" is taken back
            self._show_attachment()
            internals.withdraw_notifications(self, SERVER_GONE)
            self.notify(f"FPL621I reconnected to the site's server (pid {st.pid})", timeout=5)
            self.post_message(SiteChanged())
            self.screen.refresh_bindings()
            self.load_alerts()
        held = set(st.holds)
        changed = held != self.holds or {k: d.allowed for k, d in decisions.items()} != {
            k: d.allowed for k, d in self.decisions.items()
        }
        self.holds, self.decisions = held, {**self.decisions, **decisions}
        if changed or self.plex != bool(st.hosts):
            self.plex = bool(st.hosts)
            self.screen.refresh_bindings()
        self.update_status()

    def decision(self, action: str) -> Decision | None:
        """What the profiles say of a changing action on the screen's copy pool (None: not read yet)."""
        function = MUTATING.get(action)
        if function is None:
            return None
        pool = getattr(self.screen, "current_pool", None)
        return self.decisions.get(mutating_check(function, pool).resource)

    def denied_here(self) -> list[str]:
        """The changing functions this user may not use on what the screen shows."""
        out = []
        for action in ("backup", "recover", "delete"):
            d = self.decision(action)
            if d is not None and not d.allowed:
                out.append(MUTATING[action].name)
        return out

    # -- drilling in ----------------------------------------------------------------------------
    KEPT_SCREENS = 8

    def open_screen(self, name: str, make: Callable[[], Screen[None]]) -> None:
        """Push a drill-in screen (a pool's detail, a volume), kept for the next visit: going
        back to one resumes it (a reload of its rows) instead of composing and styling a new
        screen. The least recently opened beyond KEPT_SCREENS are let go when not on a stack."""
        self.keep_screen(name, make)
        self.push_screen(name)

    def keep_screen(self, name: str, make: Callable[[], Screen[None]]) -> Screen[None]:
        """The drill-in screen kept under name (made if it is not), now the most recently used."""
        if self.is_screen_installed(name):
            self._kept.remove(name)
        else:
            self.install_screen(make(), name=name)
        self._kept.append(name)
        on_stacks = {id(screen) for stack in internals.screen_stacks(self).values() for screen in stack}
        for old in list(self._kept[: -self.KEPT_SCREENS]):
            if id(self.get_screen(old)) not in on_stacks:
                self.uninstall_screen(old)
                self._kept.remove(old)
        return self.get_screen(name)

    # -- quitting -------------------------------------------------------------------------------
    def in_progress(self) -> list[str]:
        """What quitting would interrupt, each said with what becomes of it."""
        from console.walkthroughs.screen import WalkthroughScreen

        out: list[str] = []
        st = self.status_now
        copies = st.copies if st else 0
        some = f"{copies} background cop{'y' if copies == 1 else 'ies'}"
        if self.unreachable is not None:
            out.append(
                "the site's server is gone: its copies resume where they are when a server starts again "
                "(flashpool serve); nothing copied is lost"
            )
        elif copies and self.site.mode == "server":
            out.append(
                f"{some} go on in the site's server (pid {st.pid if st else '?'}): they finish after you quit; "
                "`flashpool status` shows them"
            )
        elif copies and self.start_engine:
            out.append(
                f"{some} stop now and resume where they are when the site is opened again; nothing copied is "
                "lost, and versions stay RECOVERABLE"
            )
        if st and st.background:
            out.append(
                "a background dump (RETURNCONTROL(FREND)) goes on in the site's server"
                if self.site.mode == "server"
                else "a background dump (RETURNCONTROL(FREND)) is finished first; then the console closes"
            )
        for stack in internals.screen_stacks(self).values():
            for screen in stack:
                if isinstance(screen, WalkthroughScreen):
                    what = (
                        "its command has run; verification and the summary are skipped"
                        if screen.started
                        else "nothing was run"
                    )
                    out.append(f"the walkthrough {screen.where} is abandoned ({what})")
        return out

    async def action_switch_mode(self, mode: str) -> None:
        """`1`-`7` always land on the mode's list: what was opened over it (a pool's detail, a
        volume, a walkthrough, whose transcript is recorded if it ran anything) is closed, so
        that the next key acts on the list the operator sees."""
        from console.walkthroughs.screen import WalkthroughScreen

        if mode != self.current_mode:
            await self.switch_mode(mode)
        while len(self.screen_stack) > 1 and not getattr(self.screen, "IS_MODE_ROOT", False):
            if isinstance(self.screen, WalkthroughScreen) and (self.screen.started or self.screen.commands):
                self.screen.record()
            await self.pop_screen()
        self.update_status()

    @work(exclusive=True, group="quit", exit_on_error=False)
    async def action_leave(self) -> None:
        """q: quit, asking first when copies, a dump or a walkthrough are in progress (q again, in
        that dialog, is the answer: quit)."""
        if isinstance(self.screen, QuitScreen):
            self.pop_screen()  # the dialog's own worker was this one's predecessor (exclusive)
        elif (lines := self.in_progress()) and not await self.push_screen_wait(QuitScreen(lines)):
            return
        if self.site.mode == "embedded" and self.status_now and self.status_now.background:
            self.notify("waiting for the background dump to finish …", timeout=30)
        await self.site.settle()
        self.exit()

    # -- global actions -------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "switch_mode" and parameters == ("hosts",):
            return self.plex  # offered on a site served by an HSMplex only
        if action in MUTATING and (self.read_only or self.unreachable is not None):
            return None  # shown, greyed out (read-only, or no server to run it)
        d = self.decision(action)
        if d is not None and not d.allowed:
            return None  # greyed; the status line says which functions, ? says why
        return True  # under HOLD, b and r open the walkthrough: it shows the hold and offers RELEASE

    @work(exclusive=True, group="command-line", exit_on_error=False)
    async def action_command_line(self) -> None:
        """The names it completes are read in a thread before it opens."""

        def names() -> dict[str, list[str]]:
            try:
                return {
                    "pools": [p.name for p in self.site.pools()],
                    "volumes": [v.volser for v in self.site.volumes()],
                    "datasets": [d.name for d in self.site.datasets()],
                }
            except FlashpoolError:  # the server is gone, or names may not be listed: it opens all the same
                return {"pools": [], "volumes": [], "datasets": []}

        self.push_screen(CommandLine(self.history, await asyncio.to_thread(names)))

    def action_help(self) -> None:
        screen = self.screen
        title = getattr(screen, "TITLE_TEXT", "") or type(screen).__name__
        self.push_screen(HelpScreen(title, getattr(screen, "HELP_TEXT", ""), bindings_of(self, screen)))

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self.update_status()
        self.notify("live updates paused: press p to resume" if self.paused else "live updates resumed", timeout=2)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from palette_commands(self)

    def walkthrough_commands(self) -> Iterable[tuple[str, str, Callable[[], None]]]:
        from console.walkthroughs import ALL

        for w in ALL:
            yield (
                f"Walkthrough {w.id[1:]}: {w.title}",
                w.context.split(".")[0],
                partial(self.start_walkthrough, w.id),
            )

    def start_walkthrough(self, wid: str, **selections: str) -> None:
        from console.walkthroughs import by_id
        from console.walkthroughs.screen import WalkthroughScreen

        if self.read_only:
            self.notify("read-only console: walkthroughs change the site", severity="warning")
            return
        self.push_screen(WalkthroughScreen(by_id(wid)(selections={k: v for k, v in selections.items() if v})))

    def action_walkthroughs(self, pool: str = "", suggested: str = "", version: str = "", why: str = "") -> None:
        """The chooser, always (a key never jumps into a walkthrough and eats the next digit);
        `suggested` is highlighted and, when chosen, gets `version` preselected."""
        from console.walkthroughs.chooser import Chooser

        def chosen(wid: str | None) -> None:
            if wid:
                self.start_walkthrough(wid, pool=pool, version=version if wid == suggested else "")

        self.push_screen(Chooser(suggested, why), chosen)

    def record_walkthrough(self, command: str, rc: int, lines: list[str]) -> None:
        self._mine[_key(command)] += 1
        self.run_worker(self.site.record(Origin.WALKTHROUGH, command, rc, lines), group="record")

    # -- running commands -----------------------------------------------------------------------
    async def run_command(self, text: str, origin: str = Origin.CONSOLE) -> CommandResult:
        """Every action ends here: the same parser, messages and activity log as the CLI."""
        if self.read_only:
            try:
                req = parse_command(text)
            except CommandSyntaxError:
                req = None
            if req is not None and changes_site(req):
                res = CommandResult(text)
                res.add("FPL200I", "THE CONSOLE IS READ-ONLY: COMMANDS THAT CHANGE THE SITE ARE NOT ACCEPTED")
                res.fail(8)
                return res
        self._mine[_key(text)] += 1
        try:
            res = await self.site.command(text, origin)
        except BaseException:
            self._mine[_key(text)] -= 1
            raise
        self.last_rc = res.rc
        self.post_message(SiteChanged())
        self.refresh_status()  # HOLD / RELEASE change what may be offered
        return res

    @work(exclusive=False, group="config", exit_on_error=False)
    async def change_configuration(self, form: ConfigForm) -> None:
        """A configuration change: its fields, the engine's preview, the name typed, then made as
        previewed (console/modals/config_change.py)."""
        if self.read_only:
            self.notify("read-only console: nothing can be changed", severity="warning")
            return
        res = await self.push_screen_wait(ConfigChangeScreen(self.site, form))
        if res is None:
            self.notify("cancelled: nothing was changed", timeout=3)
            return
        self.last_rc = res.rc
        self.post_message(SiteChanged())
        severity: SeverityLevel = "information" if res.rc == 0 else "warning" if res.rc <= 4 else "error"
        last = next((str(m) for m in res.messages if m.id.endswith("E")), str(res.messages[0]) if res.messages else "")
        self.notify(f"RC={res.rc}  {last}", severity=severity, timeout=8)

    def confirm_and_run(self, text: str) -> None:
        self._confirm_and_run(text)

    @work(exclusive=False, group="commands", exit_on_error=False)
    async def _confirm_and_run(self, text: str) -> None:
        if self.read_only:
            self.notify("read-only console: nothing can be changed", severity="warning")
            return
        im = await asyncio.to_thread(self.site.impact, text)
        if im.destructive and not await self.push_screen_wait(ConfirmScreen(im)):
            self.notify("cancelled: nothing was changed", timeout=3)
            return
        res = await self.run_command(text)
        severity: SeverityLevel = "information" if res.rc == 0 else "warning" if res.rc <= 4 else "error"
        last = next((str(m) for m in res.messages if m.id.endswith("E")), str(res.messages[-1]) if res.messages else "")
        self.notify(f"RC={res.rc}  {last}", severity=severity, timeout=6)


def _key(command: str) -> str:
    return " ".join(command.split())


def binding_ids() -> set[str]:
    """Every binding id of the console, for checking a keymap (the ids ? shows)."""
    import console.modals.quit
    import console.modals.sort
    import console.walkthroughs.chooser
    import console.walkthroughs.screen  # noqa: F401 - their bindings count

    def walk(cls: type) -> Iterable[type]:
        yield cls
        subclasses: list[type] = cls.__subclasses__()
        for sub in subclasses:
            yield from walk(sub)

    ids: set[str] = set()
    for cls in walk(DOMNode):
        if cls.__module__.startswith("console."):
            ids |= {b.id for b in getattr(cls, "BINDINGS", []) if isinstance(b, Binding) and b.id}
    return ids


def open_console(
    site_path: str, theme: str | None = None, read_only: bool = False, demo_if_missing: bool = False
) -> int:
    """`flashpool` / `make run`: the console, attached to the site's server. When none runs, one
    is started in the background; it outlives the console (copies go on after `q`) and stops by
    itself once nothing runs and no client is attached (SERVER_LINGER). Only the default site is
    created (as the demo) on first start, never read-only and never where volume images already
    lie: anywhere else a missing catalog is a typo or a lost catalog, not a place to invent a site."""
    import logging
    import sys

    from textual.logging import TextualHandler

    from engine import logs
    from engine.demo import demo_definition, seed_demo
    from engine.errors import FlashpoolError
    from engine.paths import is_site
    from server import process, sockets, wire
    from server.client import RemoteSite

    path = Path(site_path)
    if not sockets.listening(path):
        if not is_site(path):
            images = path.is_dir() and any((path / "volumes").glob("*.img"))
            if not demo_if_missing or read_only or images:
                why = "it holds volume images but no catalog" if images else "it holds no flashpool site"
                print(
                    f"flashpool: {path.resolve()}: {why}; create a site with `flashpool init --demo {site_path}` "
                    f"or `flashpool init --definition FILE {site_path}`",
                    file=sys.stderr,
                )
                return 2
            print(f"flashpool: creating the demo site in {path.resolve()} ...")
            site = Site.create(path, demo_definition())
            try:
                asyncio.run(seed_demo(site))
            finally:
                site.close_files()
        try:
            pid = process.detach(["serve", "--site", str(path), "--linger", str(SERVER_LINGER)], path)
        except FlashpoolError as exc:
            print(f"flashpool: {exc}", file=sys.stderr)
            return 2
        print(f"flashpool: the site's server runs as process {pid}; it goes on after the console closes")
    api = RemoteSite(path, kind=wire.CONSOLE)
    app = FlashpoolApp(api, theme=theme, read_only=read_only)
    textual_log = TextualHandler()  # the engine's log lines in `textual console` too
    logs.attach(textual_log, logging.getLogger("flashpool").level or logging.INFO)
    try:
        app.run()
    finally:
        logs.detach(textual_log)
        api.close_now()
    return 0


#: how long a server the console started waits, with no client attached and nothing running,
#: before it stops by itself
SERVER_LINGER = 120


__all__ = ["FlashpoolApp", "open_console"]
