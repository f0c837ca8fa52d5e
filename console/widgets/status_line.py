"""One line under the body: site, catalog, held functions, copies running, live or paused."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """
    site_text: reactive[str] = reactive("")
    held: reactive[str] = reactive("")
    copies: reactive[int] = reactive(0)
    paused: reactive[bool] = reactive(False)
    read_only: reactive[bool] = reactive(False)

    def render(self) -> str:
        parts = [self.site_text]
        if self.read_only:
            parts.append("READ-ONLY")
        parts.append(f"held: {self.held or 'none'}")
        parts.append(f"copies running: {self.copies}")
        parts.append("⏸ PAUSED (p)" if self.paused else "⟳ live")
        return "  │  ".join(parts)
