"""One volume: its data sets, its relationships, and a live track map of what is still copying."""

from __future__ import annotations

from textual.app import ComposeResult

from console import format as fmt
from console.screens.base import ListScreen
from console.widgets.live_label import LiveLabel
from console.widgets.live_table import Cells, Column
from console.widgets.track_map import TrackMap


class VolumeScreen(ListScreen):
    TITLE_TEXT = "Volume"
    EMPTY_TEXT = "No FlashCopy relationship uses this volume."
    HELP_TEXT = (
        "The track map shows the volume in bands of tracks: · in sync, ░▒▓█ the share of tracks still "
        "to copy onto this volume (red: it is a target) or off it (yellow: a source whose copy runs). "
        "Watch a background copy or a fast reverse restore drain it."
    )
    COLUMNS = [
        Column("Rel", "id", 5),
        Column("Role", "role", 7),
        Column("Source → target", "pair", 18),
        Column("Extent", "extent", 16, drop=3),
        Column("Mode", "mode", 7, drop=2),
        Column("State", "state", 16),
        Column("Out of sync", "oos", 11, drop=1),
        Column("Copied", "pct", 18),
    ]

    def __init__(self, volser: str) -> None:
        super().__init__()
        self.volser = volser

    def compose_top(self) -> ComposeResult:
        yield LiveLabel("", id="volume-info")
        yield TrackMap(rows=6, id="trackmap")

    def crumb(self) -> str:
        return self.volser

    def load(self) -> list[tuple[str, Cells]]:
        site = self.fpapp.site
        self._vol = next((v for v in site.volumes() if v.volser == self.volser), None)
        usable = self._vol is not None and self._vol.available
        self._sets = [d.name for d in site.datasets_on([self.volser])] if usable else []
        self._bands = list(site.band_map(self.volser, 600).bands) if usable else []
        rows = []
        for r in site.relationships(self.volser):
            role = "target" if r.target == self.volser else "source"
            ext = f"{r.source_start}-{r.source_start + r.length - 1}"
            rows.append(
                (
                    str(r.id),
                    (
                        str(r.id),
                        role,
                        f"{r.source} → {r.target}",
                        ext,
                        r.mode.value,
                        fmt.state(r.state),
                        f"{r.out_of_sync:,}",
                        fmt.bar(r.percent_complete, 8),
                    ),
                )
            )
        return rows

    def after_show(self) -> None:
        v = self._vol
        if v is not None:
            text = (
                f"{fmt.model(v.model, v.tracks)} · {v.tracks:,} tracks · {v.capacity / 1e6:,.1f} MB · group {v.storage_group or '—'} · "
                f"{v.used_tracks:,} tracks in data sets: {' '.join(self._sets[:6]) or 'none'}"
                + (" ..." if len(self._sets) > 6 else "")
            )
            if not v.available:
                text += f" · ✘ {v.why_unavailable}"
            self.query_one("#volume-info", LiveLabel).show(text)
        self.query_one(TrackMap).bands = self._bands

    def action_copy_name(self) -> None:
        self.app.copy_to_clipboard(self.volser)
        self.app.notify(f"copied {self.volser}", timeout=2)
