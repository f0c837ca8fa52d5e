"""Textual messages mirroring engine events. High-rate ones coalesce (can_replace)."""

from __future__ import annotations

from textual.message import Message

from engine.events import ActivityLogged, Event


class SiteChanged(Message, bubble=False):
    """Something in the site changed (a command ran, relationships came or went): screens reload.
    Any number of them waiting in the queue collapse into one. It does not bubble: the app hands
    it to the screen, and a screen's copy must not come back to the app (that ping-pong spins)."""

    def __init__(self, event: Event | None = None) -> None:
        super().__init__()
        self.event = event

    @property
    def command_ended(self) -> bool:
        """A command (anyone's, on any host) ended: shown at once, whatever the reload pace."""
        return isinstance(self.event, ActivityLogged)

    def can_replace(self, message: Message) -> bool:
        """Whether the newer `message` may stand for this one (a command's end is never lost)."""
        return isinstance(message, SiteChanged) and (message.command_ended or not self.command_ended)
