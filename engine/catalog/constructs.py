"""Repository functions for the SMS constructs, versions and the activity log.

Each function takes a Session; callers own the transaction (`with catalog.session() as s: ...;
s.commit()`), so one command's changes commit together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, insert
from sqlmodel import Session, col, delete, func, select

from engine.catalog import reads
from engine.catalog.models import (
    ActivityRow,
    BackupVersionRow,
    CapturedExtentRow,
    CopyPoolDumpClassRow,
    CopyPoolGroupRow,
    CopyPoolRow,
    DumpClassRow,
    DumpCopyRow,
    SchemaInfo,
    StorageGroupRow,
    VersionPairRow,
    VolumeRow,
)
from engine.catalog.reads import Pair, newest_first
from engine.catalog.store import CatalogCorrupt
from engine.states import DasdState

DASD_STATES = tuple(s for s in DasdState if s.holds_targets)


def copy_pool(s: Session, name: str) -> CopyPoolRow | None:
    return s.get(CopyPoolRow, name)


def held_copy_pool(s: Session, name: str) -> CopyPoolRow:
    """A copy pool the command has serialised: it cannot have gone unless the catalog was
    changed behind flashpool's back."""
    row = s.get(CopyPoolRow, name)
    if row is None:
        raise CatalogCorrupt(f"copy pool {name} vanished from the catalog while a command held it")
    return row


def copy_pools(s: Session) -> list[CopyPoolRow]:
    return list(s.exec(select(CopyPoolRow).order_by(CopyPoolRow.name)).all())


def pool_groups(s: Session, pool: str) -> list[str]:
    rows = s.exec(
        select(CopyPoolGroupRow).where(CopyPoolGroupRow.copy_pool == pool).order_by(col(CopyPoolGroupRow.position))
    )
    return [r.storage_group for r in rows.all()]


def groups_by_pool(s: Session) -> dict[str, list[str]]:
    """Every copy pool's storage groups in their order (one read for a screen of 500 pools)."""
    out: dict[str, list[str]] = {}
    q = select(CopyPoolGroupRow.copy_pool, CopyPoolGroupRow.storage_group).order_by(col(CopyPoolGroupRow.position))
    for pool, group in s.exec(q).all():
        out.setdefault(pool, []).append(group)
    return out


def pools_by_group(s: Session) -> dict[str, list[str]]:
    """Every storage group's copy pools, sorted (the inverse of `groups_by_pool`)."""
    out: dict[str, list[str]] = {}
    for pool, groups in groups_by_pool(s).items():
        for g in groups:
            out.setdefault(g, []).append(pool)
    return {g: sorted(ps) for g, ps in out.items()}


def group_sizes(s: Session) -> dict[str, int]:
    """How many volumes each storage group has."""
    q = select(VolumeRow.storage_group, func.count()).group_by(col(VolumeRow.storage_group))
    return {g: n for g, n in s.exec(q).all() if g is not None}


def dump_classes_by_pool(s: Session) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pool, dc in s.exec(select(CopyPoolDumpClassRow.copy_pool, CopyPoolDumpClassRow.dump_class)).all():
        out.setdefault(pool, []).append(dc)
    return out


def pools_of_group(s: Session, group: str) -> list[str]:
    rows = s.exec(select(CopyPoolGroupRow).where(CopyPoolGroupRow.storage_group == group))
    return sorted(r.copy_pool for r in rows.all())


def storage_group(s: Session, name: str) -> StorageGroupRow | None:
    return s.get(StorageGroupRow, name)


def storage_groups(s: Session) -> list[StorageGroupRow]:
    return list(s.exec(select(StorageGroupRow).order_by(StorageGroupRow.name)).all())


def group_volumes(s: Session, group: str) -> list[VolumeRow]:
    return list(s.exec(select(VolumeRow).where(VolumeRow.storage_group == group).order_by(VolumeRow.volser)).all())


def volume(s: Session, volser: str) -> VolumeRow | None:
    return s.get(VolumeRow, volser)


def dump_class(s: Session, name: str) -> DumpClassRow | None:
    return s.get(DumpClassRow, name)


def dump_classes(s: Session) -> list[DumpClassRow]:
    return list(s.exec(select(DumpClassRow).order_by(DumpClassRow.name)).all())


def pool_dump_classes(s: Session, pool: str) -> list[CopyPoolDumpClassRow]:
    return list(s.exec(select(CopyPoolDumpClassRow).where(CopyPoolDumpClassRow.copy_pool == pool)).all())


def versions(s: Session, pool: str) -> list[BackupVersionRow]:
    """Every version row of a pool, newest point in time first (PREPARE entries last)."""
    rows = s.exec(select(BackupVersionRow).where(BackupVersionRow.copy_pool == pool)).all()
    return sorted(rows, key=newest_first)


def held_version(s: Session, version_id: int) -> BackupVersionRow:
    """A version of a copy pool the command has serialised (see `held_copy_pool`)."""
    row = s.get(BackupVersionRow, version_id)
    if row is None:
        raise CatalogCorrupt(f"backup version row {version_id} vanished from the catalog while a command held it")
    return row


