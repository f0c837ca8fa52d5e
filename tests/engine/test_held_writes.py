"""Held host writes (the FlashCopy core's write cache, docs/ATOMICITY.md): a copy-on-write host
write waits for the group commit that makes the old track and its bits durable; reads see it at
once; a process that dies holding writes loses none of them (the log replays); a torn log entry
ends the replay; a site opened without durability holds nothing."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sqlmodel import select

from engine.catalog.models import ActivityRow
from engine.flashcopy.heldlog import HeldLog
from engine.site import HELD_LOG, Site
from tests.hsm.crash_points import clock
from tests.hsm.lies_site import SOURCES, TRACKS, definition, track


def _site(path: Path) -> Path:
    Site.create(path, definition()).close_files()
    return path


async def _backup(site: Site) -> None:
    for v in SOURCES:
        await site.flashcopy.write_run(v, 0, [track(v, 1, i) for i in range(TRACKS)])
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(TWO)")).rc == 0  # no copier: every bit still set


def _targets(site: Site) -> dict[str, str]:
    return {r.source: r.target for r in site.flashcopy.core.relationships()}


async def test_a_copy_on_write_is_held_until_the_group_commit_and_read_at_once(tmp_path) -> None:
    site = Site.open(_site(tmp_path / "site"), clock=clock())
    try:
        await _backup(site)
        core, src = site.flashcopy.core, SOURCES[0]
        tgt = _targets(site)[src]
        await asyncio.to_thread(core.write, src, 3, track(src, 2, 3))
        assert core.held == 1 and site.context.volume(src).holding == 1
        assert core.read(src, 3) == track(src, 2, 3)  # the host reads what it wrote
        assert core.read(tgt, 3) == track(src, 1, 3)  # the version keeps its point in time
        raw = site.context.volume(src)
        with open(raw.path, "rb") as f:  # the image itself still has the old track: ordering
            f.seek(3 * raw.geometry.slot_size)
            assert f.read(raw.geometry.track_size) == track(src, 1, 3)
        assert (tmp_path / "site" / HELD_LOG).stat().st_size > 0
        assert await asyncio.to_thread(core.destage) == 1
        assert core.held == 0 and (tmp_path / "site" / HELD_LOG).stat().st_size == 0
        with open(raw.path, "rb") as f:
            f.seek(3 * raw.geometry.slot_size)
            assert f.read(raw.geometry.track_size) == track(src, 2, 3)
    finally:
        await site.close()


def test_a_process_that_dies_holding_writes_loses_none_of_them(tmp_path) -> None:
    path = _site(tmp_path / "site")
    pid = os.fork()
    if pid == 0:  # the child holds writes and dies without closing anything
        code = 1
        try:

            async def hold() -> None:
                site = Site.open(path, clock=clock())
                await _backup(site)
                core = site.flashcopy.core
                for i in range(5):
                    for v in SOURCES:
                        await asyncio.to_thread(core.write, v, i, track(v, 2, i))
                assert core.held == 10

            asyncio.run(hold())
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert (path / HELD_LOG).stat().st_size > 0

    async def reopen() -> None:
        site = Site.open(path, clock=clock())
        try:
            core = site.flashcopy.core
            assert site.replayed == (10, [])
            for v, tgt in _targets(site).items():
                assert core.read_run(v, 0, 5) == [track(v, 2, i) for i in range(5)]
                assert core.read_run(tgt, 0, TRACKS) == [track(v, 1, i) for i in range(TRACKS)]
            with site.catalog.session() as s:
                said = [a.command for a in s.exec(select(ActivityRow)).all()]
            assert "REPLAY HELD WRITES" in said
            assert (path / HELD_LOG).stat().st_size == 0
        finally:
            await site.close()

    asyncio.run(reopen())


def test_a_torn_log_entry_ends_the_replay(tmp_path) -> None:
    log = HeldLog(tmp_path / "held.log")
    log.append("SRC001", 0, [b"a" * 512, b"b" * 512])
    log.append("SRC002", 7, [b"c" * 512])
    log.close()
    whole = (tmp_path / "held.log").read_bytes()
    assert [(v, t, d[:1]) for v, t, d in HeldLog(tmp_path / "held.log").entries()] == [
        ("SRC001", 0, b"a"),
        ("SRC001", 1, b"b"),
        ("SRC002", 7, b"c"),
    ]
    (tmp_path / "held.log").write_bytes(whole[:-100])  # the power cut took the tail
    assert [t for _, t, _ in HeldLog(tmp_path / "held.log").entries()] == [0, 1]
    flipped = bytearray(whole)
    flipped[40] ^= 0xFF  # a byte of the first entry's data
    (tmp_path / "held.log").write_bytes(bytes(flipped))
    assert list(HeldLog(tmp_path / "held.log").entries()) == []


async def test_a_site_without_durability_holds_nothing(tmp_path) -> None:
    site = Site.open(_site(tmp_path / "site"), clock=clock(), durable=False)
    try:
        await _backup(site)
        core = site.flashcopy.core
        await asyncio.to_thread(core.write, SOURCES[0], 3, track(SOURCES[0], 2, 3))
        assert core.held == 0 and not (tmp_path / "site" / HELD_LOG).exists()
    finally:
        await site.close()


async def test_a_halted_core_writes_no_held_write_even_when_the_site_closes(tmp_path) -> None:
    """A host of the plex whose lease ends halts: writes held for the group commit never reach the
    image from it (their copy-on-write was never committed); the log keeps them, and the next
    opener writes them again after the copy-on-write it makes again."""
    path = _site(tmp_path / "site")
    site = Site.open(path, clock=clock())
    await _backup(site)
    core, src = site.flashcopy.core, SOURCES[0]
    tgt = _targets(site)[src]
    await asyncio.to_thread(core.write, src, 3, track(src, 2, 3))
    await asyncio.to_thread(core.halt, "the lease ran out")
    await site.close()
    raw = site.context.volume(src)
    with open(raw.path, "rb") as f:  # the image still holds the point in time's track
        f.seek(3 * raw.geometry.slot_size)
        assert f.read(raw.geometry.track_size) == track(src, 1, 3)
    site = Site.open(path, clock=clock())
    try:
        assert site.replayed == (1, [])
        assert site.flashcopy.core.read(src, 3) == track(src, 2, 3)
        assert site.flashcopy.core.read(tgt, 3) == track(src, 1, 3)  # the version kept its point in time
    finally:
        await site.close()
