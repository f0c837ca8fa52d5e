"""Storage groups and their volumes."""

from __future__ import annotations

from textual.binding import Binding

from console import format as fmt
from console.screens.base import DrillIn, ListScreen
from console.widgets.live_table import Cells, Column


class GroupsScreen(ListScreen):
    IS_MODE_ROOT = True
    TITLE_TEXT = "Storage groups and volumes"
    CRUMB = "Groups"
    EMPTY_TEXT = "No volumes are defined."
    HELP_TEXT = (
        "Every volume with its storage group (POOL groups hold data, COPY POOL BACKUP groups hold "
        "targets), 3390 model, capacity, tracks used by data sets and FlashCopy relationships. "
        "Enter opens the volume's live track map."
    )
    COLUMNS = [
        Column("Volume", "volser", 7),
        Column("Group", "group", 9),
        Column("Type", "type", 15),
        Column("Copy pools", "pools", 18, drop=3, grow=True, min_width=18),
        Column("Model", "model", 8, drop=1),
        Column("Tracks", "tracks", 9),
        Column("Capacity", "cap", 10, drop=2),
        Column("Used", "used", 7),
        Column("Rels", "rels", 4),
        Column("Status", "status", 12),
    ]
    BINDINGS = [Binding("enter", "open", "Open", id="groups.open")]

    def load(self) -> list[tuple[str, Cells]]:
        rows = []
        storage = self.fpapp.site.storage()
        for g in storage.groups:
            for v in g.volumes:
                kind = "POOL" if g.type == "POOL" else "COPY POOL BACKUP"
                status = "online" if v.online and v.available else ("offline" if not v.online else "✘ unavailable")
                rows.append(
                    (
                        v.volser,
                        (
                            v.volser,
                            g.name,
                            kind,
                            " ".join(g.copy_pools) or (f"→ {g.backup_group}" if g.backup_group else "—"),
                            fmt.model(v.model, v.tracks),
                            f"{v.tracks:,}",
                            f"{v.capacity / 1e6:,.1f} MB",
                            f"{100 * v.used_tracks / max(v.tracks, 1):.0f}%",
                            str(v.relationships),
                            status,
                        ),
                    )
                )
        for v in storage.ungrouped:
            rows.append(
                (
                    v.volser,
                    (
                        v.volser,
                        "—",
                        "—",
                        "—",
                        fmt.model(v.model, v.tracks),
                        f"{v.tracks:,}",
                        f"{v.capacity / 1e6:,.1f} MB",
                        f"{100 * v.used_tracks / max(v.tracks, 1):.0f}%",
                        str(v.relationships),
                        "online",
                    ),
                )
            )
        return rows

    def drill_in(self) -> DrillIn | None:
        from console.screens.volume import VolumeScreen

        volser = self.table.selected_key
        return (f"volume:{volser}", lambda: VolumeScreen(volser)) if volser else None
