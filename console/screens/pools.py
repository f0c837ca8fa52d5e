"""Copy pools: the console's first screen."""

from __future__ import annotations

from textual import work
from textual.binding import Binding

from console import format as fmt
from console.screens.base import DrillIn, ListScreen
from console.walkthroughs import FOR_RECOVERY
from console.widgets.live_table import Cells, Column, LiveTable
from engine.views import PoolSummary


class PoolsScreen(ListScreen):
    IS_MODE_ROOT = True
    TITLE_TEXT = "Copy pools"
    CRUMB = "Pools"
    EMPTY_TEXT = "No copy pools are defined. Create a site with `flashpool init --definition FILE`."
    HELP_TEXT = (
        "Every SMS copy pool of the site: its storage groups and volumes, how many versions are "
        "valid of the VERSIONS kept, the newest backup, whether fast reverse restore is allowed and "
        "possible now, and the background copy still running. Enter opens a pool."
    )
    COLUMNS = [
        Column("Copy pool", "name", 13),
        Column("Storage groups", "groups", 18, drop=3, grow=True, min_width=18),
        Column("Vols", "vols", 4, drop=2),
        Column("Valid/Kept", "valid", 10),
        Column("Newest backup", "newest", 19, drop=1),
        Column("FRR", "frr", 11),
        Column("Inc", "inc", 3),
        Column("Dump classes", "dumps", 15, grow=True, min_width=12),
        Column("Background copy", "copy", 16),
    ]
    BINDINGS = [
        Binding("enter", "open", "Open", id="pools.open"),
        Binding("b", "backup", "Backup", id="pools.backup"),
        Binding("r", "recover", "Recover…", id="pools.recover"),
    ]

    def load(self) -> list[tuple[str, Cells]]:
        rows = []
        for p in self.fpapp.site.pools():
            frr = "—" if not p.frr_allowed else ("✔ eligible" if p.frr_eligible else "allowed")
            rows.append(
                (
                    p.name,
                    (
                        p.name,
                        " ".join(p.storage_groups),
                        str(p.volumes),
                        f"{p.valid_versions}/{p.versions_kept}",
                        fmt.when(p.newest_backup),
                        frr,
                        fmt.yes(p.incremental),
                        " ".join(p.dump_classes) or "—",
                        fmt.bar(p.percent, 8) if p.copying else "—",
                    ),
                )
            )
        return rows

    @property
    def current_pool(self) -> str | None:
        """The pool under the cursor; None while the screen has no table (being composed, or
        torn down while another screen mounts and asks)."""
        tables = self.query("#main-table").results(LiveTable) if self.is_mounted else iter(())
        table = next(tables, None)
        return table.selected_key if table is not None else None

    def drill_in(self) -> DrillIn | None:
        from console.screens.pool_detail import PoolDetailScreen

        pool = self.table.selected_key
        return (f"pool:{pool}", lambda: PoolDetailScreen(pool)) if pool else None

    def action_backup(self) -> None:
        """Walkthrough 7 for the selected pool."""
        self.fpapp.start_walkthrough("W7", pool=self.table.selected_key or "")

    def action_recover(self) -> None:
        """The walkthroughs for the selected pool, with the one highlighted that runs the way
        the engine says FRRECOV would recover it now (read afresh: a copy may have ended since
        the rows were read)."""
        self.suggest(self.table.selected_key or "")

    @work(thread=True, exclusive=True, group="suggest", exit_on_error=False)
    def suggest(self, pool: str) -> None:
        try:
            p = next(iter(self.fpapp.site.pools(only=pool)), None) if pool else None
        except Exception:  # noqa: BLE001 - unreadable now: the chooser without a suggestion
            p = None
        self.app.call_from_thread(self._choose, pool, p)

    def _choose(self, pool: str, p: PoolSummary | None) -> None:
        wid = FOR_RECOVERY.get(p.recovery, "") if p is not None else ""
        version = str(p.recovery_version) if p is not None and p.recovery_version else ""
        why = f"fits v{p.recovery_version:03d}" if wid and p is not None and p.recovery_version else ""
        self.fpapp.action_walkthroughs(pool, wid, version, why=why)
