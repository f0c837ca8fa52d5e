"""A copy pool's recovery points on a time axis: "what can I recover to, and from where" at a
glance. Each version is a mark at its point in time — its glyph says what it is good for, the
colour only repeats it — with its number under it; the last line names the newest recoverable
point and the age of the oldest, counted from DASD and from tape."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from console import format as fmt
from engine.views import VersionView

#: glyph, role, meaning — the legend prints the same table
MARKS = (
    ("⚡", "busy", "FRR now"),
    ("✔", "ok", "DASD"),
    ("▣", "warn", "tape only"),
    ("✘", "bad", "invalid"),
)


@dataclass(frozen=True, slots=True)
class Point:
    version: int
    at: float
    glyph: str
    role: str
    dasd: bool
    tape: bool
    incremental: bool


def point(v: VersionView) -> Point:
    dasd, tape = v.recoverable, v.on_tape
    if dasd and v.frr_eligible:
        glyph, role = MARKS[0][:2]
    elif dasd:
        glyph, role = MARKS[1][:2]
    elif tape:
        glyph, role = MARKS[2][:2]
    else:
        glyph, role = MARKS[3][:2]
    return Point(v.version, v.created_at, glyph, role, dasd, tape, v.incremental)


def age(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 3600:
        return f"{s // 60}m"
    if s < 86_400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86_400}d {s % 86_400 // 3600}h"


class RecoveryTimeline(Widget):
    DEFAULT_CSS = """
    RecoveryTimeline { height: 5; border: round $secondary; padding: 0 1; }
    """
    points: reactive[tuple[Point, ...]] = reactive(tuple, layout=False)
    now: reactive[float] = reactive(0.0)

    def show(self, versions: Sequence[VersionView], now: float) -> None:
        self.points = tuple(point(v) for v in versions if v.created_at)
        self.now = now
        self.border_title = "Recovery points"
        self.border_subtitle = "  ".join(f"{g} {what}" for g, _, what in MARKS) + "  ↻ incremental"

    def render(self) -> Text:
        width = max(self.size.width, 20)
        pts = sorted(self.points, key=lambda p: p.at)
        if not pts:
            return Text("No backup yet: nothing to recover to. b takes one.")
        axis = ["─"] * width
        styles: list[str] = ["dim"] * width
        labels = [" "] * width
        axis[-1], labels[-3:] = "┤", list("now")
        for p, x in zip(pts, self.columns(pts, width - 4), strict=True):
            axis[x], styles[x] = p.glyph, fmt.style(p.role, bold=True)
            if p.incremental:
                axis[x + 1], styles[x + 1] = "↻", fmt.style(p.role)
            labels[x : x + 3] = list(f"{p.version:03d}")
        line = Text()
        for ch, st in zip(axis, styles, strict=True):
            line.append(ch, style=st)
        line.append("\n" + "".join(labels) + "\n")
        line.append_text(self.summary(pts))
        return line

    def columns(self, pts: list[Point], width: int) -> list[int]:
        """Where each point goes: by its time between the oldest and now, but never closer than
        a label's width to its neighbour (backups minutes apart would otherwise sit on one cell)."""
        gap = 4
        if len(pts) * gap > width:  # more versions than room: evenly, in order
            return [min(width - 3, i * max(width - 3, 1) // max(len(pts) - 1, 1)) for i in range(len(pts))]
        start, end = pts[0].at, max(self.now, pts[-1].at)
        span = max(end - start, 1.0)
        xs = [int((p.at - start) / span * (width - 3)) for p in pts]
        for i in range(1, len(xs)):  # push right to keep the gap ...
            xs[i] = max(xs[i], xs[i - 1] + gap)
        xs[-1] = min(xs[-1], width - 3)
        for i in range(len(xs) - 2, -1, -1):  # ... and back left where that ran off the end
            xs[i] = min(xs[i], xs[i + 1] - gap)
        return xs

    def summary(self, pts: list[Point]) -> Text:
        dasd = [p for p in pts if p.dasd]
        tape = [p for p in pts if p.tape]
        usable = [p for p in pts if p.dasd or p.tape]
        if not usable:
            return Text("nothing recoverable: every version is invalid", style=fmt.style("bad", bold=True))
        newest, oldest = usable[-1], usable[0]
        where = "DASD" if newest.dasd else "tape"
        return Text(
            f"newest point v{newest.version:03d} {fmt.when(newest.at)} ({age(self.now - newest.at)} ago, {where})"
            f" · oldest v{oldest.version:03d} {age(self.now - oldest.at)} ago"
            f" · {len(dasd)} on DASD, {len(tape)} on tape"
        )
