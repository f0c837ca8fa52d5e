"""Cell formatting shared by the screens: words and glyphs carry meaning, colour only helps, and
the colours are the theme's (its state-ok / state-bad / state-busy / warning variables, which the
theme test holds to WCAG AA), not terminal ANSI names that a light background washes out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from rich.text import Text

from engine.command import format_token
from engine.flashcopy.relationship import RelState
from engine.states import ClassState, DasdState, DumpState

#: role -> colour, from the active theme (`use_theme`); the defaults are the dark theme's
PALETTE: dict[str, str] = {"ok": "#7fb87f", "bad": "#e67070", "busy": "#4f9fdf", "warn": "#e0c04f", "muted": "dim"}


def use_theme(variables: Mapping[str, str]) -> None:
    """Called when the theme changes; rows made afterwards carry its colours."""
    for role, name in (("ok", "state-ok"), ("bad", "state-bad"), ("busy", "state-busy"), ("warn", "warning")):
        if variables.get(name, "").startswith("#"):
            PALETTE[role] = variables[name]


def style(role: str, bold: bool = False) -> str:
    return ("bold " if bold else "") + PALETTE[role]


def when(ts: float | None) -> str:
    if not ts:
        return "—"
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def bar(percent: float | None, width: int = 10) -> Text:
    if percent is None:
        return Text("—")
    full = round(percent / 100 * width)
    return Text("▓" * full + "░" * (width - full), style=style("ok" if percent >= 100 else "busy")) + Text(
        f" {percent:5.1f}%"
    )


_GLYPHS: dict[object, tuple[str, str]] = {
    DasdState.RECOVERABLE: ("✔", "ok"),
    DasdState.DUMPONLY: ("◌", "warn"),  # a NOCOPY copy kept to be dumped: not a recovery point
    DasdState.FAILED: ("✘", "bad"),
    DasdState.FCFRRINCOMPLETE: ("▲", "warn"),
    DasdState.NONE: ("·", "muted"),
    DasdState.PREPARE: ("…", "busy"),
    DumpState.ALLCOMPLETE: ("✔", "ok"),
    DumpState.REQUIREDCOMPLETE: ("✔", "warn"),
    DumpState.PARTIAL: ("▲", "warn"),
    ClassState.COMPLETE: ("✔", "ok"),
    ClassState.FAILED: ("✘", "bad"),
    RelState.COPYING: ("⟳", "busy"),
    RelState.NOCOPY: ("◌", "busy"),
    RelState.COPY_COMPLETE: ("✔", "ok"),
}


def state(word: DasdState | DumpState | ClassState | RelState) -> Text:
    """A state word the engine answered, with its glyph and colour (it is shown, never judged)."""
    glyph, role = _GLYPHS.get(word, ("", ""))
    text = word.value if isinstance(word, RelState) else str(word)
    return Text(f"{glyph} {text}".strip(), style=style(role) if role else "")


def yes(flag: bool) -> str:
    return "Y" if flag else "N"


def token(raw: bytes) -> str:
    return format_token(raw).strip("'") if raw else ""


def rc(code: int) -> Text:
    return Text(f"{code:>3}", style=rc_style(code))


def rc_style(code: int) -> str:
    return style("ok") if code == 0 else style("warn") if code <= 4 else style("bad", bold=True)


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
