"""What the operator has been told and not yet acknowledged: the engine's alerts, and commands
that others ran (the automatic dump, the CLI, other consoles and their users)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.events import ActivityLogged, Event
from engine.hsm.alerts import CHANGING_VERBS, AlertRaised, Severity

#: activity that already is an alert
ALERT_ORIGIN = "ALERT"


@dataclass(slots=True)
class Alert:
    number: int
    at: float
    severity: Severity
    title: str
    copy_pool: str | None
    text: str
    acknowledged: bool = False

    @property
    def glyph(self) -> str:
        return {Severity.INFORMATION: "ℹ", Severity.WARNING: "▲", Severity.ERROR: "✘"}[self.severity]


def alert_of(event: Event, number: int, mine: bool = False, elsewhere: bool = False) -> Alert | None:
    """The alert an engine event is for this console, if any: the engine's alerts, and another
    client's command that changed what it shows (`mine`: a command this console ran, no news to
    it; `elsewhere`: a command on another copy pool than the one the screen is about)."""
    if isinstance(event, AlertRaised):
        return Alert(number, event.at, event.severity, event.kind.title, event.copy_pool, event.text)
    if (
        isinstance(event, ActivityLogged)
        and not mine
        and not elsewhere
        and event.origin != ALERT_ORIGIN
        and event.command.lstrip().upper().startswith(CHANGING_VERBS)
    ):
        severity = Severity.INFORMATION if event.return_code == 0 else Severity.WARNING
        who = f"{event.user} ({event.origin})" if event.user else event.origin
        text = f"{who.upper()} RAN {' '.join(event.command.split())}: RC={event.return_code}"
        return Alert(number, event.at, severity, f"command from {who}", event.copy_pool, text)
    return None


class AlertList:
    """Newest last; a console keeps its alerts for as long as it runs."""

    def __init__(self) -> None:
        self.items: list[Alert] = []

    def add(self, event: Event, mine: bool = False, elsewhere: bool = False) -> Alert | None:
        alert = alert_of(event, len(self.items) + 1, mine, elsewhere)
        if alert is not None:
            self.items.append(alert)
        return alert

    @property
    def unacknowledged(self) -> list[Alert]:
        return [a for a in self.items if not a.acknowledged]

    def acknowledge(self, number: int | None = None) -> int:
        """One alert, or every one (None); returns how many changed."""
        changed = [a for a in self.items if not a.acknowledged and (number is None or a.number == number)]
        for a in changed:
            a.acknowledged = True
        return len(changed)
