"""Read models for operator screens: immutable summaries of copy pools, versions, storage groups,
volumes, relationships and the activity log, built from the catalog and FlashCopy state.

Blocking (catalog reads): call from a worker thread. Nothing here knows about any UI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import select

from engine.catalog import constructs as repo
from engine.catalog.models import VersionPairRow, VolumeRow
from engine.flashcopy import RelationshipInfo
from engine.hsm import pool as pools
from engine.hsm import rules

if TYPE_CHECKING:
    from engine.hsm.context import Context


@dataclass(frozen=True, slots=True)
class PoolSummary:
    name: str
    storage_groups: tuple[str, ...]
    volumes: int
    versions_kept: int  # VERSIONS
    valid_versions: int
    newest_backup: float | None
    frr_allowed: bool
    frr_eligible: bool  # the newest valid version could be recovered by fast reverse restore now
    incremental: bool
    dump_classes: tuple[str, ...]
    copying: int  # relationships of this pool's versions still copying
    out_of_sync: int
    tracks: int  # total tracks of those relationships
    description: str

    @property
    def percent(self) -> float | None:
        return None if not self.tracks else 100.0 * (1 - self.out_of_sync / self.tracks)


@dataclass(frozen=True, slots=True)
class PairView:
    source: str
    target: str
    storage_group: str
    relationship: RelationshipInfo | None


@dataclass(frozen=True, slots=True)
class VersionView:
    id: int
    copy_pool: str
    version: int
    generation: int | None
    token: bytes
    created_at: float
    dasd_state: str
    dump_state: str
    incremental: bool
    fcfrr: bool
    frr_eligible: bool
    catinfo: str
    recovery_incomplete: bool
    dump_copies: tuple[tuple[str, str], ...]  # (class, state)
    pairs: tuple[PairView, ...]


@dataclass(frozen=True, slots=True)
class VolumeView:
    volser: str
    model: str
    tracks: int
    track_size: int
    storage_group: str | None
    online: bool
    available: bool
    used_tracks: int  # allocated to data sets (VTOC)
    relationships: int
    why_unavailable: str = ""

    @property
    def capacity(self) -> int:
        return self.tracks * self.track_size


@dataclass(frozen=True, slots=True)
class GroupView:
    name: str
    type: str
    backup_group: str | None
    copy_pools: tuple[str, ...]
    volumes: tuple[VolumeView, ...]


@dataclass(frozen=True, slots=True)
class ActivityView:
    id: int
    at: float
    origin: str
    command: str
    copy_pool: str | None
    return_code: int
    messages: tuple[tuple[str, str], ...]  # (id, text)


class Views:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _rel(self, rel_id: int | None) -> RelationshipInfo | None:
        rel = self.ctx.flashcopy.core.find(rel_id) if rel_id else None
        return rel.info() if rel is not None else None

    def pools(self, only: str | None = None) -> list[PoolSummary]:
        """One pass over the pairs that still have a relationship (not every pair of every
        version: 50 pools x 85 versions x 20 volumes is 85,000 rows the screen does not need)."""
        core = self.ctx.flashcopy.core
        out = []
        with self.ctx.catalog.session() as s:
            live: dict[int, list[tuple[str, int]]] = {}
            for vid, source, rid in s.exec(
                select(VersionPairRow.version_id, VersionPairRow.source, VersionPairRow.relationship_id)
            ):
                if rid is not None:
                    live.setdefault(vid, []).append((source, rid))
            for p in repo.copy_pools(s):
                if only is not None and p.name != only:
                    continue
                groups = tuple(repo.pool_groups(s, p.name))
                vols = sum(len(repo.group_volumes(s, g)) for g in groups)
                vers = pools.backups(s, p.name)
                valid = [v for v in vers if v.dasd_state == "RECOVERABLE"]
                copying = oos = total = 0
                for v in vers:
                    for _source, rid in live.get(v.key, ()):
                        rel = core.find(rid)
                        if rel is not None and rel.uncopied.any():
                            copying += 1
                            oos += rel.out_of_sync
                            total += rel.length
                newest = valid[0] if valid else None
                # derived, never stored: what FRRECOV would do now (rules.frr_methods)
                eligible = bool(newest and newest.fcfrr and rules.frr_methods(core, newest, repo.pairs(s, newest.key)))
                out.append(
                    PoolSummary(
                        p.name,
                        groups,
                        vols,
                        p.versions,
                        len(valid),
                        newest.created_at if newest else None,
                        p.fast_reverse_restore,
                        eligible,
                        any(v.incremental for v in valid),
                        tuple(link.dump_class for link in repo.pool_dump_classes(s, p.name)),
                        copying,
                        oos,
                        total,
                        p.description,
                    )
                )
        return out

    def versions(self, pool: str) -> list[VersionView]:
        out = []
        with self.ctx.catalog.session() as s:
            vers = repo.versions(s, pool)
            backups = [v for v in vers if v.dasd_state != "PREPARE"]
            pairs = repo.pairs_of_versions(s, [v.key for v in vers])
            for v in vers:
                gen = backups.index(v) if v in backups else None
                copies = repo.dump_copies(s, v.key)
                from engine.hsm.dump import class_state

                classes = tuple((c, class_state(s, v.key, c)) for c in sorted({d.dump_class for d in copies}))
                frr = bool(v.fcfrr and rules.frr_methods(self.ctx.flashcopy.core, v, pairs[v.key]))
                out.append(
                    VersionView(
                        v.key,
                        v.copy_pool,
                        v.version,
                        gen,
                        v.token.rstrip(b"\0"),
                        v.created_at,
                        v.dasd_state,
                        v.dump_state,
                        v.incremental,
                        v.fcfrr,
                        frr,
                        v.catinfo,
                        v.recovery_incomplete,
                        classes,
                        tuple(
                            PairView(pr.source, pr.target, pr.storage_group, self._rel(pr.relationship_id))
                            for pr in pairs[v.key]
                        ),
                    )
                )
        return out

    def volumes(self) -> list[VolumeView]:
        with self.ctx.catalog.session() as s:
            rows = list(s.exec(select(VolumeRow).order_by(VolumeRow.volser)).all())
        used: dict[str, int] = {}
        for info in self.ctx.datasets.cataloged():
            for e in info.extents:
                used[e.volser] = used.get(e.volser, 0) + e.tracks
        core = self.ctx.flashcopy.core
        return [
            VolumeView(
                r.volser,
                r.model,
                r.cylinders * r.tracks_per_cylinder,
                r.track_size,
                r.storage_group,
                r.online,
                r.volser in self.ctx.volumes,
                used.get(r.volser, 0),
                len({x.id for x in core.outgoing(r.volser) + core.incoming(r.volser)}),
                self.ctx.unavailable.get(r.volser, ""),
            )
            for r in rows
        ]

    def groups(self, volumes: list[VolumeView] | None = None) -> list[GroupView]:
        """Storage groups with their volumes (pass `volumes` when you already have them)."""
        by_group: dict[str | None, list[VolumeView]] = {}
        for v in self.volumes() if volumes is None else volumes:
            by_group.setdefault(v.storage_group, []).append(v)
        with self.ctx.catalog.session() as s:
            return [
                GroupView(
                    g.name,
                    g.type,
                    g.backup_group,
                    tuple(repo.pools_of_group(s, g.name)),
                    tuple(by_group.get(g.name, ())),
                )
                for g in repo.storage_groups(s)
            ]

    def relationships(self) -> list[RelationshipInfo]:
        return self.ctx.flashcopy.relationships()

    def activity(self, limit: int = 500, pool: str | None = None) -> list[ActivityView]:
        with self.ctx.catalog.session() as s:
            rows = repo.activity(s, limit, pool)
        return [
            ActivityView(
                r.id or 0,
                r.at,
                r.origin,
                r.command,
                r.copy_pool,
                r.return_code,
                tuple((m["id"], m["text"]) for m in json.loads(r.messages)),
            )
            for r in rows
        ]

    def band_map(self, volser: str, cells: int) -> tuple[int, list[tuple[float, float]]]:
        """The volume cut into `cells` bands of tracks; per band the share of tracks still to be
        copied onto this volume (it is a target) and off it (it is a source): a live picture of
        a copy or a reverse restore. Counting is done per band in C, never per track."""
        core = self.ctx.flashcopy.core
        n = core.volume(volser).tracks
        cells = max(1, min(cells, n))
        edges = [n * i // cells for i in range(cells + 1)]
        out = []
        rels = [("in", r, r.target_start) for r in core.incoming(volser)] + [
            ("out", r, r.source_start) for r in core.outgoing(volser)
        ]
        for i in range(cells):
            a, b = edges[i], edges[i + 1]
            size = max(b - a, 1)
            inn = outn = 0
            for role, r, start in rels:
                lo, hi = max(a, start), min(b, start + r.length)
                if lo < hi:
                    k = r.uncopied.count(lo - start, hi - start)
                    if role == "in":
                        inn += k
                    else:
                        outn += k
            out.append((min(inn / size, 1.0), min(outn / size, 1.0)))
        return n, out
