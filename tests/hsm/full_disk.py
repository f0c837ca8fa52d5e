"""A full disk at every write point: the file system that holds the site fills up at the k-th
write a command makes (a volume image write or copy, a flush, a tape write, a catalog or
FlashCopy-journal commit) and stays full; then space is freed. For k = 1, 2, ... until the
command no longer reaches its k-th write:

- the command ends with a result (never an exception); when it failed, its messages say the
  disk is full and nothing advises restoring the catalog;
- the background copy parks instead of failing the site, and `--wait`'s check sees it parked;
- once space is back, parked copies resume, the failed command issued again works (or first
  finishes what the failure left half-done, FPL140I, when that was the whole command; or says
  what to do instead, which then works), and every
  promise the catalog makes (RECOVERABLE versions, COMPLETE dump copies, sources) holds against
  the independent model of tests.hsm.crash_points, the same check the crash points use.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from engine.catalog.store import CatalogJournal
from engine.flashcopy import CopierSettings
from engine.hsm import tape
from engine.site import Site
from tests.hsm.crash_points import Scenario, build, check, clock


class DiskFull:
    """Counts write points; from the k-th on, each fails as a full file system makes it fail."""

    def __init__(self, k: int) -> None:
        self.k, self.n, self.full = k, 0, False
        self.hits: list[str] = []

    def point(self, what: str) -> None:
        self.n += 1
        if self.n >= self.k and self.k > 0:
            self.full = True
        if self.full:
            self.hits.append(what)
            raise OSError(errno.ENOSPC, "No space left on device")

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Patch the write points (restored on exit, and by free())."""
        saved: list[tuple[Any, str, Any]] = []

        def patch(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
            real = getattr(owner, name)
            saved.append((owner, name, real))
            setattr(owner, name, make(real))

        def os_call(what: str) -> Callable[[Any], Any]:
            def make(real: Any) -> Any:
                def call(*a: Any, **k: Any) -> Any:
                    self.point(what)
                    return real(*a, **k)

                return call

            return make

        def commit(real: Any) -> Any:
            def call(session: Any, *a: Any, **k: Any) -> Any:
                try:
                    self.point("catalog commit")
                except OSError:
                    session.rollback()
                    raise OperationalError("COMMIT", {}, sqlite3.OperationalError("database or disk is full")) from None
                return real(session, *a, **k)

            return call

        def journal(real: Any) -> Any:
            def call(j: Any, *a: Any, **k: Any) -> Any:
                try:
                    self.point("journal commit")
                except OSError:
                    raise sqlite3.OperationalError("database or disk is full") from None
                return real(j, *a, **k)

            return call

        class TapeFile:
            """The tape writer's file, whose writes reach the (full) disk."""

            def __init__(self, f: Any) -> None:
                self._f = f

            def write(self, data: bytes) -> int:
                disk.point("tape write")
                return self._f.write(data)

            def __getattr__(self, name: str) -> Any:
                return getattr(self._f, name)

        disk = self
        patch(os, "pwrite", os_call("image write"))
        patch(os, "pwritev", os_call("image write"))
        patch(os, "copy_file_range", os_call("image copy"))
        patch(os, "fdatasync", os_call("image flush"))
        patch(Session, "commit", commit)
        patch(CatalogJournal, "_commit_sqlite", journal)

        def tape_open(file: Any, mode: str = "r", *a: Any, **k: Any) -> Any:
            f = open(file, mode, *a, **k)  # noqa: SIM115 - the caller closes it
            return f if "r" in mode else TapeFile(f)

        tape.open = tape_open  # type: ignore[attr-defined]
        try:
            yield
        finally:
            del tape.open  # type: ignore[attr-defined]
            for owner, name, real in reversed(saved):
                setattr(owner, name, real)

    def free(self) -> None:
        self.full, self.k = False, 0


async def run_full(path: Path, scenario: Scenario, k: int) -> tuple[bool, list[str]]:
    """Run the scenario's command with the disk filling at its k-th write; returns (the disk
    filled, problems seen while it was full and just after space came back)."""
    problems: list[str] = []
    disk = DiskFull(k)
    site = Site.open(path, clock=clock(), copier=CopierSettings(chunk_tracks=3, retry_seconds=3600))
    await site.start(auto_dump_interval=None)
    try:
        with disk.installed():
            site.flashcopy.pause()  # the command's own writes first, deterministically
            res = await site.hsm.execute(scenario.command)
            await site.hsm.settle()
            text = " ".join(res.lines())
            if disk.hits and res.rc != 0 and "no space left" not in text:
                problems.append(f"RC {res.rc} on a full disk without saying so: {res.lines()}")
            if "restore it from a copy" in text or "catalog damage" in text:
                problems.append(f"advises restoring an intact catalog: {res.lines()}")
            site.flashcopy.pause(False)  # the background copy meets the full disk too
            await site.flashcopy.wait_idle(timeout=30)
            if site.flashcopy.core.copy_candidates() and disk.full and not site.flashcopy.failed:
                problems.append("copies are left to do on a full disk but none is parked")
            filled = bool(disk.hits)
        # space is back
        site.flashcopy.retry_failed()
        await site.flashcopy.wait_idle(timeout=30)
        if site.flashcopy.failed:
            problems.append(f"copies still parked after space came back: {site.flashcopy.failed}")
        if filled and res.rc >= 8:  # failed (a warning means done, with something left to tidy)
            again = await site.hsm.execute(scenario.command)
            if again.rc >= 8 and "(FRBACKUP DUMPONLY)" in " ".join(again.lines()):  # do as it says
                again = await site.hsm.execute(f"FRBACKUP COPYPOOL({scenario.pool}) DUMPONLY")
            finished = any(line.startswith("FPL140I") for line in again.lines())  # what the failure left, done now
            if again.rc not in (0, 4) and not finished:
                problems.append(f"issued again once space was back: RC {again.rc}: {again.lines()}")
            await site.hsm.settle()
            await site.flashcopy.wait_idle(timeout=30)
    finally:
        await site.close()
    return filled, problems


def fill_every_point(root: Path, scenario: Scenario, limit: int = 400, step: int = 1) -> tuple[int, list[str]]:
    """The disk fills at each write point of the scenario's command in turn (every `step`-th);
    returns (points tried, problems with the k that showed them)."""
    base, model = build(root, scenario)
    problems: list[str] = []
    tried = 0
    for k in range(1, limit + 1, step):
        work = root / f"{scenario.name}-full{k}"
        shutil.copytree(base, work)
        filled, seen = asyncio.run(run_full(work, scenario, k))
        tried += filled
        problems += [f"k={k}: {p}" for p in seen + check(work, model, scenario)]
        shutil.rmtree(work)
        if not filled:
            break
    else:
        problems.append(f"the command made more than {limit} writes")
    return tried, problems
