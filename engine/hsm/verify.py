"""Proof that a recovery or a backup did what it said: SHA-256 digests of what a host reads.

Blocking throughout (it reads volumes and the catalog): call it from a worker thread.
Expectations are taken *before* a command runs (a fast reverse restore invalidates the version it
restores, so its point-in-time content must be read while it is still there): from a version's
target volumes (read through FlashCopy, i.e. the point-in-time image), from a dump tape (its
records, unwritten tracks as zeros), or from the sources (for a backup). After the command, the
same digest of the recovered volume or data set must match.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, VersionPairRow
from engine.command import Action, FrBackup, FrDelete, FromDump, FrRecov, Request, Selection, parse_command
from engine.hsm import dump, rules
from engine.hsm import pool as pools
from engine.states import DasdState, DumpCopyState

if TYPE_CHECKING:
    from sqlmodel import Session

    from engine.hsm.context import Context

STEP = 256  # tracks per read


@dataclass(frozen=True, slots=True)
class Expectation:
    """What one volume or data set must read after the command."""

    kind: str  # "volume" | "dataset" (digest) | "version" | "dumpclass" | "prepare" (a state)
    name: str
    digest: str  # the SHA-256, or the state expected
    origin: str  # where the expected content comes from, for the operator


@dataclass(frozen=True, slots=True)
class Outcome:
    expected: Expectation
    actual: str

    @property
    def ok(self) -> bool:
        return self.expected.digest == self.actual


def tracks_digest(ctx: Context, volser: str, first: int = 0, count: int | None = None, limit: int | None = None) -> str:
    """Digest of the logical content of tracks first..first+count-1 (the first `limit` bytes)."""
    vol = ctx.volume(volser)
    count = vol.tracks - first if count is None else count
    h = hashlib.sha256()
    left = limit
    for start in range(first, first + count, STEP):
        for data in ctx.flashcopy.read_run_blocking(volser, start, min(STEP, first + count - start)):
            if left is not None:
                data = data[:left]
                left -= len(data)
            h.update(data)
    return h.hexdigest()


def volume_digest(ctx: Context, volser: str) -> str:
    """What `flashpool volume checksum` prints."""
    return tracks_digest(ctx, volser)


def dataset_digest(ctx: Context, name: str) -> str:
    return hashlib.sha256(ctx.datasets.read(name)).hexdigest()


def _version(
    ctx: Context, pool: str, sel: Selection, need_dasd: bool
) -> tuple[BackupVersionRow | None, list[VersionPairRow], str]:
    with ctx.catalog.session() as s:
        found = rules.select_version(pools.backups(s, pool), sel, need_dasd)
        if isinstance(found, rules.Refusal):
            return None, [], found.text
        return found, list(repo.pairs(s, found.key)), ""


def expect_from_dasd(ctx: Context, pool: str, sel: Selection, volumes: list[str] | None = None) -> list[Expectation]:
    """Each source volume must read as its target in the chosen version does now."""
    version, prs, why = _version(ctx, pool, sel, need_dasd=True)
    if version is None:
        raise LookupError(why)
    out = []
    for p in prs:
        if volumes is None or p.source in volumes:
            d = tracks_digest(ctx, p.target)
            out.append(Expectation("volume", p.source, d, f"{p.target}, version {version.version:03d}"))
    return out


def expect_from_dump(
    ctx: Context, pool: str, sel: Selection, dump_class: str | None, volumes: list[str] | None = None
) -> list[Expectation]:
    """Each volume must read as its dump tape says (unwritten tracks as zeros)."""
    with ctx.catalog.session() as s:
        cp = repo.copy_pool(s, pool)
        found = rules.select_version(pools.backups(s, pool), sel, need_dasd=False)
        if cp is None or isinstance(found, rules.Refusal):
            raise LookupError(found.text if isinstance(found, rules.Refusal) else f"copy pool {pool} is not defined")
        sources = [p.source for p in repo.pairs(s, found.key)] or sorted(
            {c.source for c in repo.dump_copies(s, found.key)}
        )
        picks = {
            v: dump.choose_dump(s, cp, found, v, dump_class, None) for v in sources if volumes is None or v in volumes
        }
    out = []
    for volser, pick in picks.items():
        if pick.copy is None:
            raise LookupError(pick.why)
        header, tracks = dump.read_copy(ctx.root, pick.copy)
        zero = bytes(header.track_size)
        h = hashlib.sha256()
        for k in range(header.tracks):
            h.update(tracks.get(k, zero))
        out.append(Expectation("volume", volser, h.hexdigest(), f"tape {pick.copy.tape} ({pick.copy.dump_class})"))
    return out


def expect_datasets(
    ctx: Context, names: list[str], pool: str | None, sel: Selection, from_dump: bool = False
) -> list[Expectation]:
    """Each data set must read as it did at backup time: where FRRECOV DSNAME would find it (the
    same lookup: captured catalog information, or the current entry), read from the version's
    targets or its tape, cut to the size it had."""
    from engine.hsm.dsrecover import Found, find_backup

    req = FrRecov(dsnames=tuple(names), from_copypool=pool, selection=sel, from_dump=FromDump() if from_dump else None)
    out = []
    for name in names:
        found = find_backup(ctx, req, name, ctx.datasets.get(name))
        if not isinstance(found, Found):
            continue  # the command will refuse it; nothing to verify
        h = hashlib.sha256()
        left = found.info.bytes_used
        with ctx.catalog.session() as s:
            targets = {p.source: p.target for p in repo.pairs(s, found.version.key)}
            copies = {c.source: c for c in repo.dump_copies(s, found.version.key) if c.state == DumpCopyState.COMPLETE}
        for e in found.info.extents:
            if from_dump:
                c = copies[e.volser]
                header, tracks = dump.read_copy(ctx.root, c)
                run = [tracks.get(k, bytes(header.track_size)) for k in range(e.first, e.first + e.tracks)]
            else:
                run = ctx.flashcopy.read_run_blocking(targets[e.volser], e.first, e.tracks)
            for data in run:
                data = data[:left]
                left -= len(data)
                h.update(data)
        where = "tape" if from_dump else found.pool
        out.append(Expectation("dataset", name, h.hexdigest(), f"{where}, version {found.version.version:03d}"))
    return out


def _numbered(s: Session, pool: str, version: int) -> BackupVersionRow | None:
    """The backup version of `pool` that VERSION(version) names now (None: there is none)."""
    return next((v for v in pools.backups(s, pool) if v.version == version), None)


def _backup_pairs(ctx: Context, pool: str, version: int) -> list[tuple[str, str, int | None]]:
    with ctx.catalog.session() as s:
        v = _numbered(s, pool, version)
        return [] if v is None else [(p.source, p.target, p.relationship_id) for p in repo.pairs(s, v.key)]


def _compare_pair(ctx: Context, source: str, target: str, rel_id: int | None) -> tuple[str, str, int]:
    """Under the FlashCopy lock (one instant): digests of the source and of the target over the
    tracks not written on the source since the flash, and how many were skipped."""
    core = ctx.flashcopy.core
    with core.lock:
        rel = core.find(rel_id) if rel_id is not None else None
        n = core.volume(source).tracks
        changed = rel.changed_src if rel is not None and rel.source == source else None
        hs, ht = hashlib.sha256(), hashlib.sha256()
        skipped = 0
        for first in range(0, n, STEP):
            count = min(STEP, n - first)
            src, tgt = core.read_run(source, first, count), core.read_run(target, first, count)
            for i in range(count):
                if changed is not None and changed.bits[first + i]:
                    skipped += 1
                    continue
                hs.update(src[i])
                ht.update(tgt[i])
    return hs.hexdigest(), ht.hexdigest(), skipped


def check_backup(ctx: Context, pool: str, version: int) -> list[Outcome]:
    """After FRBACKUP: the targets of the version it created (`version`, the number its result
    names) read what their sources held at the flash. Read after the flash (so the point in time
    is the one the operator asked for), comparing each target with its source on every track not
    written since (the relationship's change recording says which). Only a version still valid
    once its targets were read is compared: one rolled off, deleted or withdrawn meanwhile (its
    targets perhaps another version's now) gives one outcome saying so, and none per volume."""
    out = []
    for source, target, rel_id in _backup_pairs(ctx, pool, version):
        want, got, skipped = _compare_pair(ctx, source, target, rel_id)
        note = f"target {target} of version {version:03d} against {source} at the flash" + (
            f"; {skipped} track(s) written since were skipped" if skipped else ""
        )
        out.append(Outcome(Expectation("volume", source, want, note), got))
    state = version_state(ctx, pool, version)  # after the reads: a version that changed meanwhile proves nothing
    if state != "valid":
        why = f"version {version:03d} of {pool} to compare its targets with their sources: nothing compared"
        return [Outcome(Expectation("version", f"{pool} {version}", "valid", why), state)]
    return out


def version_state(ctx: Context, pool: str, version: int) -> str:
    """ "valid", "invalid" (no usable DASD copy) or "gone" (no longer in the catalog)."""
    with ctx.catalog.session() as s:
        v = _numbered(s, pool, version)
    return "gone" if v is None else "valid" if v.dasd_state == DasdState.RECOVERABLE else "invalid"


def dump_state(ctx: Context, pool: str, version: int, dump_class: str) -> str:
    with ctx.catalog.session() as s:
        v = _numbered(s, pool, version)
        have = v is not None and any(c.dump_class == dump_class for c in repo.dump_copies(s, v.key))
    return "present" if have else "gone"


def prepared_pairs(ctx: Context, pool: str) -> str:
    with ctx.catalog.session() as s:
        prep = [v for v in repo.versions(s, pool) if v.dasd_state == DasdState.PREPARE]
        return f"{sum(len(repo.pairs(s, v.key)) for v in prep)} target(s) assigned"


def expect_prepared(ctx: Context, pool: str) -> Expectation:
    """PREPARE assigns a target to every source volume for each version not yet on DASD."""
    with ctx.catalog.session() as s:
        cp = repo.copy_pool(s, pool)
        dasd = [v for v in repo.versions(s, pool) if v.dasd_state in repo.DASD_STATES]
        sets = max(cp.versions - len(dasd), 0) if cp else 0
        n = len(pools.sources(s, cp)) * sets if cp else 0
    return Expectation("prepare", pool, f"{n} target(s) assigned", "source volumes x versions still to take")


def expect_for(ctx: Context, command: str | Request) -> list[Expectation]:
    """What the command must leave behind, read before it runs: the recovered volumes' or data
    sets' point-in-time digests, or the states a withdraw, delete or PREPARE promises. A backup
    is checked after it ran (check_backup); what cannot be predicted gives no expectation.
    Raises LookupError when the command names nothing that can be read."""
    req = parse_command(command) if isinstance(command, str) else command
    if isinstance(req, FrRecov):
        sel = req.selection
        if req.level == "DATASET" and req.newname is not None:
            (name,) = req.dsnames
            backup = expect_datasets(ctx, [name], req.from_copypool, sel, from_dump=req.from_dump is not None)
            out = [Expectation("dataset", req.newname, e.digest, e.origin) for e in backup]
            if ctx.datasets.get(name) is not None:  # the original is left as it is
                out.append(Expectation("dataset", name, dataset_digest(ctx, name), "the original, unchanged"))
            return out
        if req.level == "DATASET":
            names: list[str] = []
            for pattern in req.dsnames:
                names += (
                    [d.name for d in ctx.datasets.cataloged(pattern)] if any(c in pattern for c in "*%") else [pattern]
                )
            return expect_datasets(ctx, names, req.from_copypool, sel, from_dump=req.from_dump is not None)
        pool = req.copypool
        if pool is None and req.volume:
            with ctx.catalog.session() as s:
                found = pools.of_volume(s, req.volume, req.from_copypool)
            if isinstance(found, rules.Refusal):
                raise LookupError(found.text)
            pool = found
        volumes = [req.volume] if req.volume else None
        if req.from_dump is not None:
            return expect_from_dump(ctx, pool or "", sel, req.from_dump.dump_class, volumes)
        return expect_from_dasd(ctx, pool or "", sel, volumes)
    if isinstance(req, FrBackup) and req.action is Action.WITHDRAW:
        with ctx.catalog.session() as s:
            valid = [v for v in pools.backups(s, req.copypool) if v.dasd_state == DasdState.RECOVERABLE]
        return [Expectation("version", f"{req.copypool} {valid[0].version}", "invalid", "withdrawn")] if valid else []
    if isinstance(req, FrBackup) and req.action is Action.PREPARE:
        return [expect_prepared(ctx, req.copypool)]
    if isinstance(req, FrDelete) and req.scope == "BOTH":
        return [Expectation("version", f"{req.copypool} {n}", "gone", "deleted") for n in req.versions]
    if isinstance(req, FrDelete) and req.scope == "DUMPONLY" and req.dump_classes:
        return [
            *(
                Expectation("dumpclass", f"{req.copypool} {n} {c}", "gone", "dump deleted")
                for n in req.versions
                for c in req.dump_classes
            ),
            *(
                Expectation("version", f"{req.copypool} {n}", version_state(ctx, req.copypool, n), "DASD copy kept")
                for n in req.versions
            ),
        ]
    return []


def check(ctx: Context, expected: list[Expectation]) -> list[Outcome]:
    """Digest what the volumes / data sets read now, and the states that were promised."""
    out = []
    for e in expected:
        if e.kind == "version":
            pool, num = e.name.rsplit(" ", 1)
            out.append(Outcome(e, version_state(ctx, pool, int(num))))
            continue
        if e.kind == "dumpclass":
            pool, num, cls = e.name.rsplit(" ", 2)
            out.append(Outcome(e, dump_state(ctx, pool, int(num), cls)))
            continue
        if e.kind == "prepare":
            out.append(Outcome(e, prepared_pairs(ctx, e.name)))
            continue
        if e.kind == "dataset":
            actual = dataset_digest(ctx, e.name) if ctx.datasets.get(e.name) else "(not cataloged)"
        else:
            actual = tracks_digest(ctx, e.name) if e.name in ctx.volumes else "(no such volume)"
        out.append(Outcome(e, actual))
    return out


__all__ = [
    "Expectation",
    "Outcome",
    "check",
    "check_backup",
    "dataset_digest",
    "dump_state",
    "expect_datasets",
    "expect_for",
    "expect_from_dasd",
    "expect_from_dump",
    "expect_prepared",
    "prepared_pairs",
    "tracks_digest",
    "version_state",
    "volume_digest",
]