def pairs(s: Session, version_id: int) -> list[VersionPairRow]:
    return list(
        s.exec(
            select(VersionPairRow).where(VersionPairRow.version_id == version_id).order_by(VersionPairRow.source)
        ).all()
    )


#: what the rules read of a pair: a row being changed, or a pair as read
PairLike = Pair | VersionPairRow


def pairs_of_versions(s: Session, version_ids: Iterable[int]) -> dict[int, list[Pair]]:
    """The pairs of these versions, by version, each in source order (read-only facts)."""
    return reads.pairs(s.connection(), version_ids)


def targets_in_use(s: Session, groups: Iterable[str]) -> dict[str, tuple[str, int]]:
    """Target volser -> (copy pool, version row id) for every volume of these (backup) storage
    groups that a version still holding a DASD copy (or a PREPARE assignment) has: those
    targets belong to that version until it is replaced. Only the groups asked about are read:
    a plan for one copy pool does not read the whole site's pairs."""
    q = (
        select(VersionPairRow.target, BackupVersionRow.copy_pool, BackupVersionRow.id)
        .join(BackupVersionRow, col(BackupVersionRow.id) == col(VersionPairRow.version_id))
        .join(VolumeRow, col(VolumeRow.volser) == col(VersionPairRow.target))
        .where(col(BackupVersionRow.dasd_state).in_([*DASD_STATES, DasdState.PREPARE]))
        .where(col(VolumeRow.storage_group).in_(list(groups)))
    )
    return {t: (cp, vid) for t, cp, vid in s.exec(q).all() if vid is not None}  # a stored row has its id


def captured(s: Session, version_id: int, name: str | None = None) -> list[CapturedExtentRow]:
    q = select(CapturedExtentRow).where(CapturedExtentRow.version_id == version_id)
    if name is not None:
        q = q.where(CapturedExtentRow.name == name)
    return list(s.exec(q.order_by(col(CapturedExtentRow.name), col(CapturedExtentRow.seq))).all())


def delete_version(s: Session, version: BackupVersionRow) -> None:
    s.exec(delete(CapturedExtentRow).where(col(CapturedExtentRow.version_id) == version.id))
    s.exec(delete(VersionPairRow).where(col(VersionPairRow.version_id) == version.id))
    s.exec(delete(DumpCopyRow).where(col(DumpCopyRow.version_id) == version.id))
    s.delete(version)


def all_dump_copies(s: Session) -> list[DumpCopyRow]:
    return list(s.exec(select(DumpCopyRow)).all())


def dump_copies(s: Session, version_id: int) -> list[DumpCopyRow]:
    return list(s.exec(select(DumpCopyRow).where(DumpCopyRow.version_id == version_id)).all())


def dump_copies_of(s: Session, version_ids: list[int]) -> dict[int, list[DumpCopyRow]]:
    """The dump copies of these versions, by version, in one read (versions with none left out)."""
    out: dict[int, list[DumpCopyRow]] = {}
    if version_ids:
        for d in s.exec(select(DumpCopyRow).where(col(DumpCopyRow.version_id).in_(version_ids))):
            out.setdefault(d.version_id, []).append(d)
    return out


# -- holds and the activity log ------------------------------------------------------------------


def holds(s: Session) -> set[str]:
    row = s.get(SchemaInfo, "holds")
    return set(json.loads(row.value)) if row else set()


def set_holds(s: Session, held: set[str]) -> None:
    row = s.get(SchemaInfo, "holds") or SchemaInfo(key="holds", value="[]")
    row.value = json.dumps(sorted(held))
    s.add(row)


def is_demo(s: Session) -> bool:
    """A demo site says so (the console shows DEMO in its header): nobody mistakes it for a shop's."""
    row = s.get(SchemaInfo, "demo")
    return row is not None and row.value == "1"


def mark_demo(s: Session) -> None:
    s.add(SchemaInfo(key="demo", value="1"))


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    """One line of the activity log: what ran, from where, by whom, with what outcome."""

    at: float
    origin: str
    command: str
    copy_pool: str | None
    return_code: int
    messages: list[dict[str, str]]
    user: str | None = None

    def values(self) -> dict[str, object]:
        return {
            "at": self.at,
            "origin": self.origin,
            "command": self.command,
            "copy_pool": self.copy_pool,
            "return_code": self.return_code,
            "messages": json.dumps(self.messages),
            "user": self.user,
        }


def log_activity(c: Connection, entry: ActivityEntry) -> None:
    """In the caller's transaction: a bare one (Catalog.transaction) or a session's
    (`s.connection()`)."""
    log_activities(c, [entry])


def log_activities(c: Connection, entries: Sequence[ActivityEntry]) -> None:
    """Several entries in this order, in the caller's transaction (one insert)."""
    if entries:
        c.execute(insert(ActivityRow), [e.values() for e in entries])


def activity(s: Session, limit: int = 200, pool: str | None = None, before: int | None = None) -> list[ActivityRow]:
    """The newest entries (of `pool`), newest first; `before`: older than that entry's id."""
    q = select(ActivityRow)
    if pool:
        q = q.where(ActivityRow.copy_pool == pool)
    if before is not None:
        q = q.where(col(ActivityRow.id) < before)
    return list(s.exec(q.order_by(col(ActivityRow.id).desc()).limit(limit)).all())
