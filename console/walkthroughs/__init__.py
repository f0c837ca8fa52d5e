"""Keyboard-driven recovery walkthroughs (see base.py for what one is, screen.py for the flow)."""

from __future__ import annotations

from console.walkthroughs.base import Walkthrough
from console.walkthroughs.maintenance import Backup, Prepare, WithdrawDelete
from console.walkthroughs.recovery import DataSets, FastReverseRestore, FromTape, Incremental, OlderVersion, OneVolume
from engine.hsm.standing import Recovery

ALL: list[type[Walkthrough]] = [
    FastReverseRestore,
    OlderVersion,
    Incremental,
    OneVolume,
    FromTape,
    DataSets,
    Backup,
    WithdrawDelete,
    Prepare,
]


#: the walkthrough for each way the engine says FRRECOV would recover a version
FOR_RECOVERY: dict[Recovery, str] = {
    Recovery.FAST_REVERSE: "W1",
    Recovery.INCREMENTAL: "W3",
    Recovery.DASD: "W2",
    Recovery.TAPE: "W5",
}


def by_id(wid: str) -> type[Walkthrough]:
    return next(w for w in ALL if w.id == wid)


__all__ = ["ALL", "FOR_RECOVERY", "Walkthrough", "by_id"]
