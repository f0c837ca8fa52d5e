"""The site's alerts as this console holds them, and the notices it gives of other clients'
commands.

Alerts belong to the site: its list (`SiteAPI.alerts`) and its events (`AlertRaised`,
`AlertAcknowledged`) keep this copy equal to every other console's — one count, acknowledged
once for all, kept across restarts, with who acknowledged. A command another client ran is news
to this console only: a toast, never an alert, so that no two consoles count differently.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.events import ActivityLogged, Event
from engine.hsm.alerts import AlertAcknowledged, AlertRaised, AlertView, Severity, changed_the_site


@dataclass(slots=True)
class Alert:
    number: int
    at: float
    severity: Severity
    title: str
    copy_pool: str | None
    text: str
    message_id: str
    acknowledged_by: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_by is not None

    @property
    def glyph(self) -> str:
        return glyph(self.severity)

    @classmethod
    def of_view(cls, v: AlertView) -> Alert:
        return cls(v.number, v.at, v.severity, v.kind.title, v.copy_pool, v.text, v.kind.message_id, v.acknowledged_by)

    @classmethod
    def of_event(cls, e: AlertRaised) -> Alert:
        return cls(e.number, e.at, e.severity, e.kind.title, e.copy_pool, e.text, e.kind.message_id)


def glyph(severity: Severity) -> str:
    return {Severity.INFORMATION: "ℹ", Severity.WARNING: "▲", Severity.ERROR: "✘"}[severity]


@dataclass(frozen=True, slots=True)
class Notice:
    """Another client's command that changed what this console shows: a toast."""

    severity: Severity
    title: str
    text: str


def notice_of(event: Event, mine: bool = False, elsewhere: bool = False) -> Notice | None:
    """The toast an engine event is for this console, if any: another client's command that
    changed what it shows (`mine`: a command this console ran; `elsewhere`: a command on
    another copy pool than the one the screen is about)."""
    if not isinstance(event, ActivityLogged) or mine or elsewhere or not changed_the_site(event):
        return None
    severity = Severity.INFORMATION if event.return_code == 0 else Severity.WARNING
    who = f"{event.user} ({event.origin})" if event.user else event.origin
    text = f"{who.upper()} RAN {' '.join(event.command.split())}: RC={event.return_code}"
    return Notice(severity, f"command from {who}", text)


class AlertList:
    """The site's alerts, oldest first, as last read and kept current by the site's events."""

    def __init__(self) -> None:
        self.items: list[Alert] = []

    def load(self, views: list[AlertView]) -> None:
        """What the site answered (newest first) replaces what this console had."""
        loaded = [Alert.of_view(v) for v in reversed(views)]
        newest = max((a.number for a in loaded), default=0)  # raised while the list was read: kept
        self.items = loaded + [a for a in self.items if a.number > newest or not a.number]

    def apply(self, event: Event) -> Alert | None:
        """An alert event applied; the alert when it is a new one (to announce)."""
        if isinstance(event, AlertRaised):
            if event.number and any(a.number == event.number for a in self.items):
                return None
            alert = Alert.of_event(event)
            self.items.append(alert)
            return alert
        if isinstance(event, AlertAcknowledged):
            for a in self.items:
                if a.number == event.number:
                    a.acknowledged_by = event.user
        return None

    @property
    def unacknowledged(self) -> list[Alert]:
        return [a for a in self.items if not a.acknowledged]
