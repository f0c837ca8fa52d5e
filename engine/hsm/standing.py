"""What a version's state means to an operator, derived once for every reader: whether it can
be recovered from now (DASD, tape), whether it is the pool's only recovery point, and why it
FAILED. Commands, LIST, the views (and so every screen and the API) ask here; nobody compares
state words on their own.

Why a version failed is the one fact that cannot be read back from the bitmaps later, so
`mark_failed` records it with the state, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.catalog.models import BackupVersionRow
from engine.states import ClassState, DasdState, FailedReason


def mark_failed(row: BackupVersionRow, reason: FailedReason, at: float, by: int = 0) -> None:
    """The version's DASD copy stops being recoverable, and why (`by`: the version that did it)."""
    row.dasd_state = DasdState.FAILED
    row.failed_reason = reason
    row.failed_at = at
    row.failed_by = by


def why_failed(state: DasdState, reason: FailedReason, by: int) -> str:
    """The reason in the words LIST and the screens use ("" for a version that did not fail)."""
    if state is not DasdState.FAILED:
        return ""
    return {
        FailedReason.REPLACED: f"its targets were reused by the FRBACKUP of version {by:03d}",
        FailedReason.REFRESHED: f"its incremental relationships were refreshed by version {by:03d}",
        FailedReason.FAST_REVERSED: "consumed by a fast reverse restore: its targets went back to the sources",
        FailedReason.WITHDRAWN: "FRBACKUP WITHDRAW ended its relationships before its copy completed",
        FailedReason.AUDITED: "AUDIT COPYPOOLCONTROLS FIX found its targets no longer hold it",
        FailedReason.NONE: "failed before flashpool recorded reasons",
    }[reason]


@dataclass(frozen=True, slots=True)
class Standing:
    """One version, as a recovery point."""

    on_dasd: bool  # FRRECOV from DASD restores its point in time
    on_tape: bool  # at least one dump class holds every volume
    only_recovery_point: bool  # no other version of the pool can be recovered from, DASD or tape

    @property
    def recoverable(self) -> bool:
        return self.on_dasd or self.on_tape


def on_tape(classes: Iterable[ClassState]) -> bool:
    return any(c is ClassState.COMPLETE for c in classes)


def standings(versions: list[tuple[DasdState, list[ClassState]]]) -> list[Standing]:
    """Each of a pool's versions (backups only, in any order) as a recovery point."""
    points = [(state is DasdState.RECOVERABLE, on_tape(classes)) for state, classes in versions]
    count = sum(dasd or tape for dasd, tape in points)
    return [Standing(dasd, tape, (dasd or tape) and count == 1) for dasd, tape in points]
