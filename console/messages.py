"""Textual messages mirroring engine events. High-rate ones coalesce (can_replace)."""

from __future__ import annotations

from textual.message import Message

from engine.events import Event


class SiteChanged(Message, bubble=False):
    """Something in the site changed (a command ran, relationships came or went): screens reload.
    Any number of them waiting in the queue collapse into one. It does not bubble: the app hands
    it to the screen, and a screen's copy must not come back to the app (that ping-pong spins)."""

    def __init__(self, event: Event | None = None) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SiteChanged)
