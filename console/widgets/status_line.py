"""The status line, in the style of k9s and htop: the site and who is at it, the time on the site's
clock, copies running with their aggregate progress and ETA, held functions, unacknowledged
alerts, the last return code and a walkthrough left open. Narrow terminals drop the least
important parts first, never the alerts or the holds."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from console import format as fmt

SEPARATOR = " │ "


@dataclass(frozen=True, slots=True)
class Part:
    text: Text
    keep: int  # higher is kept longer when the line is too narrow


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """
    site_text: reactive[str] = reactive("")
    demo: reactive[bool] = reactive(False)
    attachment: reactive[str] = reactive("embedded")  # embedded | server
    gone: reactive[str] = reactive("")  # "server gone 21:04:07 — reconnecting": nothing is live
    user: reactive[str] = reactive("")
    clock: reactive[str] = reactive("")
    held: reactive[str] = reactive("")
    copies: reactive[int] = reactive(0)
    percent: reactive[float | None] = reactive(None)
    eta: reactive[str] = reactive("")
    alerts: reactive[int] = reactive(0)
    last_rc: reactive[int | None] = reactive(None)
    walkthrough: reactive[str] = reactive("")
    paused: reactive[bool] = reactive(False)
    read_only: reactive[bool] = reactive(False)
    not_durable: reactive[bool] = reactive(False)  # the site was opened --no-durable
    plex: reactive[str] = reactive("")  # "plex SYS1 primary, SYS2" (engine.hostviews.summary), or ""

    def parts(self) -> list[Part]:
        site = Text(self.site_text, style="bold")
        if self.demo:
            site.append(" DEMO", style="reverse")
        if self.read_only:
            site.append(" READ-ONLY", style="reverse")
        if self.not_durable:
            site.append(" NOT DURABLE", style=fmt.style("warn", bold=True))
        if self.gone:  # what the server said last is not so any more: only that it is gone
            gone = Text(f"⚠ {self.gone}", style=fmt.style("bad", bold=True))
            return [Part(site, 9), Part(gone, 11), Part(Text("✘ NOT LIVE", style="bold"), 10)]
        out = [Part(site, 9), Part(Text(self.attachment), 2)]
        if self.plex:
            style = fmt.style("warn", bold=True) if "LAPSED" in self.plex else ""
            out.append(Part(Text(self.plex, style=style), 2))
        if self.user:
            out.append(Part(Text(f"user {self.user}"), 3))
        if self.clock:
            out.append(Part(Text(self.clock), 4))
        copies = Text(f"copies {self.copies}")
        if self.copies and self.percent is not None:
            copies.append(f" {self.percent:.0f}%")
            if self.eta:
                copies.append(f" ETA {self.eta}")
        out.append(Part(copies, 7))
        held = Text(f"held {self.held}", style=fmt.style("warn", bold=True)) if self.held else Text("held none")
        out.append(Part(held, 8))
        alerts = (
            Text(f"▲ alerts {self.alerts}", style=fmt.style("warn", bold=True)) if self.alerts else Text("alerts 0")
        )
        out.append(Part(alerts, 10))
        if self.last_rc is not None:
            out.append(Part(Text(f"last RC {self.last_rc}", style=fmt.rc_style(self.last_rc)), 5))
        if self.walkthrough:
            out.append(Part(Text(f"open: {self.walkthrough}", style="bold"), 6))
        # paused is news (kept before the return code); live is the normal case (dropped first)
        out.append(Part(Text("⏸ PAUSED (p)", style="bold"), 8) if self.paused else Part(Text("⟳ live"), 1))
        return out

    def render(self) -> Text:
        parts = self.parts()
        width = max(self.size.width, 1)
        while len(parts) > 1 and sum(p.text.cell_len for p in parts) + len(SEPARATOR) * (len(parts) - 1) > width:
            parts.remove(min(parts, key=lambda p: p.keep))
        return Text(SEPARATOR).join(p.text for p in parts)
