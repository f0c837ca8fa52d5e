"""Proof that a recovery or a backup did what it said: SHA-256 digests of what a host reads.

Expectations are taken *before* a command runs (a fast reverse restore invalidates the version it
restores, so its point-in-time content must be read while it is still there): from a version's
target volumes (read through FlashCopy, i.e. the point-in-time image), from a dump tape (its
records, unwritten tracks as zeros), or from the sources (for a backup). After the command, the
same digest of the recovered volume or data set must match.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.catalog import constructs as repo
from engine.command import FromDump, FrRecov, Selection
from engine.hsm import dump
from engine.hsm import pool as pools


if TYPE_CHECKING:
    from engine.site import Site

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


async def tracks_digest(site: Site, volser: str, first: int = 0, count: int | None = None,
                        limit: int | None = None) -> str:
    """Digest of the logical content of tracks first..first+count-1 (the first `limit` bytes)."""
    vol = site.volume(volser)
    count = vol.tracks - first if count is None else count
    h = hashlib.sha256()
    left = limit
    for start in range(first, first + count, STEP):
        for data in await site.flashcopy.read_run(volser, start, min(STEP, first + count - start)):
            if left is not None:
                data = data[:left]
                left -= len(data)
            h.update(data)
    return h.hexdigest()


async def volume_digest(site: Site, volser: str) -> str:
    """What `flashpool volume checksum` prints."""
    return await tracks_digest(site, volser)


async def dataset_digest(site: Site, name: str) -> str:
    return hashlib.sha256(await site.datasets.read(name)).hexdigest()


def _version(site: Site, pool: str, sel: Selection, need_dasd: bool):  # noqa: ANN202
    with site.catalog.session() as s:
        choice = pools.choose(s, pool, sel, need_dasd=need_dasd)
        if choice.version is None:
            return None, [], choice.why
        return choice.version, list(repo.pairs(s, choice.version.id)), ""


async def expect_from_dasd(site: Site, pool: str, sel: Selection, volumes: list[str] | None = None) -> list[Expectation]:
    """Each source volume must read as its target in the chosen version does now."""
    version, prs, why = _version(site, pool, sel, need_dasd=True)
    if version is None:
        raise LookupError(why)
    out = []
    for p in prs:
        if volumes is None or p.source in volumes:
            d = await tracks_digest(site, p.target)
            out.append(Expectation("volume", p.source, d, f"{p.target}, version {version.version:03d}"))
    return out


async def expect_from_dump(site: Site, pool: str, sel: Selection, dump_class: str | None,
                           volumes: list[str] | None = None) -> list[Expectation]:
    """Each volume must read as its dump tape says (unwritten tracks as zeros)."""
    with site.catalog.session() as s:
        cp = repo.copy_pool(s, pool)
        choice = pools.choose(s, pool, sel, need_dasd=False)
        if cp is None or choice.version is None:
            raise LookupError(choice.why or f"copy pool {pool} is not defined")
        sources = [p.source for p in repo.pairs(s, choice.version.id)] or sorted(
            {c.source for c in repo.dump_copies(s, choice.version.id)})
        picks = {v: dump.choose_dump(s, cp, choice.version, v, dump_class, None) for v in sources
                 if volumes is None or v in volumes}
    out = []
    for volser, pick in picks.items():
        if pick.copy is None:
            raise LookupError(pick.why)
        header, tracks = await asyncio.to_thread(dump.read_copy, site.path, pick.copy)
        zero = bytes(header.track_size)
        h = hashlib.sha256()
        for k in range(header.tracks):
            h.update(tracks.get(k, zero))
        out.append(Expectation("volume", volser, h.hexdigest(), f"tape {pick.copy.tape} ({pick.copy.dump_class})"))
    return out


async def expect_datasets(site: Site, names: list[str], pool: str | None, sel: Selection,
                          from_dump: bool = False) -> list[Expectation]:
    """Each data set must read as it did at backup time: where FRRECOV DSNAME would find it (the
    same lookup: captured catalog information, or the current entry), read from the version's
    targets or its tape, cut to the size it had."""
    from engine.hsm.dsrecover import Found, find_backup

    req = FrRecov(dsnames=tuple(names), from_copypool=pool, selection=sel,
                  from_dump=FromDump() if from_dump else None)
    out = []
    for name in names:
        found = find_backup(site.hsm, req, name, site.datasets.get(name))
        if not isinstance(found, Found):
            continue  # the command will refuse it; nothing to verify
        h = hashlib.sha256()
        left = found.info.bytes_used
        with site.catalog.session() as s:
            targets = {p.source: p.target for p in repo.pairs(s, found.version.id)}
            copies = {c.source: c for c in repo.dump_copies(s, found.version.id) if c.state == "COMPLETE"}
        for e in found.info.extents:
            if from_dump:
                c = copies[e.volser]
                header, tracks = await asyncio.to_thread(dump.read_copy, site.path, c)
                run = [tracks.get(k, bytes(header.track_size)) for k in range(e.first, e.first + e.tracks)]
            else:
                run = await site.flashcopy.read_run(targets[e.volser], e.first, e.tracks)
            for data in run:
                data = data[:left]
                left -= len(data)
                h.update(data)
        where = "tape" if from_dump else found.pool
        out.append(Expectation("dataset", name, h.hexdigest(), f"{where}, version {found.version.version:03d}"))
    return out


async def expect_backup(site: Site, pool: str) -> list[Expectation]:
    """A backup must hold what the sources read when it was taken (nothing writes in between)."""
    with site.catalog.session() as s:
        cp = repo.copy_pool(s, pool)
        srcs = [x.volser for x in pools.sources(s, cp)] if cp else []
    return [Expectation("volume", v, await tracks_digest(site, v), f"{v} before the backup") for v in srcs]


def version_state(site: Site, pool: str, version: int) -> str:
    """"valid", "invalid" (no usable DASD copy) or "gone" (no longer in the catalog)."""
    with site.catalog.session() as s:
        v = next((v for v in pools.backups(s, pool) if v.version == version), None)
    return "gone" if v is None else "valid" if v.dasd_state == "RECOVERABLE" else "invalid"


def dump_state(site: Site, pool: str, version: int, dump_class: str) -> str:
    with site.catalog.session() as s:
        v = next((v for v in pools.backups(s, pool) if v.version == version), None)
        have = v is not None and any(c.dump_class == dump_class for c in repo.dump_copies(s, v.id))
    return "present" if have else "gone"


def prepared_pairs(site: Site, pool: str) -> str:
    with site.catalog.session() as s:
        prep = [v for v in repo.versions(s, pool) if v.dasd_state == "PREPARE"]
        return f"{sum(len(repo.pairs(s, v.id)) for v in prep)} target(s) assigned"


def expect_prepared(site: Site, pool: str) -> Expectation:
    """PREPARE assigns a target to every source volume for each version not yet on DASD."""
    with site.catalog.session() as s:
        cp = repo.copy_pool(s, pool)
        dasd = [v for v in repo.versions(s, pool) if v.dasd_state in repo.DASD_STATES]
        sets = max(cp.versions - len(dasd), 0) if cp else 0
        n = len(pools.sources(s, cp)) * sets if cp else 0
    return Expectation("prepare", pool, f"{n} target(s) assigned", "source volumes x versions still to take")


async def check(site: Site, expected: list[Expectation], *, backup_of: str | None = None) -> list[Outcome]:
    """Digest what the volumes / data sets read now. With `backup_of`, volumes are read on the
    newest version's targets (where a backup put them) instead of on the sources."""
    where: dict[str, str] = {}
    if backup_of:
        with site.catalog.session() as s:
            vers = pools.backups(s, backup_of)
            if vers:
                where = {p.source: p.target for p in repo.pairs(s, vers[0].id)}
    out = []
    for e in expected:
        if e.kind == "version":
            pool, num = e.name.rsplit(" ", 1)
            out.append(Outcome(e, version_state(site, pool, int(num))))
            continue
        if e.kind == "dumpclass":
            pool, num, cls = e.name.rsplit(" ", 2)
            out.append(Outcome(e, dump_state(site, pool, int(num), cls)))
            continue
        if e.kind == "prepare":
            out.append(Outcome(e, prepared_pairs(site, e.name)))
            continue
        if e.kind == "dataset":
            actual = await dataset_digest(site, e.name) if site.datasets.get(e.name) else "(not cataloged)"
        else:
            vol = where.get(e.name, e.name)
            actual = await tracks_digest(site, vol) if vol in site.volumes else "(no such volume)"
        out.append(Outcome(e, actual))
    return out


__all__ = ["Expectation", "Outcome", "check", "dump_state", "expect_prepared", "prepared_pairs", "version_state", "dataset_digest", "expect_backup", "expect_datasets",
           "expect_from_dasd", "expect_from_dump", "tracks_digest", "volume_digest"]
