"""Crash points: run one HSM command in a forked child that SIGKILLs itself right after its k-th
durable write (catalog commit, journal commit, volume write, tape file), for k = 1, 2, ... until
the command finishes; after each kill the site is opened again and checked against an
independent model of the bytes (what the harness wrote, and what each version must hold).

The model never reads the engine: source contents are what the harness wrote, a version's point
in time is the source contents when its FRBACKUP ran.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import select

from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, DumpCopyRow, IntentRow, VersionPairRow
from engine.flashcopy import CopierSettings
from engine.hsm import dump
from engine.hsm import pool as pools
from engine.messages import CommandResult
from engine.site import Site
from tests.hsm.lies_site import SOURCES, TRACKS, definition, track
from tests.pg import Cluster

DASD = ("RECOVERABLE", "DUMPONLY", "FCFRRINCOMPLETE", "FAILED")


@dataclass
class Model:
    """What the bytes must be: sources as written, each version's point in time."""

    sources: dict[str, list[bytes]] = field(default_factory=dict)
    versions: dict[tuple[str, int], dict[str, list[bytes]]] = field(default_factory=dict)
    datasets: dict[str, list[bytes]] = field(default_factory=dict)  # data set -> contents it may hold

    async def write(self, site: Site, g: int, tracks: int = TRACKS, volumes: list[str] = SOURCES) -> None:
        for v in volumes:
            data = [track(v, g, i) for i in range(tracks)]
            await site.flashcopy.write_run(v, 0, data)
            self.sources[v][:tracks] = data

    async def backup(self, site: Site, pool: str, options: str = "") -> None:
        res = await site.hsm.execute(f"FRBACKUP COPYPOOL({pool}) {options}")
        assert res.rc == 0, res.lines()
        with site.catalog.session() as s:
            newest = pools.backups(s, pool)[0]
        self.versions[(pool, newest.version)] = {v: list(self.sources[v]) for v in SOURCES}


HOST_WRITES = 4  # the generation host writes put on the sources (Scenario.host_writes)


@dataclass(frozen=True)
class Scenario:
    name: str
    command: str
    setup: Callable[[Site, Model], Awaitable[None]]
    recovers: tuple[str, int] | None = None  # the version whose content sources may take
    dataset: str | None = None  # a data set recovery: only its tracks (and the VTOC) may change
    #: what runs instead of the command text (a security change, which is no HSM command)
    action: Callable[[Site], Awaitable[CommandResult]] | None = None
    #: host writes: the action writes generation HOST_WRITES to this many first tracks of every
    #: source, a track at a time, then flushes them; each track reads old or new until the flush
    host_writes: int = 0
    #: what runs once the site is open again after the kill (the next host to drive the site),
    #: and the problems it finds
    afterwards: Callable[[Site], Awaitable[list[str]]] | None = None

    @property
    def pool(self) -> str:
        """The copy pool the command names (LIST after the crash shows it); TWO for the others."""
        named = re.search(r"COPYPOOL\((\w+)\)", self.command)
        return named.group(1) if named else "TWO"

    async def run(self, site: Site) -> CommandResult:
        return await (self.action(site) if self.action else site.hsm.execute(self.command))


class Counter:
    """Counts durable writes in the child and SIGKILLs it right after the k-th."""

    def __init__(self, k: int) -> None:
        self.k, self.n = k, 0

    def hit(self) -> None:
        self.n += 1
        if self.n == self.k:
            os.kill(os.getpid(), signal.SIGKILL)

    def install(self) -> None:
        from sqlalchemy.orm import Session

        from engine.catalog.store import CatalogJournal
        from engine.hsm.tape import TapeWriter
        from engine.storage import Volume

        def after(fn):
            def wrapped(*a, **kw):
                out = fn(*a, **kw)
                self.hit()
                return out

            return wrapped

        Session.commit = after(Session.commit)  # type: ignore[method-assign]
        CatalogJournal.commit = after(CatalogJournal.commit)  # type: ignore[method-assign]
        Volume.write_tracks_sync = after(Volume.write_tracks_sync)  # type: ignore[method-assign]
        Volume.copy_tracks_to_sync = after(Volume.copy_tracks_to_sync)  # type: ignore[method-assign]
        TapeWriter.write_file = after(TapeWriter.write_file)  # type: ignore[method-assign]


