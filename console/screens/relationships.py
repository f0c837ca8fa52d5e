"""Every active FlashCopy relationship, as a table or as cascade trees (t)."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Sparkline, Tree
from textual.widgets.tree import TreeNode

from console import format as fmt
from console.screens.base import ListScreen
from console.widgets.live_label import LiveLabel
from console.widgets.live_table import Cells, Column
from engine.flashcopy import RelationshipInfo


class RelationshipsScreen(ListScreen):
    IS_MODE_ROOT = True
    TITLE_TEXT = "FlashCopy relationships"
    CRUMB = "Relationships"
    EMPTY_TEXT = "No FlashCopy relationship is active."
    HELP_TEXT = (
        "Every active relationship: source → target, extent, COPY or NOCOPY, persistent (P), "
        "incremental (I), reversed (R), tracks still out of sync, percent copied, rate and time left. "
        "t shows the cascades as trees (a target that is also a source: A → B → C)."
    )
    COLUMNS = [
        Column("Rel", "id", 5),
        Column("Source → target", "pair", 17),
        Column("Extent", "extent", 14, drop=5),
        Column("Mode", "mode", 6, drop=2),
        Column("Flags", "flags", 5, drop=4),
        Column("State", "state", 16),
        Column("Out of sync", "oos", 11, drop=6),
        Column("Copied", "pct", 18),
        Column("Rate", "rate", 9, drop=3),
        Column("ETA", "eta", 6, drop=1),
        Column("Made by", "label", 22, grow=True, min_width=12),
    ]
    BINDINGS = [Binding("t", "toggle_tree", "Tree", id="relationships.tree")]

    def __init__(self) -> None:
        super().__init__()
        self._last: dict[int, tuple[float, int]] = {}

    def compose_top(self) -> ComposeResult:
        with Horizontal(id="throughput"):
            yield LiveLabel("", id="throughput-text")
            yield Sparkline([], id="throughput-spark")

    def compose_bottom(self) -> ComposeResult:
        yield Tree("cascades", id="cascades")

    def show_throughput(self) -> None:
        """The background copy as a whole: tracks a second over the last minutes, and when it ends."""
        history = list(self.fpapp.throughput)
        spark = self.query_one("#throughput-spark", Sparkline)
        spark.data = history or [0.0]
        copying = [r for r in getattr(self, "_rels", []) if r.out_of_sync and r.mode.value == "COPY"]
        left = sum(r.out_of_sync for r in copying)
        rate = history[-1] if history else 0.0
        text = (
            f"background copy: {len(copying)} running · {rate:,.1f} tracks/s · {left:,} tracks left · "
            f"ETA {fmt.eta(left, rate)}"
            if copying
            else "background copy: nothing running"
        )
        self.query_one("#throughput-text", LiveLabel).show(text)

    def on_mount(self) -> None:  # Textual calls ListScreen.on_mount too (each class's handler once)
        self.query_one("#cascades", Tree).display = False

    def load(self) -> list[tuple[str, Cells]]:
        rels = self.fpapp.site.relationships()
        self._rels = rels
        now = time.monotonic()
        rows = []
        for r in rels:
            t0, o0 = self._last.get(r.id, (now, r.out_of_sync))
            rate = (o0 - r.out_of_sync) / (now - t0) if now > t0 else 0.0
            self._last[r.id] = (now, r.out_of_sync)
            flags = ("P" if r.persistent else "") + ("I" if r.incremental else "") + ("R" if r.reversed else "")
            rows.append(
                (
                    str(r.id),
                    (
                        str(r.id),
                        f"{r.source} → {r.target}",
                        f"{r.source_start}-{r.source_start + r.length - 1}",
                        r.mode.value,
                        flags or "—",
                        fmt.state(r.state),
                        f"{r.out_of_sync:,}",
                        fmt.bar(r.percent_complete, 8),
                        f"{rate:,.0f}/s" if rate > 0 else "—",
                        fmt.eta(r.out_of_sync, rate),
                        r.label or "—",
                    ),
                )
            )
        return rows

    def after_show(self) -> None:
        self.show_throughput()
        tree = self.query_one("#cascades", Tree)
        if not tree.display:
            return
        tree.clear()
        children: dict[str, list[RelationshipInfo]] = {}
        targets = set()
        for r in self._rels:
            children.setdefault(r.source, []).append(r)
            targets.add(r.target)
        roots = sorted(v for v in children if v not in targets) or sorted(children)

        def add(node: TreeNode[None], vol: str, depth: int) -> None:
            for r in children.get(vol, []):
                label = f"{r.target}  (rel {r.id}, {r.percent_complete:.0f}% copied, {r.mode.value})"
                child = node.add(label, expand=True)
                if depth < 8:
                    add(child, r.target, depth + 1)

        for root in roots:
            add(tree.root.add(root, expand=True), root, 0)
        tree.root.expand()

    def action_toggle_tree(self) -> None:
        tree = self.query_one("#cascades", Tree)
        tree.display = not tree.display
        self.table.display = not tree.display
        self.after_show()
