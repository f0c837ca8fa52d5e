"""Prebuilt Core reads for the listings every client polls (LIST, QUERY, the console's views).

Through a Session, a statement built per call and ORM objects cost three to four times the
query itself (300 µs against 90 µs a statement, measured on a 2-core machine), and fifty
clients polling make that a server's main cost. These statements are built once, bound per
call, and return plain facts (frozen dataclasses, tuples): never rows to change. A caller with
pending ORM changes must not use them (a Core read does not flush a Session).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Connection, Row, Select, bindparam, func, select

from engine.catalog.models import (
    BackupVersionRow,
    CopyPoolGroupRow,
    CopyPoolRow,
    DumpClassRow,
    DumpCopyRow,
    VersionPairRow,
    VolumeRow,
)
from engine.states import DasdState


@dataclass(frozen=True, slots=True)
class Version:
    """A backup version as read: the columns of BackupVersionRow, nothing to change."""

    id: int
    copy_pool: str
    version: int
    token: bytes
    created_at: float
    dasd_state: str
    dump_state: str
    incremental: bool
    catinfo: str
    fcfrr: bool
    vtocenq: bool
    recovery_incomplete: bool
    backup_group: str | None
    failed_reason: str
    failed_at: float
    failed_by: int

    @property
    def key(self) -> int:
        return self.id


#: what the rules read of a version: a row being changed, or a version as read
VersionLike = Version | BackupVersionRow


@dataclass(frozen=True, slots=True)
class Pair:
    """A version's source/target pair as read (not an ORM row: the largest DB2 pool's 85
    versions are 87,040 pairs, and building an ORM object for each cost 2 s)."""

    version_id: int
    source: str
    target: str
    storage_group: str
    relationship_id: int | None
    state: str


@dataclass(frozen=True, slots=True)
class DumpCopy:
    """What a listing shows of a dump copy."""

    dump_class: str
    source: str
    tape: str
    state: str


#: what the dump rules read of a copy: a row, or a copy as read
DumpCopyLike = DumpCopy | DumpCopyRow


def newest_first(v: VersionLike) -> tuple[bool, float, int]:
    """The order versions are listed in: newest point in time first, PREPARE entries last."""
    return (v.dasd_state == DasdState.PREPARE, -v.created_at, -(v.id or 0))


def _columns(table: Any, of: type) -> list[Any]:
    return [getattr(table.c, f.name) for f in dataclasses.fields(of)]


_V = BackupVersionRow.__table__  # type: ignore[attr-defined]
_P = VersionPairRow.__table__  # type: ignore[attr-defined]
_D = DumpCopyRow.__table__  # type: ignore[attr-defined]
_POOL = CopyPoolRow.__table__  # type: ignore[attr-defined]
_CLASS = DumpClassRow.__table__  # type: ignore[attr-defined]
_CPG = CopyPoolGroupRow.__table__  # type: ignore[attr-defined]
_VOL = VolumeRow.__table__  # type: ignore[attr-defined]
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)

_EVERY_VERSION = select(*_columns(_V, Version))
_VERSIONS = _EVERY_VERSION.where(_V.c.copy_pool == bindparam("pool"))
_COPY_POOL = select(_POOL).where(_POOL.c.name == bindparam("name"))
_POOL_VOLUMES = (
    select(_VOL.c.volser)
    .join(_CPG, _CPG.c.storage_group == _VOL.c.storage_group)
    .where(_CPG.c.copy_pool == bindparam("name"))
    .order_by(_CPG.c.position, _VOL.c.volser)
)
_PAIR_COUNTS = select(_P.c.version_id, func.count()).where(_P.c.version_id.in_(_IDS)).group_by(_P.c.version_id)
_PAIR_TUPLES = (
    select(_P.c.version_id, _P.c.source, _P.c.target, _P.c.storage_group)
    .where(_P.c.version_id.in_(_IDS))
    .order_by(_P.c.version_id, _P.c.source)
)
_PAIRS = select(*_columns(_P, Pair)).where(_P.c.version_id.in_(_IDS)).order_by(_P.c.source)
_PAIR_SOURCES = select(_P.c.source).where(_P.c.version_id == bindparam("vid"))
_SOURCES_OF = select(_P.c.version_id, _P.c.source).where(_P.c.version_id.in_(_IDS))
_DUMP_COPIES = select(*_columns(_D, DumpCopy)).where(_D.c.version_id == bindparam("vid"))
#: the pairs that still name a relationship (ix_version_pair_relationship covers it)
_LIVE_PAIRS = select(_P.c.version_id, _P.c.relationship_id).where(_P.c.relationship_id.is_not(None))
#: the volumes of every copy pool's storage groups, with their group
_POOL_GROUP_VOLUMES = select(_VOL.c.volser, _VOL.c.storage_group).where(
    _VOL.c.storage_group.in_(select(_CPG.c.storage_group))
)
_PLAIN_SQL: dict[tuple[int, str], str] = {}  # (statement, dialect) -> its SQL, compiled once
_REQUIRED = select(_CLASS.c.name).where(_CLASS.c.fast_replication_dump == "REQUIRED")
_EXPIRED = select(_D.c.id).where(_D.c.expires_at.is_not(None), _D.c.expires_at < bindparam("now")).limit(1)


def versions(c: Connection, pool: str) -> list[Version]:
    """Every version of a pool, newest first (PREPARE entries last)."""
    return sorted((Version(*r) for r in c.execute(_VERSIONS, {"pool": pool})), key=newest_first)


def versions_by_pool(c: Connection) -> dict[str, list[Version]]:
    """`versions` of every copy pool, in one read."""
    out: dict[str, list[Version]] = {}
    for v in sorted((Version(*r) for r in c.execute(_EVERY_VERSION)), key=newest_first):
        out.setdefault(v.copy_pool, []).append(v)
    return out


def copy_pool(c: Connection, name: str) -> Row[Any] | None:
    """A copy pool's definition row (its columns as attributes), None when it is not defined."""
    return c.execute(_COPY_POOL, {"name": name}).first()


