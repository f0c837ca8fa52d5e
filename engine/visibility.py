"""What one user may see of a site: the copy pools its LIST profiles let it list, and everything
that holds or names data of the others left out of every read, the event stream included.

A copy pool is hidden when LIST is refused for it (`STGADMIN.ARC.LIST.HR UACC(NONE)`); with it:

* its source volumes (the volumes of its storage groups) and every volume that is a target of
  one of its versions: they hold its data;
* the storage groups only hidden copy pools use (a group another pool uses stays, without the
  hidden volumes);
* the data sets with an extent on a hidden volume;
* relationships with a hidden source or target, activity entries of a hidden pool or whose
  text names a hidden pool, volume, storage group or data set, and the events about any of them;
* so every request that names any of these (a read, a command text, a configuration change or
  what its preview would tell) is refused.

A name the site does not know is answered as a hidden one to such a user (`Visibility.answers`).

Computed from the catalog at each read (blocking): a new version's targets are hidden from the
moment its rows are committed. A user who may list every copy pool (the common case) costs one
query and a memoized decision per copy pool.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from sqlmodel import Session, SQLModel, col, select

from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, CopyPoolRow, DataSetExtentRow, VersionPairRow, VolumeRow
from engine.events import Event
from engine.security import Check, Decision, Function, Guard, Identity
from engine.security.access import matches

if TYPE_CHECKING:
    from engine.catalog import Catalog

_NAME = re.compile(r"[A-Z0-9@#$*%.\-]+")


@dataclass(frozen=True, slots=True)
class Visibility:
    """What is left out for one user (empty sets: nothing is)."""

    pools: frozenset[str] = frozenset()
    volumes: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    datasets: frozenset[str] = frozenset()
    #: why each hidden copy pool is hidden (the LIST decision), for the audit trail
    decisions: dict[str, Decision] = field(default_factory=dict, compare=False, hash=False)

    @property
    def everything(self) -> bool:
        return not self.pools

    def pool(self, name: str | None) -> bool:
        return name is None or name not in self.pools

    def volume(self, volser: str) -> bool:
        return volser not in self.volumes

    def group(self, name: str | None) -> bool:
        return name is None or name not in self.groups

    def dataset(self, name: str) -> bool:
        return name not in self.datasets

    def text(self, *texts: str) -> bool:
        """Whether none of these texts names a hidden copy pool, volume, storage group or data set
        (as a word, or as a qualifier of a dotted name: STGADMIN.ARC.LIST.HR names HR)."""
        if self.everything:
            return True
        names = self.pools | self.volumes | self.groups | self.datasets
        for t in texts:
            for token in _NAME.findall(t.upper()):
                if token in names or any(part in names for part in token.split(".")):
                    return False
        return True

    def pair(self, source: str, target: str) -> bool:
        return source not in self.volumes and target not in self.volumes

    def event(self, e: Event) -> bool:
        """Whether a user may be told of this event: none of its text fields (copy pool, volumes,
        command, alert text, ...) names anything hidden, nor does its relationship."""
        if self.everything:
            return True
        rel = getattr(e, "relationship", None)
        if rel is not None and not self.pair(rel.source, rel.target):
            return False
        return all(self.text(v) for f in fields(e) if isinstance(v := getattr(e, f.name), str))

    def answers(self, visible: bool, known: Callable[[], bool]) -> bool:
        """Whether a caller may be answered about a thing it names (a volume, a data set, a storage
        group, a tape), `visible` when nothing of it is hidden: not when it holds data of a copy
        pool the caller may not LIST; nor, while any copy pool is hidden from it, when the site
        knows no such name (`known`, asked only then): "not known" beside "not authorized" would
        tell a hidden name from one that does not exist, which a restricted LIST profile never
        tells of a copy pool's name."""
        return visible and (self.everything or known())

    def why(self, pool: str) -> Decision | None:
        return self.decisions.get(pool)

    def restricted(self, pool: str) -> Decision | None:
        """The decision of a profile that names this copy pool (STGADMIN.ARC.LIST.HR) and hides it
        on purpose; None when it is visible or hidden only because LIST itself is not granted."""
        d = self.decisions.get(pool)
        return d if d is not None and d.profile and not matches(d.profile, Function.LIST.value) else None