def clock() -> Callable[[], float]:
    it = iter(range(1_800_000_000, 1_900_000_000, 60))
    return lambda: float(next(it))


def build(root: Path, scenario: Scenario, cluster: Cluster | None = None) -> tuple[Path, Model]:
    """The site as the scenario's setup leaves it (in the parent), and the model of its bytes;
    its catalog in a database of `cluster` when one is given (else SQLite in the site)."""
    path = root / f"{scenario.name}-base"
    url = cluster.url(cluster.create_database()) if cluster else None
    Site.create(path, definition(), catalog_url=url).close_files()
    model = Model(sources={v: [bytes(len(track(v, 0, 0)))] * TRACKS for v in SOURCES})

    async def run() -> None:
        site = Site.open(path, clock=clock())
        try:
            await scenario.setup(site, model)
        finally:
            await site.close()

    asyncio.run(run())
    return path, model


def run_child(path: Path, scenario: Scenario, k: int, copiers: bool = False) -> bool:
    """Run the scenario's command (or action) on the site at `path` in a child killed after its
    k-th durable write; True when the child was killed, False when it finished first."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            Counter(k).install()

            async def main() -> None:
                site = Site.open(path, clock=clock(), copier=CopierSettings(chunk_tracks=3))
                if copiers:
                    await site.start(auto_dump_interval=None)
                try:
                    res = await scenario.run(site)
                    if res.rc > 4:  # a refused command would prove nothing about its crash points
                        raise AssertionError(f"{scenario.command} ended with RC {res.rc}: {res.lines()}")
                finally:
                    await site.close()  # settles background work (FREND dumps)

            asyncio.run(main())
        except BaseException:  # noqa: BLE001 - the parent sees it as exit code 1
            import traceback

            traceback.print_exc()
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return True
    assert os.WEXITSTATUS(status) == 0, f"the child failed with exit code {os.WEXITSTATUS(status)}"
    return False


def check(path: Path, model: Model, scenario: Scenario) -> list[str]:
    """Open the site (finishing or undoing what the kill interrupted) and compare every promise
    the catalog makes with the model. Returns the problems found."""
    problems: list[str] = []

    async def run() -> None:
        site = Site.open(path, clock=clock())
        try:
            core = site.flashcopy.core
            with site.catalog.session() as s:
                if s.exec(select(IntentRow)).all():
                    problems.append("an intent is still open after Site.open")
                vers = list(s.exec(select(BackupVersionRow)).all())
                pairs = {v.id: repo.pairs(s, v.id) for v in vers}
                copies = list(s.exec(select(DumpCopyRow)).all())
                owned = {p.relationship_id for v in vers if v.dasd_state in DASD for p in pairs[v.id]}
            by_id = {v.id: v for v in vers}
            for v in vers:
                want = model.versions.get((v.copy_pool, v.version)) or model.sources  # new: taken now
                for p in pairs[v.id]:
                    promised = v.dasd_state in ("RECOVERABLE", "DUMPONLY") or (  # DUMPONLY: what its dump reads
                        v.dasd_state == "FCFRRINCOMPLETE" and p.state != "RECOVERED"
                    )
                    if promised and core.read_run(p.target, 0, TRACKS) != want[p.source]:
                        problems.append(
                            f"{v.copy_pool} V{v.version:03d} is {v.dasd_state} but {p.target} does not hold {p.source}'s point in time"
                        )
            for c in copies:
                if c.state != "COMPLETE":
                    continue
                v = by_id[c.version_id]
                want = model.versions.get((v.copy_pool, v.version)) or model.sources
                try:
                    _, tracks = dump.read_copy(site.path, c)
                except Exception as exc:  # noqa: BLE001
                    problems.append(f"COMPLETE dump copy of {c.source} on {c.tape} cannot be read: {exc}")
                    continue
                zero = bytes(len(want[c.source][0]))
                if [tracks.get(i, zero) for i in range(TRACKS)] != want[c.source]:
                    problems.append(f"COMPLETE dump copy of {c.source} on {c.tape} does not hold V{v.version:03d}")
            recovered = model.versions.get(scenario.recovers) if scenario.recovers else None
            if scenario.dataset:
                problems.extend(await _dataset_problems(site, model, scenario.dataset))
            for src in SOURCES if not scenario.dataset else ():
                now = core.read_run(src, 0, TRACKS)
                if scenario.host_writes:
                    new = [track(src, HOST_WRITES, i) for i in range(scenario.host_writes)]
                    if any(now[i] not in (model.sources[src][i], *new[i : i + 1]) for i in range(TRACKS)):
                        problems.append(f"source {src} reads a track that is neither its old nor its new content")
                elif now != model.sources[src] and (recovered is None or now != recovered[src]):
                    problems.append(f"source {src} reads neither its old content nor the recovered point in time")
            for r in core.relationships():
                mine = r.label.startswith("HSM DSN ")  # a data set FlashCopy: the data set's, no version's
                if r.label.startswith("HSM ") and "RECOVER" not in r.label and not mine and r.id not in owned:
                    problems.append(f"relationship {r.id} ({r.label}) belongs to no version")
            with site.catalog.session() as s:  # the site still works: the same pool lists
                assert s.exec(select(VersionPairRow)).all() is not None
                for v in vers:  # DUMPSTATE says what the dump copies say (AUDIT's ERR 405)
                    dump.refresh_dump_state(s, v.id)
                    derived = s.get(BackupVersionRow, v.id).dump_state
                    if derived != v.dump_state:
                        problems.append(
                            f"{v.copy_pool} V{v.version:03d} is DUMPSTATE {v.dump_state}, its dump copies say {derived}"
                        )
                s.rollback()
            res = await site.hsm.execute(f"LIST COPYPOOL({scenario.pool})")
            if res.rc not in (0, 4):
                problems.append(f"LIST answered RC {res.rc} after the crash: {res.lines()}")
            if scenario.afterwards is not None:
                problems.extend(await scenario.afterwards(site))
        finally:
            await site.close()

    asyncio.run(run())
    return problems


async def _dataset_problems(site: Site, model: Model, name: str) -> list[str]:
    """A data set recovery: the data set holds its old content or its backup's, whole; every
    other track of the sources (but the VTOC's) is as it was."""
    from engine.datasets.manager import vtoc_tracks

    out = []
    info = site.datasets.get(name)
    content = await site.datasets.read(name) if info else None
    if content not in model.datasets[name]:
        out.append(f"data set {name} holds neither its old content nor its backup's")
    for src in SOURCES:
        g = site.context.volume(src).geometry
        mine = {
            t for e in (info.extents if info else ()) if e.volser == src for t in range(e.first, e.first + e.tracks)
        }
        now = site.flashcopy.core.read_run(src, 0, TRACKS)
        changed = [
            i
            for i in range(vtoc_tracks(g.tracks, g.track_size), TRACKS)
            if i not in mine and now[i] != model.sources[src][i]
        ]
        if changed:
            out.append(f"{src} tracks {changed} changed outside the data set")
    return out


def crash_every_point(
    root: Path,
    scenario: Scenario,
    ks: list[int] | None = None,
    limit: int = 400,
    copiers: bool = False,
    cluster: Cluster | None = None,
) -> tuple[int, list[str]]:
    """Kill the scenario's command after every durable write (or only after those in `ks`);
    returns (points tried, problems with the k that showed them). With `copiers` the background
    copy runs in the child too (its writes count as crash points); with `cluster` the catalog is
    a PostgreSQL database, copied with the site for every k."""
    base, model = build(root, scenario, cluster)
    problems: list[str] = []
    tried = 0
    for k in ks or range(1, limit + 1):
        work = root / f"{scenario.name}-k{k}"
        if cluster is not None:
            cluster.copy_site(base, work)
        else:
            shutil.copytree(base, work)
        killed = run_child(work, scenario, k, copiers)
        tried += killed
        problems += [f"k={k}{'' if killed else ' (finished)'}: {p}" for p in check(work, model, scenario)]
        if cluster is not None:
            cluster.remove_site(work)
        else:
            shutil.rmtree(work)
        if not killed:
            break
    else:
        if ks is None:
            problems.append(f"the command made more than {limit} durable writes")
    if cluster is not None:
        cluster.remove_site(base)
    return tried, problems
