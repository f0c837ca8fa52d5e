"""Damaged files (issue "Nothing a user types ..."): random byte flips, zeroed pages and
truncations in the catalog, the volume images and the tapes of a site with versions and dump
copies. Opening the site either works or is refused with a domain error; every command then
ends in an RC with messages, never an exception; nothing outside the site is written; and a
dump copy that reads back at all reads back exactly what was dumped (a tape never lies)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import FlashpoolError
from engine.hsm import dump
from engine.site import Site
from tests.hsm.lies_site import SOURCES, TRACKS, copy_of, definition, generation

SOAK = os.environ.get("FLASHPOOL_SOAK") == "1"

COMMANDS = [
    "LIST COPYPOOL(TWO) ALLVOLS(ALLVERS)",
    "QUERY COPYPOOL(TWO)",
    "FRRECOV COPYPOOL(TWO) FROMDUMP",
    "FRRECOV TOVOLUME(SRC001) FROMCOPYPOOL(TWO)",
    "FRRECOV DSNAME(APP.DATA) REPLACE FROMCOPYPOOL(TWO) FROMDUMP",
    "FRBACKUP COPYPOOL(TWO) DUMP",
    "FRBACKUP COPYPOOL(TWO) DUMPONLY",
    "FRDELETE COPYPOOL(TWO) VERSIONS(1) BOTH",
    "FRRECOV COPYPOOL(FRR)",
    "LIST COPYPOOL(FRR)",
]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """Versions on DASD and on tape, a data set, a fast-reverse-restore version, copies running."""
    path = tmp_path_factory.mktemp("corrupt") / "base"
    Site.create(path, definition()).close_files()

    async def seed() -> None:
        site = Site.open(path)
        try:
            for g, v in enumerate(SOURCES):
                await site.flashcopy.write_run(v, 0, generation(v, g + 1))
            await site.datasets.allocate("APP.DATA", 3, ["SRC001"])
            await site.datasets.write("APP.DATA", b"payroll records " * 64)
            for cmd in ("FRBACKUP COPYPOOL(TWO) DUMP", "FRBACKUP COPYPOOL(FRR)", "FRBACKUP COPYPOOL(TWO) DUMP"):
                assert (await site.hsm.execute(cmd)).rc == 0
            await site.flashcopy.write_run("SRC002", 0, generation("SRC002", 9))
        finally:
            await site.close()

    asyncio.run(seed())
    return path


def files_of(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*") if p.is_file() and p.name != "site.lock")


damage = st.tuples(
    st.integers(min_value=0, max_value=10_000),  # which file (modulo how many there are)
    st.sampled_from(["flip", "zero-page", "truncate", "noise-page"]),
    st.floats(min_value=0.0, max_value=1.0),  # where in the file
    st.integers(min_value=1, max_value=24),  # how many bytes flipped
    st.randoms(use_true_random=False),
)


def spoil(path: Path, kind: str, where: float, n: int, rnd) -> None:
    size = path.stat().st_size
    at = int(where * max(size - 1, 0))
    with open(path, "r+b") as f:
        if kind == "truncate":
            f.truncate(at)
        elif kind in ("zero-page", "noise-page"):
            page = at - at % 4096
            f.seek(page)
            f.write(bytes(4096) if kind == "zero-page" else rnd.randbytes(4096))
        else:
            for _ in range(n):
                pos = rnd.randrange(max(size, 1))
                f.seek(pos)
                old = f.read(1) or b"\0"
                f.seek(pos)
                f.write(bytes([old[0] ^ (1 << rnd.randrange(8))]))


async def exercise(path: Path) -> list[str]:
    """Open the damaged site and run every command; returns what went wrong (not what was refused)."""
    problems: list[str] = []
    try:
        site = Site.open(path)
    except FlashpoolError:
        return problems  # refused with a domain message (the CLI prints it in one line)
    try:
        await site.start(auto_dump_interval=None)
        for cmd in COMMANDS:
            res = await site.hsm.execute(cmd)
            if not res.lines():
                problems.append(f"{cmd}: RC {res.rc} without a message")
        await site.hsm.settle()
        problems += await asyncio.to_thread(_tapes_never_lie, site)
    finally:
        await site.close()
    return problems


def _tapes_never_lie(site: Site) -> list[str]:
    """A dump copy either fails to read (TapeError) or gives back whole tracks of its volume."""
    from sqlmodel import select

    from engine.catalog.models import DumpCopyRow
    from engine.hsm.tape import TapeError

    out = []
    try:
        with site.catalog.session() as s:
            copies = list(s.exec(select(DumpCopyRow)).all())
    except Exception:  # noqa: BLE001 - a catalog too damaged to list: the commands said so already
        return out
    for c in copies:
        try:
            header, tracks = dump.read_copy(site.path, c)
        except TapeError:
            continue
        if any(len(t) != header.track_size or not 0 <= k < TRACKS for k, t in tracks.items()):
            out.append(f"dump copy of {c.source} on {c.tape} read back tracks of the wrong size or place")
    return out


@settings(
    max_examples=1000 if SOAK else 40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=not SOAK
)
@given(damages=st.lists(damage, min_size=1, max_size=3))
def test_damaged_files_never_crash_flashpool_or_make_it_write_elsewhere(base, damages):
    with copy_of(base) as path:
        outside = path.parent
        before = {p.name: p.stat().st_mtime_ns for p in outside.iterdir() if p != path}
        files = files_of(path)
        for which, kind, where, n, rnd in damages:
            spoil(files[which % len(files)], kind, where, n, rnd)
        problems = asyncio.run(exercise(path))
        assert not problems, "\n".join(problems)
        after = {p.name: p.stat().st_mtime_ns for p in outside.iterdir() if p != path}
        assert after == before  # nothing written beside the site
