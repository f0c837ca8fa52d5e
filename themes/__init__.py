"""The console's themes. Domain colours (track map, states) are theme variables, so TCSS never
names a literal colour and every theme, built-in ones included, can colour them."""

from __future__ import annotations

from textual.theme import Theme

TRACK_VARIABLES = ("track-uncopied", "track-changed", "track-copied", "state-ok", "state-bad", "state-busy")
#: text drawn in these colours must meet WCAG AA (4.5:1) on the background, surface and panel
TEXT_COLOURS = (
    "foreground",
    "text-muted",
    "state-ok",
    "state-bad",
    "state-busy",
    "success",
    "warning",
    "error",
    "primary",
    "secondary",
    "accent",
)

GREEN_SCREEN = Theme(
    name="3270",
    primary="#33ff33",
    secondary="#40e0d0",
    accent="#ffff55",
    foreground="#33ff33",
    background="#000000",
    surface="#000000",
    panel="#002200",
    success="#33ff33",
    warning="#ffff55",
    error="#ff5555",
    boost="#003300",
    dark=True,
    variables={
        "track-uncopied": "#ff5555",
        "track-changed": "#ffff55",
        "track-copied": "#33ff33",
        "state-ok": "#33ff33",
        "state-bad": "#ff5555",
        "state-busy": "#40e0d0",
        "footer-key-foreground": "#ffffff",
        "block-cursor-background": "#40e0d0",
        "block-cursor-foreground": "#000000",
        "input-cursor-background": "#33ff33",
    },
)

DARK = Theme(
    name="flashpool-dark",
    primary="#4f9fdf",
    secondary="#7fb8a4",
    accent="#e0a84f",
    foreground="#d8dee9",
    background="#16191f",
    surface="#1e222a",
    panel="#262b35",
    success="#7fb87f",
    warning="#e0c04f",
    error="#e67070",
    dark=True,
    variables={
        "track-uncopied": "#e06c6c",
        "track-changed": "#e0c04f",
        "track-copied": "#3f6f5f",
        "state-ok": "#7fb87f",
        "state-bad": "#e67070",
        "state-busy": "#4f9fdf",
    },
)

LIGHT = Theme(
    name="flashpool-light",
    primary="#1f5fa0",
    secondary="#1c7060",
    accent="#945300",
    foreground="#1b1f24",
    background="#fafaf7",
    surface="#f0f0ea",
    panel="#e3e3da",
    success="#1c7020",
    warning="#885800",
    error="#b02a2a",
    dark=False,
    variables={
        "track-uncopied": "#b02a2a",
        "track-changed": "#885800",
        "track-copied": "#9fcfa0",
        "state-ok": "#1c7020",
        "state-bad": "#b02a2a",
        "state-busy": "#1f5fa0",
    },
)

HIGH_CONTRAST = Theme(
    name="high-contrast",
    primary="#ffffff",
    secondary="#00ffff",
    accent="#ffff00",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#1a1a1a",
    success="#00ff00",
    warning="#ffff00",
    error="#ff3b3b",
    dark=True,
    variables={
        "track-uncopied": "#ff0000",
        "track-changed": "#ffff00",
        "track-copied": "#00ff00",
        "state-ok": "#00ff00",
        "state-bad": "#ff3b3b",
        "state-busy": "#00ffff",
        "block-cursor-background": "#ffff00",
        "block-cursor-foreground": "#000000",
    },
)

ALL_THEMES: tuple[Theme, ...] = (GREEN_SCREEN, DARK, LIGHT, HIGH_CONTRAST)
DEFAULT_THEME = DARK.name
TRACK_DEFAULTS = {
    "track-uncopied": "ansi_bright_red",
    "track-changed": "ansi_bright_yellow",
    "track-copied": "ansi_green",
    "state-ok": "ansi_green",
    "state-bad": "ansi_bright_red",
    "state-busy": "ansi_bright_cyan",
}
