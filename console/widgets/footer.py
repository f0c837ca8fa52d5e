"""Textual's footer, recomposed only when what it shows changes.

Textual 8.2 recomposes the footer on every bindings signal — each screen switch, each
focus move, each refresh of the held functions — and keeps every removed key alive through the
watcher its `compact` binding leaves on the footer: 250 dead widgets a round of screen switches,
and full garbage-collector passes that grew to 0.7 s on the demo site.
"""

from __future__ import annotations

from collections.abc import Iterator

from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

from console import textual_internals as internals
from console.textual_internals import FooterKey

#: what one shown key looks like: key, its display, description, action, enabled, tooltip, group
KeyShape = tuple[str, str, str, str, bool, str, str]


class KeysFooter(Footer):
    _shown: tuple[KeyShape, ...] | None = None

    def compose(self) -> Iterator[Widget]:
        """Textual's keys, born with the footer's `compact` (a key starts compact and its binding
        then makes it wide: two restyles a key, a tenth of a first visit's time on a screen). The
        command palette's key is not bound to the footer and stays compact, as in Textual."""
        for widget in super().compose():
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget

    def shape(self) -> tuple[KeyShape, ...]:
        """Everything the footer's compose reads from the screen's bindings."""
        return tuple(
            (
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                enabled,
                tooltip,
                binding.group.description if binding.group else "",
            )
            for key, (_, binding, enabled, tooltip) in self.screen.active_bindings.items()
            if binding.show or key == self.app.COMMAND_PALETTE_BINDING
        )

    def bindings_changed(self, screen: Screen[object]) -> None:
        internals.mark_bindings_ready(self)
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if not self.is_attached:
            return
        shape = self.shape()
        if shape == self._shown:
            return
        self._shown = shape
        await self.recompose()
        self.forget_removed_keys()

    def forget_removed_keys(self) -> None:
        """Drop the watchers of keys that were removed (Textual prunes them only when the
        watched value changes, which `compact` never does here)."""
        watchers = internals.watchers(self)
        for name, entries in watchers.items():
            watchers[name] = [(node, cb) for node, cb in entries if not internals.is_gone(node)]
