"""Read models for operator screens: immutable summaries of copy pools, versions, storage groups,
volumes, relationships and the activity log, built from the catalog and FlashCopy state.

Blocking (catalog reads): call from a worker thread. Nothing here knows about any UI.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select as sa_select
from sqlmodel import Session

from engine.catalog import constructs as repo
from engine.catalog import reads
from engine.catalog.models import BackupVersionRow, VolumeRow
from engine.flashcopy import RelationshipInfo, RelState
from engine.hsm import pool as pools
from engine.hsm import rules, standing
from engine.states import ClassState, DasdState, DumpState, FailedReason
from engine.storageviews import GroupView, VolumeView

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
    incremental: bool  # a valid version is the pool's persistent incremental one
    dump_classes: tuple[str, ...]
    copying: int  # relationships of this pool's versions, and recoveries onto its volumes, still copying
    out_of_sync: int
    tracks: int  # total tracks of those relationships
    description: str
    recovery: standing.Recovery  # how FRRECOV of the pool would run now (its newest recovery point)
    recovery_version: int | None  # ... from this version

    @property
    def percent(self) -> float | None:
        return None if not self.tracks else 100.0 * (1 - self.out_of_sync / self.tracks)


@dataclass(frozen=True, slots=True)
class PairView:
    source: str
    target: str
    storage_group: str
    relationship: RelationshipInfo | None
    restoring: bool  # its relationship copies back onto the pool's volume (a recovery), not to the version
    percent_copied: float | None  # of its copy: the relationship's; 100 once none is left of a version
    # recoverable from DASD (copied and withdrawn); None when there is no copy to speak of


@dataclass(frozen=True, slots=True)
class VersionView:
    id: int
    copy_pool: str
    version: int
    generation: int | None
    token: bytes
    created_at: float
    dasd_state: DasdState
    dump_state: DumpState
    incremental: bool
    fcfrr: bool
    frr_eligible: bool  # FRRECOV would use fast reverse restore now (rules.frr_methods)
    catinfo: str
    recovery_incomplete: bool
    dump_copies: tuple[tuple[str, ClassState], ...]  # (class, state)
    volumes: int  # how many source/target pairs it has (`pairs` lists them)
    recoverable: bool  # FRRECOV from DASD restores its point in time
    on_tape: bool  # a dump class holds every volume
    only_recovery_point: bool  # no other version of the pool can be recovered from, DASD or tape
    why_failed: str  # "" unless FAILED (standing.why_failed)
    failed_at: float  # when it FAILED (0: not failed, or before reasons were recorded)
    recovery: standing.Recovery  # how FRRECOV of this version would run now

    @property
    def is_backup(self) -> bool:
        """A backup version, not the PREPARE entry (which has no generation)."""
        return self.generation is not None


@dataclass(frozen=True, slots=True)
class ActivityView:
    id: int
    at: float
    origin: str
    command: str
    copy_pool: str | None
    return_code: int
    messages: tuple[tuple[str, str], ...]  # (id, text)
    user: str | None  # who ran the command or wrote the entry (None: logged before users existed)


class Views:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _rel(self, rel_id: int | None) -> RelationshipInfo | None:
        rel = self.ctx.flashcopy.core.find(rel_id) if rel_id else None
        return rel.info() if rel is not None else None

    def pools(self, only: str | None = None) -> list[PoolSummary]:
        """A fixed number of reads for any number of pools (four queries a pool cost 0.8 s on a
        500-pool site), and one pass over only the pairs that still have a relationship (not
        every pair of every version: 85 versions x 1,024 volumes the screen does not need)."""
        core = self.ctx.flashcopy.core
        out = []
        with self.ctx.catalog.session() as s:
            c = s.connection()
            live = reads.live_pairs(c)  # version id -> relationship ids
            names = [p for p in repo.copy_pools(s) if only is None or p.name == only]
            groups = repo.groups_by_pool(s)
            sizes = repo.group_sizes(s)
            vols_of = reads.pool_group_volumes(c)
            classes = repo.dump_classes_by_pool(s)
            by_pool = {only: reads.versions(c, only)} if only else reads.versions_by_pool(c)
            backups = {name: pools.backups_among(vers) for name, vers in by_pool.items()}
            newest = {
                n: next((v for v in vers if v.dasd_state == DasdState.RECOVERABLE), None) for n, vers in backups.items()
            }
            frr_pairs = repo.pairs_of_versions(s, [v.key for v in newest.values() if v is not None and v.fcfrr])
        for p in names:
            vers = backups.get(p.name, [])
            valid = [v for v in vers if v.dasd_state == DasdState.RECOVERABLE]
            copying = oos = total = 0
            mine = [rid for v in vers for rid in live.get(v.key, ())]
            volumes = [v for g in groups.get(p.name, ()) for v in vols_of.get(g, ())]
            # background copies only: a NOCOPY relationship's tracks never move (status counts so)
            for rel in [r for rid in mine if (r := core.find(rid)) is not None] + standing.recovering(
                core, volumes, mine
            ):  # ... the versions' copies, and a recovery's copy back
                if rel.state is RelState.COPYING:
                    copying += 1
                    oos += rel.out_of_sync
                    total += rel.length
            first = newest.get(p.name)
            # derived, never stored: what FRRECOV would do now (rules.frr_methods)
            eligible = bool(first and first.fcfrr and rules.frr_methods(core, first, frr_pairs[first.key]))
            dumped = next((v for v in vers if DumpState(v.dump_state).dumped), None)
            point = first or dumped
            recovery = (
                standing.Recovery.NONE
                if point is None
                else standing.recovery_of(eligible, point.incremental, point is first, point is dumped)
            )
            pool_groups = tuple(groups.get(p.name, ()))
            out.append(
                PoolSummary(
                    p.name,
                    pool_groups,
                    sum(sizes.get(g, 0) for g in pool_groups),
                    p.versions,
                    len(valid),
                    first.created_at if first else None,
                    p.fast_reverse_restore,
                    eligible,
                    any(v.incremental for v in valid),
                    tuple(classes.get(p.name, ())),
                    copying,
                    oos,
                    total,
                    p.description,
                    recovery,
                    point.version if point is not None else None,
                )
            )
        return out

    def versions(self, pool: str) -> list[VersionView]:
        """A pool's versions with their pair counts; their pairs come one version at a time
        (`pairs`): 85 versions x 1,024 volumes are 87,040 pairs no screen shows at once. Only
        a version that fast reverse restore could recover reads its pairs here."""
        with self.ctx.catalog.session() as s:
            return self._version_views(s, {pool: reads.versions(s.connection(), pool)}).get(pool, [])

    def every_version(self) -> list[VersionView]:
        """Every pool's versions, as `versions` gives each, in a fixed number of reads (a
        monitor's scrape of a 500-pool site asked `versions` 500 times: 1.1 s)."""
        with self.ctx.catalog.session() as s:
            by_pool = self._version_views(s, reads.versions_by_pool(s.connection()))
        return [v for views in by_pool.values() for v in views]

    def _version_views(self, s: Session, by_pool: dict[str, list[reads.Version]]) -> dict[str, list[VersionView]]:
        from engine.hsm.dump import state_of_class

        every = [v for vers in by_pool.values() for v in vers]
        c = s.connection()
        counts = reads.pair_counts(c, [v.key for v in every])
        frr_pairs = repo.pairs_of_versions(s, [v.key for v in every if v.fcfrr and v.dasd_state in rules.FRR_STATES])
        copies = repo.dump_copies_of(s, [v.key for v in every])
        sources = reads.sources_of_versions(c, list(copies))  # a dump class's state needs the version's sources
        classes_of = {
            v.key: tuple(
                (dc, state_of_class(copies.get(v.key, []), sources.get(v.key, set()), dc))
                for dc in sorted({d.dump_class for d in copies.get(v.key, [])})
            )
            for v in every
        }
        out: dict[str, list[VersionView]] = {}
        for pool, vers in by_pool.items():
            backups = [v for v in vers if v.dasd_state != DasdState.PREPARE]
            points = dict(
                zip(
                    [v.key for v in backups],
                    standing.standings([(DasdState(v.dasd_state), [c for _, c in classes_of[v.key]]) for v in backups]),
                    strict=True,
                )
            )
            generation = {v.key: n for n, v in enumerate(backups)}  # by key: rows compare field by field
            views = out.setdefault(pool, [])
            for v in vers:
                gen = generation.get(v.key)
                classes = classes_of[v.key]
                point = points.get(v.key, standing.Standing(False, False, False))
                frr = v.key in frr_pairs and bool(rules.frr_methods(self.ctx.flashcopy.core, v, frr_pairs[v.key]))
                state = DasdState(v.dasd_state)
                views.append(
                    VersionView(
                        v.key,
                        v.copy_pool,
                        v.version,
                        gen,
                        v.token.rstrip(b"\0"),
                        v.created_at,
                        state,
                        DumpState(v.dump_state),
                        v.incremental,
                        v.fcfrr,
                        frr,
                        v.catinfo,
                        v.recovery_incomplete,
                        classes,
                        counts.get(v.key, 0),
                        point.on_dasd,
                        point.on_tape,
                        point.only_recovery_point,
                        standing.why_failed(state, FailedReason(v.failed_reason), v.failed_by),
                        v.failed_at,
                        standing.recovery_of(frr, v.incremental, point.on_dasd, point.on_tape),
                    )
                )
        return out

    def pairs(self, pool: str, version_id: int) -> list[PairView]:
        """The volume pairs of one version of `pool` (none when it has no such version), with
        each pair's live relationship."""
        with self.ctx.catalog.session() as s:
            version = s.get(BackupVersionRow, version_id)
            if version is None or version.copy_pool != pool:
                return []
            pairs = repo.pairs_of_versions(s, [version_id])[version_id]
            whole = standing.on_dasd(DasdState(version.dasd_state))
        out = []
        for p in pairs:
            rel = self._rel(p.relationship_id)
            copied = rel.percent_complete if rel is not None else 100.0 if whole else None
            out.append(
                PairView(p.source, p.target, p.storage_group, rel, rel is not None and rel.source != p.source, copied)
            )
        return out

    def volumes(self) -> list[VolumeView]:
        """Every volume, read as plain columns (20,000 ORM rows cost 0.4 s)."""
        v = VolumeRow.__table__.c  # type: ignore[attr-defined]  # seven columns: past sqlmodel's select overloads
        with self.ctx.catalog.session() as s:
            rows = (
                s.connection()
                .execute(
                    sa_select(
                        v.volser, v.model, v.cylinders, v.tracks_per_cylinder, v.track_size, v.storage_group, v.online
                    ).order_by(v.volser)
                )
                .all()
            )
        used: dict[str, int] = {}
        for info in self.ctx.datasets.cataloged():
            for e in info.extents:
                used[e.volser] = used.get(e.volser, 0) + e.tracks
        relationships = self.ctx.flashcopy.core.relationship_counts()
        return [
            VolumeView(
                volser,
                model,
                cylinders * per_cylinder,
                track_size,
                group,
                online,
                volser in self.ctx.volumes,
                used.get(volser, 0),
                relationships[volser],
                self.ctx.unavailable.get(volser, ""),
            )
            for volser, model, cylinders, per_cylinder, track_size, group, online in rows
        ]

    def groups(self, volumes: list[VolumeView] | None = None) -> list[GroupView]:
        """Storage groups with their volumes (pass `volumes` when you already have them)."""
        by_group: dict[str | None, list[VolumeView]] = {}
        for vol in self.volumes() if volumes is None else volumes:
            by_group.setdefault(vol.storage_group, []).append(vol)
        with self.ctx.catalog.session() as s:
            pools_of = repo.pools_by_group(s)
            return [
                GroupView(
                    g.name, g.type, g.backup_group, tuple(pools_of.get(g.name, ())), tuple(by_group.get(g.name, ()))
                )
                for g in repo.storage_groups(s)
            ]

    def relationships(self) -> list[RelationshipInfo]:
        return self.ctx.flashcopy.relationships()

    def activity(
        self, limit: int = 500, pool: str | None = None, keep: Callable[[ActivityView], bool] | None = None
    ) -> list[ActivityView]:
        """The newest `limit` entries (of `pool`), newest first; with `keep`, the newest `limit`
        that it keeps, read a page at a time."""
        out: list[ActivityView] = []
        before: int | None = None
        while len(out) < limit:
            page = limit if keep is None else max(limit, 200)
            with self.ctx.catalog.session() as s:
                rows = repo.activity(s, page, pool, before)
            views = [
                ActivityView(
                    r.id or 0,
                    r.at,
                    r.origin,
                    r.command,
                    r.copy_pool,
                    r.return_code,
                    tuple((m["id"], m["text"]) for m in json.loads(r.messages)),
                    r.user,
                )
                for r in rows
            ]
            out += views if keep is None else [v for v in views if keep(v)]
            if keep is None or len(rows) < page:
                break
            before = rows[-1].id
        return out[:limit]

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
