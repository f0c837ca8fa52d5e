"""One copy pool: its versions and, for the selected version, its volume pairs with progress."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Label

from console import format as fmt
from console.screens.base import ListScreen
from console.walkthroughs import FOR_RECOVERY
from console.widgets.live_label import LiveLabel
from console.widgets.live_table import Cells, Column, LiveTable
from console.widgets.timeline import RecoveryTimeline
from engine.command import Action, FrBackup, FrDelete, command_text
from engine.views import PairView, VersionView


class PoolDetailScreen(ListScreen):
    TITLE_TEXT = "Copy pool"
    EMPTY_TEXT = "No versions yet: press b to take the first backup."
    HELP_TEXT = (
        "The versions of one copy pool, newest first (generation 0), with their DASD and dump states, "
        "and the source-target volume pairs of the selected version with their background copy."
    )
    COLUMNS = [
        Column("Version", "version", 7),
        Column("Gen", "gen", 4, drop=3),
        Column("Token", "token", 12, drop=2),
        Column("Time", "time", 19),  # the point in time is what a version is: never dropped
        Column("DASD state", "dasd", 18),
        Column("Inc", "inc", 3, drop=1),  # the timeline marks incremental versions too (↻)
        Column("FRR", "frr", 10),
        Column("Dumps", "dumps", 22, grow=True, min_width=12),
    ]
    PAIR_COLUMNS = [
        Column("Source", "source", 8),
        Column("Target", "target", 8),
        Column("Group", "group", 9, drop=1),
        Column("State", "state", 16),
        Column("Out of sync", "oos", 11),
        Column("Copied", "pct", 18),
    ]
    BINDINGS = [
        Binding("b", "backup", "Backup", id="pool.backup"),
        Binding("r", "recover", "Recover…", id="pool.recover"),
        Binding("w", "withdraw", "Withdraw", id="pool.withdraw"),
        Binding("d", "delete", "Delete", id="pool.delete"),
    ]

    def __init__(self, pool: str) -> None:
        super().__init__()
        self.pool = pool
        self.versions: dict[str, VersionView] = {}
        self._selected: str | None = None  # the version the cursor is on (set on the loop)
        self._pairs: tuple[str, list[PairView]] | None = None  # whose pairs are shown, and them

    _clock = 0.0  # before the first status reading: the timeline is drawn again with the next

    def compose_top(self) -> ComposeResult:
        yield LiveLabel("", id="pool-info")
        yield RecoveryTimeline(id="timeline")

    def compose_bottom(self) -> ComposeResult:
        yield Label("Volume pairs of the selected version", id="pairs-title")
        yield LiveTable(self.PAIR_COLUMNS, id="pairs")

    def crumb(self) -> str:
        v = self.versions.get(self.table.selected_key or "") if self.is_mounted else None
        return self.pool + (f" › v{v.version:03d}" if v else "")

    def load(self) -> list[tuple[str, Cells]]:
        site = self.fpapp.site
        summary = next(iter(site.pools(only=self.pool)), None)
        self._summary = summary
        vers = site.versions(self.pool)
        self.versions = {str(v.id): v for v in vers}
        # the pairs of the version the cursor is on (or will be: the first) come with the rows
        key = self._selected if self._selected in self.versions else (str(vers[0].id) if vers else None)
        self._pairs = (key, site.pairs(self.pool, int(key))) if key is not None else None
        rows = []
        for v in vers:
            frr = "—" if not v.fcfrr else ("eligible" if v.frr_eligible else "no longer")
            dumps = " ".join(f"{c}:{s[:4]}" for c, s in v.dump_copies) or "—"
            rows.append(
                (
                    str(v.id),
                    (
                        f"{v.version:03d}" if v.is_backup else "PREP",
                        "" if v.generation is None else str(v.generation),
                        fmt.token(v.token),
                        fmt.when(v.created_at),
                        fmt.state(v.dasd_state),
                        fmt.yes(v.incremental),
                        frr,
                        dumps,
                    ),
                )
            )
        return rows

    def after_show(self) -> None:
        st = self.fpapp.status_now
        self.query_one(RecoveryTimeline).show(list(self.versions.values()), st.clock if st else self._clock)
        s = getattr(self, "_summary", None)
        if s is not None:
            self.query_one("#pool-info", LiveLabel).show(
                f"groups {' '.join(s.storage_groups)} · {s.volumes} volumes · VERSIONS={s.versions_kept} · "
                f"FRR {'allowed' if s.frr_allowed else 'not allowed'} · dump classes {' '.join(s.dump_classes) or 'none'}"
                + (f" · {s.description}" if s.description else "")
            )
        self.show_pairs()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "main-table":
            if event.row_key is not None:  # a filter that hides every version highlights no row
                self._selected = event.row_key.value
            self.show_pairs()

    def show_pairs(self) -> None:
        """The selected version's pairs: shown at once when they came with the rows, else read
        in a worker (the rows shown stay until they arrive)."""
        self.show_breadcrumbs()
        key = self.table.selected_key
        if key is None:
            self.query_one("#pairs", LiveTable).reconcile([])
        elif self._pairs is not None and self._pairs[0] == key:
            self._show_pairs(self.versions.get(key), self._pairs[1])
        else:
            self.load_pairs(key)

    @work(thread=True, exclusive=True, group="pairs", exit_on_error=False)
    def load_pairs(self, key: str) -> None:
        try:
            pairs = self.fpapp.site.pairs(self.pool, int(key))
        except Exception as exc:  # said, as a list's rows are
            self.app.call_from_thread(self._pairs_failed, str(exc) or type(exc).__name__)
            raise
        self.app.call_from_thread(self._pairs_loaded, key, pairs)

    def _pairs_failed(self, why: str) -> None:
        """Not the previous version's pairs under this version's name: none, and why."""
        self.query_one("#pairs", LiveTable).reconcile([])
        self._load_failed(why)

    def _pairs_loaded(self, key: str, pairs: list[PairView]) -> None:
        self._pairs = (key, pairs)
        if key == self.table.selected_key:
            self._show_pairs(self.versions.get(key), pairs)

    def _show_pairs(self, v: VersionView | None, pairs: list[PairView]) -> None:
        self.query_one("#pairs-title", Label).update(self._pairs_title(v))
        rows = []
        for p in pairs:
            rel = p.relationship
            state: str | Text
            if rel is None:
                state, oos = "no relationship", "—"
            else:
                state = "⟲ restoring" if p.restoring else fmt.state(rel.state)
                oos = f"{rel.out_of_sync:,}"
            rows.append((p.source, (p.source, p.target, p.storage_group, state, oos, fmt.bar(p.percent_copied, 8))))
        self.query_one("#pairs", LiveTable).reconcile(rows)

    @staticmethod
    def _pairs_title(v: VersionView | None) -> Text:
        """Whose pairs these are, and why the version failed (the engine's reason) when it did."""
        if v is None:
            return Text("Volume pairs of the selected version")
        title = Text("Volume pairs of " + (f"version {v.version:03d}" if v.is_backup else "the PREPARE entry"))
        if v.why_failed:
            title.append(" — ")
            title.append_text(fmt.state(v.dasd_state))
            title.append(f": {v.why_failed}" + (f" ({fmt.when(v.failed_at)})" if v.failed_at else ""))
        if v.only_recovery_point:
            title.append(" — the pool's only recovery point", style=fmt.style("warn", bold=True))
        return title

    @property
    def current_pool(self) -> str | None:
        return self.pool

    @property
    def selected_version(self) -> VersionView | None:
        return self.versions.get(self.table.selected_key or "")

    def action_backup(self) -> None:
        self.fpapp.start_walkthrough("W7", pool=self.pool)

    def action_recover(self) -> None:
        """The chooser, with the walkthrough for how FRRECOV would recover the selected version
        (the engine's answer) highlighted, that version preselected."""
        v = self.selected_version
        wid = FOR_RECOVERY.get(v.recovery, "") if v is not None else ""
        if v is None or not wid:
            self.fpapp.action_walkthroughs(pool=self.pool)
        else:
            self.fpapp.action_walkthroughs(self.pool, wid, str(v.version), why=f"fits v{v.version:03d}")

    def action_withdraw(self) -> None:
        """WITHDRAW acts on the newest valid version only (DFSMShsm's rule): with the cursor on
        another one, say so instead of withdrawing a version the operator did not point at."""
        v = self.selected_version
        newest = next((x for x in self.versions.values() if x.recoverable), None)
        if v is not None and newest is not None and v.version != newest.version:
            self.app.notify(
                f"WITHDRAW acts on the newest valid version ({newest.version:03d}), not on {v.version:03d}; "
                f"d deletes {v.version:03d} (FRDELETE)",
                severity="warning",
                timeout=6,
            )
            return
        self.fpapp.confirm_and_run(command_text(FrBackup(copypool=self.pool, action=Action.WITHDRAW)))

    def action_delete(self) -> None:
        v = self.selected_version
        if v and v.is_backup:
            self.fpapp.confirm_and_run(command_text(FrDelete(copypool=self.pool, versions=(v.version,), scope="BOTH")))

    def action_copy_name(self) -> None:
        self.app.copy_to_clipboard(self.pool)
        self.app.notify(f"copied {self.pool}", timeout=2)
