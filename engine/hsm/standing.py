"""What a version's state means to an operator, derived once for every reader: whether it can
be recovered from now (DASD, tape), whether it is the pool's only recovery point, and why it
FAILED. Commands, LIST, the views (and so every screen and the API) ask here; nobody compares
state words on their own.

Why a version failed is the one fact that cannot be read back from the bitmaps later, so
`mark_failed` records it with the state, in the same transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session

from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow
from engine.flashcopy import FlashCopyCore, Relationship
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


class Recovery(enum.StrEnum):
    """How FRRECOV would bring a version back now (the walkthrough that fits it)."""

    FAST_REVERSE = "FAST_REVERSE"  # its relationships reversed: only changed tracks move
    INCREMENTAL = "INCREMENTAL"  # its persistent incremental pairs reversed
    DASD = "DASD"  # every track copied back from its targets by a regular FlashCopy
    TAPE = "TAPE"  # read back from a complete dump copy
    NONE = "NONE"  # nothing to recover from


def recovery_of(frr_eligible: bool, incremental: bool, on_dasd: bool, tape: bool) -> Recovery:
    """The method FRRECOV uses for a version, in DFSMShsm's order of preference."""
    if frr_eligible:
        return Recovery.FAST_REVERSE
    if on_dasd:
        return Recovery.INCREMENTAL if incremental else Recovery.DASD
    return Recovery.TAPE if tape else Recovery.NONE


def recovering(core: FlashCopyCore, volumes: Iterable[str], versions: Iterable[int] = ()) -> list[Relationship]:
    """The copies still flowing *onto* a copy pool's own volumes (a recovery's copy back), not
    those of its versions (`versions`: their relationship ids): the one answer to "is something
    being restored here" for the Pools screen, QUERY COPYPOOL and the rules that refuse on it."""
    skip = set(versions)
    out: dict[int, Relationship] = {}
    for volser in volumes:
        for rel in core.incoming(volser):
            if rel.id not in skip and rel.uncopied.any():
                out[rel.id] = rel
    return sorted(out.values(), key=lambda r: r.id)


def points_of(s: Session, pool: str) -> dict[int, Standing]:
    """Each backup version of `pool` (by version key) as a recovery point, read now."""
    from engine.hsm.dump import class_state  # dump is below the commands that ask here

    vers = [v for v in repo.versions(s, pool) if v.dasd_state != DasdState.PREPARE]
    classes = {
        v.key: [class_state(s, v.key, c) for c in sorted({d.dump_class for d in repo.dump_copies(s, v.key)})]
        for v in vers
    }
    return dict(
        zip(
            [v.key for v in vers],
            standings([(DasdState(v.dasd_state), classes[v.key]) for v in vers]),
            strict=True,
        )
    )


def on_tape(classes: Iterable[ClassState]) -> bool:
    return any(c is ClassState.COMPLETE for c in classes)


def on_dasd(state: DasdState) -> bool:
    """Whether FRRECOV from DASD restores a version in this state to its point in time."""
    return state is DasdState.RECOVERABLE


def standings(versions: list[tuple[DasdState, list[ClassState]]]) -> list[Standing]:
    """Each of a pool's versions (backups only, in any order) as a recovery point."""
    points = [(on_dasd(state), on_tape(classes)) for state, classes in versions]
    count = sum(dasd or tape for dasd, tape in points)
    return [Standing(dasd, tape, (dasd or tape) and count == 1) for dasd, tape in points]
