"""Resolving a copy pool: its source volumes now, and its versions in generation order (which
version a selection names is a rule: `rules.select_version`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from sqlmodel import Session

from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, CopyPoolRow
from engine.catalog.reads import VersionLike
from engine.hsm import rules
from engine.states import DasdState

V = TypeVar("V", bound=VersionLike)


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
    return backups_among(repo.versions(s, pool))


def backups_among(vers: Iterable[V]) -> list[V]:
    """Of versions listed newest first, those that are backups (not PREPARE entries)."""
    return [v for v in vers if v.dasd_state != DasdState.PREPARE]


def of_volume(s: Session, vol: str, from_cp: str | None) -> str | rules.Refusal:
    """The copy pool a volume is recovered from (rules.pool_of_volume over its group's pools)."""
    row = repo.volume(s, vol)
    return rules.pool_of_volume(
        repo.pools_of_group(s, row.storage_group) if row and row.storage_group else [], vol, from_cp
    )
