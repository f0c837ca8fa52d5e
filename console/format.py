"""Cell formatting shared by the screens: words and glyphs carry meaning, colour only helps."""

from __future__ import annotations

import datetime as dt

from rich.text import Text

from engine.command import format_token


def when(ts: float | None) -> str:
    if not ts:
        return "—"
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def bar(percent: float | None, width: int = 10) -> Text:
    if percent is None:
        return Text("—")
    full = round(percent / 100 * width)
    style = "green" if percent >= 100 else "cyan"
    return Text("▓" * full + "░" * (width - full), style=style) + Text(f" {percent:5.1f}%")


def state(word: str) -> Text:
    glyph, style = {
        "RECOVERABLE": ("✔", "green"),
        "FAILED": ("✘", "red"),
        "FCFRRINCOMPLETE": ("▲", "yellow"),
        "NONE": ("·", "dim"),
        "PREPARE": ("…", "cyan"),
        "ALLCOMPLETE": ("✔", "green"),
        "REQUIREDCOMPLETE": ("✔", "yellow"),
        "PARTIAL": ("▲", "yellow"),
        "COPYING": ("⟳", "cyan"),
        "NOCOPY": ("◌", "cyan"),
        "COPY COMPLETE": ("✔", "green"),
        "COMPLETE": ("✔", "green"),
    }.get(word, ("", ""))
    return Text(f"{glyph} {word}".strip(), style=style)


def yes(flag: bool) -> str:
    return "Y" if flag else "N"


def token(raw: bytes) -> str:
    return format_token(raw).strip("'") if raw else ""


def rc(code: int) -> Text:
    return Text(f"{code:>3}", style="green" if code == 0 else "yellow" if code <= 4 else "red")


def eta(out_of_sync: int, rate: float) -> str:
    if not out_of_sync:
        return "done"
    if rate <= 0:
        return "—"
    s = out_of_sync / rate
    return f"{s:.0f}s" if s < 120 else f"{s / 60:.0f}m"


def model(name: str, tracks: int) -> str:
    """3390 model; the small demo volumes (no real model) show as 3390 with their cylinders."""
    return name if name != "TEST" else f"3390·{tracks // 15}c"
