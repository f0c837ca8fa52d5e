"""The site's volumes in *domains*, the unit a host of the plex owns: the volumes that copy pools
join together (each pool's storage groups, the copy pool backup storage group of each, and the
one a pool names instead), so that every relationship FRBACKUP or FRRECOV makes lies within one
domain and one owner drives all of it. A volume in no copy pool's reach is a domain of its own.
A domain is named after the first of its storage groups by name (or its volume), which stays
its name as long as the configuration keeps that group in it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, select

from engine.catalog.models import CopyPoolGroupRow, CopyPoolRow, StorageGroupRow, VolumeRow

#: the owner row that stands for driving the site itself, owned with the domains (a site without
#: volumes has it too): every write of the host that is not a relationship's holds it shared
#: (engine.plex.ownership). Not a domain: storage group names and volsers are upper case.
SITE = "(site)"

_SG = StorageGroupRow.__table__  # type: ignore[attr-defined]
_CP = CopyPoolRow.__table__  # type: ignore[attr-defined]
_CPG = CopyPoolGroupRow.__table__  # type: ignore[attr-defined]
_VOL = VolumeRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Domains:
    of_volume: dict[str, str]  # volser -> its domain's name
    of_pool: dict[str, str]  # copy pool -> its domain's name

    def names(self) -> list[str]:
        return sorted(set(self.of_volume.values()))

    def volumes(self, domain: str) -> list[str]:
        return sorted(v for v, d in self.of_volume.items() if d == domain)


class _Joined:
    """Union-find over storage group names (the smallest name stands for its set)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def domains(
    groups: list[tuple[str, str | None]],
    pools: list[tuple[str, list[str], str | None]],
    volumes: list[tuple[str, str | None]],
) -> Domains:
    """From (group, its backup group), (pool, its groups, the backup group it names instead) and
    (volser, its group)."""
    joined = _Joined()
    backup = dict(groups)
    for name, _ in groups:
        joined.find(name)
    for _, members, override in pools:
        for g in members:
            joined.join(members[0], g)
            for bsg in (backup.get(g), override):
                if bsg:
                    joined.join(g, bsg)
    of_volume = {v: joined.find(g) if g else v for v, g in volumes}
    of_pool = {p: joined.find(members[0]) for p, members, _ in pools if members}
    return Domains(of_volume, of_pool)


def read(c: Connection) -> Domains:
    """The site's domains as its catalog's configuration makes them now."""
    groups = [(r.name, r.backup_group) for r in c.execute(select(_SG.c.name, _SG.c.backup_group))]
    members: dict[str, list[str]] = defaultdict(list)
    for r in c.execute(select(_CPG.c.copy_pool, _CPG.c.storage_group).order_by(_CPG.c.copy_pool, _CPG.c.position)):
        members[r.copy_pool].append(r.storage_group)
    pools = [
        (r.name, members[r.name], r.backup_group_override)
        for r in c.execute(select(_CP.c.name, _CP.c.backup_group_override))
    ]
    volumes = [(r.volser, r.storage_group) for r in c.execute(select(_VOL.c.volser, _VOL.c.storage_group))]
    return domains(groups, pools, volumes)


__all__ = ["SITE", "Domains", "domains", "read"]
