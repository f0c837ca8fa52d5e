"""Command palette (ctrl+p): every screen, action, theme and walkthrough, each with its key."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import SystemCommand

if TYPE_CHECKING:
    from console.app import FlashpoolApp


def palette_commands(app: FlashpoolApp) -> Iterable[SystemCommand]:
    from themes import ALL_THEMES

    yield SystemCommand(
        "Copy pools  [1]", "The copy pools, their versions and live copies", lambda: app.switch_mode("pools")
    )
    yield SystemCommand(
        "Storage groups and volumes  [2]", "Groups, volumes, track maps", lambda: app.switch_mode("groups")
    )
    yield SystemCommand(
        "Relationships  [3]", "Every active FlashCopy relationship", lambda: app.switch_mode("relationships")
    )
    yield SystemCommand("Activity log  [4]", "Every command with its messages", lambda: app.switch_mode("activity"))
    yield SystemCommand(
        "Alerts  [5]",
        "Copies and dumps that completed, parked copies, closing windows",
        lambda: app.switch_mode("alerts"),
    )
    yield SystemCommand(
        "Configuration  [6]",
        "Storage groups, volumes, copy pools, dump classes: previewed changes",
        lambda: app.switch_mode("config"),
    )
    yield SystemCommand("Command line  [:]", "Enter an HSM command", app.action_command_line)
    yield SystemCommand(
        "Pause / resume live updates  [p]", "Freeze the screens while you read", app.action_toggle_pause
    )
    yield SystemCommand("Help for this screen  [?]", "Keys and what they do", app.action_help)
    for theme in ALL_THEMES:
        yield SystemCommand(
            f"Theme: {theme.name}",
            "Switch the console's colours (remembered)",
            lambda name=theme.name: setattr(app, "theme", name),
        )
    for title, help_text, action in app.walkthrough_commands():
        yield SystemCommand(title, help_text, action)
    yield SystemCommand("Quit  [q]", "Leave the console (asks when work is in progress)", app.action_leave)