EVERYTHING = Visibility()


def visibility(catalog: Catalog, guard: Guard, who: Identity) -> Visibility:
    """What `who` may not see of the site now (blocking). Without a profile that restricts LIST
    to some copy pools, a user who may LIST sees everything: no catalog read at all."""
    if not guard.restricts(Function.LIST) and guard.decide(who, Check(Function.LIST)).allowed:
        return EVERYTHING
    with catalog.session() as s:
        names = [n for n in s.exec(select(CopyPoolRow.name)).all()]
        decisions = {n: guard.decide(who, Check(Function.LIST, n)) for n in names}
        hidden = frozenset(n for n, d in decisions.items() if not d.allowed)
        if not hidden:
            return EVERYTHING
        return _footprint(s, hidden, {n: decisions[n] for n in hidden})


def known(catalog: Catalog, row: type[SQLModel], key: str) -> Callable[[], bool]:
    """Whether the catalog holds a `row` under `key` (a volser, a data set's or a storage group's
    name), asked when called (blocking): what `Visibility.answers` asks."""

    def ask() -> bool:
        with catalog.session() as s:
            return s.get(row, key.strip().upper()) is not None

    return ask


def visibility_now(guard: Guard, who: Identity) -> Visibility | None:
    """EVERYTHING when that is known without blocking (the profiles are read, none restricts
    LIST to some copy pools, and `who` may LIST); else None: ask `visibility` in a worker thread."""
    if guard.restricts_now(Function.LIST) is False:
        d = guard.decide_now(who, Check(Function.LIST))
        if d is not None and d.allowed:
            return EVERYTHING
    return None


def _footprint(s: Session, hidden: frozenset[str], decisions: dict[str, Decision]) -> Visibility:
    by_pool = repo.groups_by_pool(s)
    used: dict[str, set[str]] = {}  # storage group -> the copy pools that use it (source or backup)
    backup_of = {g.name: g.backup_group for g in repo.storage_groups(s)}
    for pool, pool_groups in by_pool.items():
        for g in pool_groups:
            used.setdefault(g, set()).add(pool)
            if backup_of.get(g):
                used.setdefault(backup_of[g], set()).add(pool)  # type: ignore[arg-type]
    for pool, override in s.exec(select(CopyPoolRow.name, CopyPoolRow.backup_group_override)).all():
        if override:
            used.setdefault(override, set()).add(pool)
    for pool, bsg in s.exec(select(BackupVersionRow.copy_pool, BackupVersionRow.backup_group).distinct()).all():
        if bsg:
            used.setdefault(bsg, set()).add(pool)
    groups = frozenset(g for g, pools in used.items() if pools <= hidden)
    source_groups = {g for p in hidden for g in by_pool.get(p, ())} | set(groups)
    volumes = set(s.exec(select(VolumeRow.volser).where(col(VolumeRow.storage_group).in_(source_groups))).all())
    volumes |= set(
        s.exec(
            select(VersionPairRow.target)
            .join(BackupVersionRow, col(BackupVersionRow.id) == col(VersionPairRow.version_id))
            .where(col(BackupVersionRow.copy_pool).in_(hidden))
        ).all()
    )
    datasets = frozenset(
        s.exec(select(DataSetExtentRow.name).where(col(DataSetExtentRow.volser).in_(volumes)).distinct()).all()
    )
    return Visibility(hidden, frozenset(volumes), groups, datasets, decisions)


__all__ = ["EVERYTHING", "Visibility", "known", "visibility", "visibility_now"]
