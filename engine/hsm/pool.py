"""Resolving a copy pool: its source volumes now, its versions and generations, and the choice
of version a selection (VERSION / GENERATION / DATE / TOKEN) names."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, CopyPoolRow
from engine.command import Selection


@dataclass(frozen=True, slots=True)
class Source:
    volser: str
    storage_group: str
    backup_group: str  # the CPBSG its targets come from (or the override)
    tracks: int
    track_size: int


def sources(s: Session, pool: CopyPoolRow) -> list[Source]:
    """Volumes are resolved each time a function runs: a volume added to a group is included."""
    out = []
    for sg in repo.pool_groups(s, pool.name):
        group = repo.storage_group(s, sg)
        if group is None:
            continue
        bg = pool.backup_group_override or group.backup_group or ""
        for v in repo.group_volumes(s, sg):
            out.append(Source(v.volser, sg, bg, v.cylinders * v.tracks_per_cylinder, v.track_size))
    return out


def backups(s: Session, pool: str) -> list[BackupVersionRow]:
    """Versions that are backups (not PREPARE entries), newest first: index = generation."""
    return [v for v in repo.versions(s, pool) if v.dasd_state != "PREPARE"]


@dataclass(frozen=True, slots=True)
class Choice:
    version: BackupVersionRow | None
    rc: int = 0
    why: str = ""


def choose(s: Session, pool: str, sel: Selection, need_dasd: bool) -> Choice:
    """The version a selection names, or the ARC1806E return code saying why there is none."""
    vers = backups(s, pool)
    found: BackupVersionRow | None = None
    if sel.version is not None:
        found = next((v for v in vers if v.version == sel.version), None)
    elif sel.date is not None:
        found = next((v for v in vers if dt.date.fromtimestamp(v.created_at) == sel.date), None)
    elif sel.token is not None:
        found = next((v for v in vers if v.token == sel.token), None)  # exact: X'00' is not "no token"
        if found is None:
            return Choice(None, 14, "no backup copy carries that token")
    else:
        g = sel.generation or 0
        found = vers[g] if g < len(vers) else None
    if found is None:
        return Choice(None, 2, f"the requested backup copy ({sel.describe()}) does not exist")
    if need_dasd and found.dasd_state not in ("RECOVERABLE", "FCFRRINCOMPLETE"):
        state = "has no DASD copy" if found.dasd_state == "NONE" else f"is {found.dasd_state}"
        return Choice(None, 2, f"version {found.version:03d} {state}; it cannot be recovered from DASD")
    return Choice(found)

