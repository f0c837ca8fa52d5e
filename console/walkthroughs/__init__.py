"""Keyboard-driven recovery walkthroughs (see base.py for what one is, screen.py for the flow)."""

from __future__ import annotations

from console.walkthroughs.base import Walkthrough
from console.walkthroughs.maintenance import Backup, Prepare, WithdrawDelete
from console.walkthroughs.recovery import DataSets, FastReverseRestore, FromTape, Incremental, OlderVersion, OneVolume

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


def by_id(wid: str) -> type[Walkthrough]:
    return next(w for w in ALL if w.id == wid)


__all__ = ["ALL", "Walkthrough", "by_id"]