def pool_volumes(c: Connection, name: str) -> list[str]:
    """The volsers of a copy pool's storage groups as the catalog holds them now: the volumes of
    engine.hsm.pool.sources, without what a backup needs of each."""
    return list(c.execute(_POOL_VOLUMES, {"name": name}).scalars())


def _plain(c: Connection, statement: Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of a statement without parameters as the database's driver returns them: on
    the scrape of 20,012 volumes, SQLAlchemy's rows cost as much as the read. Only for columns
    that need no conversion (integers, strings), in the caller's transaction."""
    key = (id(statement), c.dialect.name)
    sql = _PLAIN_SQL.get(key)
    if sql is None:
        sql = _PLAIN_SQL[key] = str(statement.compile(dialect=c.dialect))
    cursor = c.connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def live_pairs(c: Connection) -> dict[int, list[int]]:
    """The relationship ids of each version's pairs that still name one, by version id."""
    out: dict[int, list[int]] = {}
    for vid, rid in _plain(c, _LIVE_PAIRS):
        out.setdefault(vid, []).append(rid)
    return out


def pool_group_volumes(c: Connection) -> dict[str, list[str]]:
    """The volsers of each storage group that a copy pool holds (not the backup groups: half
    the site's volumes), by group."""
    out: dict[str, list[str]] = {}
    for volser, group in _plain(c, _POOL_GROUP_VOLUMES):
        out.setdefault(group, []).append(volser)
    return out


def pair_counts(c: Connection, version_ids: Iterable[int]) -> dict[int, int]:
    ids = list(version_ids)
    return {vid: n for vid, n in c.execute(_PAIR_COUNTS, {"ids": ids})} if ids else {}


def sources_of_versions(c: Connection, version_ids: Iterable[int]) -> dict[int, set[str]]:
    """The source volumes of these versions, by version."""
    ids = list(version_ids)
    out: dict[int, set[str]] = {i: set() for i in ids}
    if ids:
        for vid, src in c.execute(_SOURCES_OF, {"ids": ids}):
            out[vid].add(src)
    return out


def pair_tuples(c: Connection, version_ids: Iterable[int]) -> dict[int, list[tuple[str, str, str]]]:
    """(source, target, storage group) per version, in source order: fast for big listings."""
    ids = list(version_ids)
    out: dict[int, list[tuple[str, str, str]]] = {i: [] for i in ids}
    if ids:
        for vid, src, tgt, sg in c.execute(_PAIR_TUPLES, {"ids": ids}):
            out[vid].append((src, tgt, sg))
    return out


def pairs(c: Connection, version_ids: Iterable[int]) -> dict[int, list[Pair]]:
    """The pairs of these versions, by version, each in source order."""
    ids = list(version_ids)
    out: dict[int, list[Pair]] = {i: [] for i in ids}
    if ids:
        for row in c.execute(_PAIRS, {"ids": ids}):
            out[row[0]].append(Pair(*row))
    return out


def pair_sources(c: Connection, version_id: int) -> set[str]:
    return {r[0] for r in c.execute(_PAIR_SOURCES, {"vid": version_id})}


def dump_copies(c: Connection, version_id: int) -> list[DumpCopy]:
    return [DumpCopy(*r) for r in c.execute(_DUMP_COPIES, {"vid": version_id})]


def required_dump_classes(c: Connection) -> set[str]:
    """The dump classes defined FASTREPLICATIONDUMP(REQUIRED)."""
    return {r[0] for r in c.execute(_REQUIRED)}


def any_expired(c: Connection, now: float) -> bool:
    """Whether some dump copy is past its retention at `now`."""
    return c.execute(_EXPIRED, {"now": now}).first() is not None


__all__ = [
    "DumpCopy",
    "DumpCopyLike",
    "Pair",
    "Version",
    "VersionLike",
    "any_expired",
    "copy_pool",
    "dump_copies",
    "newest_first",
    "pair_counts",
    "pair_sources",
    "pair_tuples",
    "pairs",
    "pool_volumes",
    "required_dump_classes",
    "versions",
]
