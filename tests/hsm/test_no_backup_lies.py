"""The ten ways the HSM layer used to end with RC 0 and the wrong bytes (issue "No backup that
lies"), each driven through the Site API or the CLI and checked against the bytes written."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import threading

import pytest
from sqlmodel import select

from engine.catalog import CatalogVersionMismatch, schema
from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, CopyPoolRow, DumpCopyRow, TapeRow
from engine.hsm import dump
from engine.hsm import pool as pools
from engine.site import Site
from tests.hsm.lies_site import SOURCES, TRACKS, TS, definition, generation


def clock():
    it = iter(range(1_800_000_000, 1_900_000_000, 60))
    return lambda: next(it)


@pytest.fixture
async def site(tmp_path):
    s = Site.create(tmp_path / "site", definition())
    await s.close()
    s = Site.open(tmp_path / "site", clock=clock())
    yield s
    await s.close()


async def write(site: Site, g: int, volumes=SOURCES, tracks: int = TRACKS) -> dict[str, list[bytes]]:
    """Generation g on the first `tracks` tracks; returns what each volume now reads. Partial
    writes keep a backup's copy unfinished (copy-on-write of every track would complete it)."""
    out = {}
    for v in volumes:
        await site.flashcopy.write_run(v, 0, generation(v, g)[:tracks])
        out[v] = await read(site, v)
    return out


async def read(site: Site, v: str) -> list[bytes]:
    return await site.flashcopy.read_run(v, 0, TRACKS)


def versions(site: Site, cp: str) -> list[BackupVersionRow]:
    with site.catalog.session() as s:
        return pools.backups(s, cp)


def pairs(site: Site, vid: int):
    with site.catalog.session() as s:
        return repo.pairs(s, vid)


# 1 -------------------------------------------------------------------------------------------------
async def test_versions_0_frend_dump_keeps_the_pool_until_the_version_is_final(site):
    pit = await write(site, 1)
    res = await site.hsm.execute("FRBACKUP COPYPOOL(ZERO) DUMP RETURNCONTROL(FREND)")
    assert res.rc == 0, res.lines()
    await write(site, 2)
    res = await site.hsm.execute("FRRECOV COPYPOOL(ZERO)")  # waits for the background dump to finish
    assert res.rc != 0 and "no DASD copy" in res.lines()[-2], res.lines()
    for v in SOURCES:
        assert await read(site, v) == generation(v, 2)  # nothing was "recovered" from withdrawn targets
    [ver] = versions(site, "ZERO")
    assert (ver.dasd_state, ver.dump_state) == ("NONE", "ALLCOMPLETE")
    assert not site.flashcopy.core.relationships()
    res = await site.hsm.execute("FRRECOV COPYPOOL(ZERO) FROMDUMP")
    assert res.rc == 0, res.lines()
    for v in SOURCES:
        assert await read(site, v) == pit[v]
    with site.catalog.session() as s:
        log = [a.command for a in repo.activity(s)]
    assert any("RETURNCONTROL(FREND)" in c for c in log[:3])  # the background result is logged


def test_versions_0_frend_through_the_cli_batch(tmp_path, capsys, monkeypatch):
    import io

    from cli.main import main

    path = tmp_path / "s"
    Site.create(path, definition()).close_files()
    monkeypatch.setattr(
        "sys.stdin", io.StringIO("FRBACKUP COPYPOOL(ZERO) DUMP RETURNCONTROL(FREND)\nFRRECOV COPYPOOL(ZERO)\n")
    )
    main(["hsm", "-", "--site", str(path)])
    out = capsys.readouterr().out
    assert "FUNCTION RC=0000" in out.split("FRRECOV")[0] or "RC=0000" in out
    assert "no DASD copy" in out  # the recovery is refused, not answered RC 0 with zeros


# 2 -------------------------------------------------------------------------------------------------
async def test_reissued_partial_fast_reverse_restore_leaves_recovered_volumes_alone(site):
    pit = await write(site, 1)
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(FRR)")).rc == 0
    [ver] = versions(site, "FRR")
    tgt2 = next(p.target for p in pairs(site, ver.id) if p.source == "SRC002")
    await write(site, 2, tracks=10)
    await site.flashcopy.write_run(tgt2, 0, [b"x" * TS])  # SRC002's target was written: no FRR for it
    res = await site.hsm.execute("FRRECOV COPYPOOL(FRR)")
    assert res.rc == 8, res.lines()
    [ver] = versions(site, "FRR")
    assert ver.dasd_state == "FCFRRINCOMPLETE"
    assert await read(site, "SRC001") == pit["SRC001"]
    later = (await write(site, 3, ["SRC001"], tracks=5))["SRC001"]  # work goes on on the recovered volume
    res = await site.hsm.execute("FRRECOV COPYPOOL(FRR)")
    assert "SRC001 WERE ALREADY RECOVERED" in " ".join(res.lines()), res.lines()
    assert await read(site, "SRC001") == later  # not recovered again from its now invalid target
    res = await site.hsm.execute("FRRECOV TOVOLUME(SRC001) FROMCOPYPOOL(FRR)")
    assert res.rc == 4 and "already restored" in " ".join(res.lines())
    assert await read(site, "SRC001") == later


# 4 -------------------------------------------------------------------------------------------------
async def test_a_tape_being_written_is_never_scratched(site, monkeypatch):
    pit = await write(site, 1)
    gate, started = threading.Event(), threading.Event()
    real = dump.dump_volume

    def slow(*a, **kw):
        started.set()
        assert gate.wait(10)
        return real(*a, **kw)

    monkeypatch.setattr(dump, "dump_volume", slow)
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(ZERO) DUMP DUMPCLASS(ONSITE) RETURNCONTROL(FREND)")).rc == 0
    await asyncio.to_thread(started.wait, 10)
    with site.catalog.session() as s:
        writing = s.exec(select(TapeRow)).all()
    assert [t.state for t in writing] == ["WRITING"]
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(TWO)")).rc == 0  # expires and scratches tapes
    assert (site.path / writing[0].file).exists()
    gate.set()
    await site.hsm.settle()
    await write(site, 2)
    assert (await site.hsm.execute("FRRECOV TOVOLUME(SRC001) FROMCOPYPOOL(ZERO) FROMDUMP")).rc == 0
    assert await read(site, "SRC001") == pit["SRC001"]


# 5 -------------------------------------------------------------------------------------------------
def test_a_stacked_tape_killed_mid_dump_keeps_its_complete_copy(tmp_path):
    path = tmp_path / "site"
    Site.create(path, definition()).close_files()

    async def prepare():
        s = Site.open(path, clock=clock())
        await write(s, 1)
        assert (await s.hsm.execute("FRBACKUP COPYPOOL(TWO)")).rc == 0
        await s.close()

    asyncio.run(prepare())
    pid = os.fork()
    if pid == 0:  # the child dumps and dies in the middle of the second file on the tape
        try:
            from engine.hsm import tape

            real = tape.TapeWriter.write_file

            def dying(self, header, tracks, level=1):
                if self._count == 1:
                    self._f.write(b"FPFILE01\x00\x00")  # half a label, then SIGKILL
                    self._f.flush()
                    os.kill(os.getpid(), signal.SIGKILL)
                return real(self, header, tracks, level)

            tape.TapeWriter.write_file = dying

            async def child():
                s = Site.open(path, clock=clock())
                await s.hsm.execute("FRBACKUP COPYPOOL(TWO) DUMPONLY DUMPCLASS(OFFSITE)")

            asyncio.run(child())
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL

    async def check():
        s = Site.open(path, clock=clock())
        try:
            assert any("WERE VERIFIED" in line for line in s.recovered)
            with s.catalog.session() as cs:
                copies = cs.exec(select(DumpCopyRow)).all()
                assert [(c.source, c.state) for c in copies] == [("SRC001", "COMPLETE")]
                assert [t.state for t in cs.exec(select(TapeRow)).all()] == ["FULL"]  # the one OFFSITE tape (stack = 2)
            await write(s, 2)
            res = await s.hsm.execute("FRRECOV TOVOLUME(SRC001) FROMCOPYPOOL(TWO) FROMDUMP(DUMPCLASS(OFFSITE))")
            assert res.rc == 0, res.lines()
            assert await read(s, "SRC001") == generation("SRC001", 1)
            res = await s.hsm.execute("FRBACKUP COPYPOOL(TWO) DUMPONLY DUMPCLASS(OFFSITE)")  # completes the class
            assert res.rc == 0, res.lines()
            with s.catalog.session() as cs:
                v = pools.backups(cs, "TWO")[0]
                assert dump.class_state(cs, v.id, "OFFSITE") == "COMPLETE"
        finally:
            await s.close()

    asyncio.run(check())


# 6 -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["missing", "short"])
async def test_missing_or_short_image_fails_loudly_in_every_command(tmp_path, damage):
    path = tmp_path / "site"
    s = Site.create(path, definition(), clock=clock())
    await write(s, 1)
    assert (await s.hsm.execute("FRBACKUP COPYPOOL(TWO) DUMP DUMPCLASS(ONSITE)")).rc == 0
    await s.close()
    image = path / "volumes" / "SRC001.img"
    if damage == "missing":
        image.unlink()
    else:
        os.truncate(image, 1000)
    s = Site.open(path, clock=clock())
    try:
        for command in [
            "FRRECOV TOVOLUME(SRC001) FROMCOPYPOOL(TWO) FROMDUMP",
            "FRRECOV TOVOLUME(SRC001) FROMCOPYPOOL(TWO)",
            "FRRECOV COPYPOOL(TWO)",
            "FRRECOV COPYPOOL(TWO) FROMDUMP",
            "FRBACKUP COPYPOOL(TWO)",
        ]:
            res = await s.hsm.execute(command)
            assert res.rc == 56 and "SRC001" in " ".join(res.lines()), (command, res.lines())
    finally:
        await s.close()


# 7 -------------------------------------------------------------------------------------------------
async def test_incremental_reversal_refused_when_the_target_was_written(site):
    await write(site, 1)
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(INC) FCINCREMENTAL")).rc == 0
    await site.flashcopy.drain()
    [ver] = versions(site, "INC")
    tgt = pairs(site, ver.id)[0].target
    await site.flashcopy.write_run(tgt, 3, [b"foreign".ljust(TS, b"!")])
    now = await write(site, 2)
    res = await site.hsm.execute("FRRECOV COPYPOOL(INC)")
    assert res.rc == 4 and "written since the last increment" in " ".join(res.lines()), res.lines()
    for v in SOURCES:
        assert await read(site, v) == now[v]


# 8 -------------------------------------------------------------------------------------------------
async def test_tokens_are_compared_exactly(site):
    await write(site, 1)
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(TWO)")).rc == 0  # no token
    assert (await site.hsm.execute("FRRECOV COPYPOOL(TWO) TOKEN(X'00')")).rc == 14
    assert (await site.hsm.execute("FRDELETE COPYPOOL(TWO) TOKEN(X'00')")).rc == 14
    assert len(versions(site, "TWO")) == 1
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(TWO) TOKEN('A')")).rc == 0
    res = await site.hsm.execute("FRDELETE COPYPOOL(TWO) TOKEN('A')")
    assert res.rc == 0 and [v.token for v in versions(site, "TWO")] == [b""]


# 9 -------------------------------------------------------------------------------------------------
async def test_version_numbers_skip_those_still_in_use_when_they_wrap(site):
    await write(site, 1)
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(TWO) DUMP DUMPCLASS(ONSITE)")).rc == 0  # 001, kept on tape
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(TWO)")).rc == 0  # 002
    with site.catalog.session() as s:
        cp = s.get(CopyPoolRow, "TWO")
        cp.next_version = 999
        s.add(cp)
        s.commit()
    for _ in range(2):  # 999 (001 rolls off to tape only), then 001 and 002 are taken: 003
        res = await site.hsm.execute("FRBACKUP COPYPOOL(TWO) FORCE")
        assert res.rc == 0, res.lines()
    numbers = [v.version for v in versions(site, "TWO")]
    assert numbers == [3, 999, 1], numbers
    res = await site.hsm.execute("FRRECOV COPYPOOL(TWO) VERSION(1) FROMDUMP")
    assert res.rc == 0 and "VERSION 001" in " ".join(res.lines()), res.lines()


# 10 ------------------------------------------------------------------------------------------------
async def test_versions_0_without_frr_is_refused_and_dumponly_withdraws(site):
    await write(site, 1)
    res = await site.hsm.execute("FRBACKUP COPYPOOL(ZERO)")
    assert res.rc == 0 and "CANNOT BE USED FOR RECOVERY" in " ".join(res.lines())
    await write(site, 2, tracks=10)
    res = await site.hsm.execute("FRRECOV COPYPOOL(ZERO)")
    assert res.rc == 54 and "NOCOPY" in " ".join(res.lines()) and "still copying" not in " ".join(res.lines())
    res = await site.hsm.execute("FRRECOV TOVOLUME(SRC001) FROMCOPYPOOL(ZERO)")
    assert res.rc == 54
    assert site.flashcopy.core.relationships()
    res = await site.hsm.execute("FRBACKUP COPYPOOL(ZERO) DUMPONLY")
    assert res.rc == 0, res.lines()
    assert not site.flashcopy.core.relationships()
    [ver] = versions(site, "ZERO")
    assert ver.dasd_state == "NONE"
    assert (await site.hsm.execute("FRRECOV COPYPOOL(ZERO) FROMDUMP")).rc == 0
    assert await read(site, "SRC002") == generation("SRC002", 1)


async def test_after_an_incremental_reversal_frbackup_names_the_way_out(site):
    await write(site, 1)
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(INC) FCINCREMENTAL")).rc == 0
    await site.flashcopy.drain()
    await write(site, 2)
    assert (await site.hsm.execute("FRRECOV COPYPOOL(INC)")).rc == 0
    await site.flashcopy.drain()
    res = await site.hsm.execute("FRBACKUP COPYPOOL(INC)")
    assert res.rc == 4 and "FCINCREMENTAL" in " ".join(res.lines()) and "FRDELETE" in " ".join(res.lines())
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(INC) FCINCREMENTAL")).rc == 0


async def test_one_volume_finishing_its_copy_keeps_frr_for_the_others(site):
    pit = await write(site, 1)
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(FRR)")).rc == 0
    [ver] = versions(site, "FRR")
    first = next(p for p in pairs(site, ver.id) if p.source == "SRC001")
    while site.flashcopy.core.find(first.relationship_id):  # SRC001's copy completes, SRC002's does not
        await site.flashcopy.copy_step(first.relationship_id)
    await write(site, 2, tracks=10)
    res = await site.hsm.execute("FRRECOV COPYPOOL(FRR)")
    assert res.rc == 0 and "FAST REVERSE RESTORE" in " ".join(res.lines()), res.lines()
    for v in SOURCES:
        assert await read(site, v) == pit[v]
    [ver] = versions(site, "FRR")
    assert ver.dasd_state == "FAILED"  # invalid after a fast reverse restore


def test_a_version_1_catalog_is_migrated(tmp_path):
    """Catalogs from before intents and tape states (schema 1) are upgraded, then open: the new tables appear, dump
    copies keep working (their tapes are scanned from the start), and their tapes are known."""
    import sqlite3

    path = tmp_path / "site"

    async def make():
        s = Site.create(path, definition(), clock=clock())
        pit = await write(s, 1)
        assert (await s.hsm.execute("FRBACKUP COPYPOOL(TWO) DUMP DUMPCLASS(ONSITE)")).rc == 0
        await s.close()
        return pit

    pit = asyncio.run(make())
    con = sqlite3.connect(path / "catalog.db")  # back to the version 1 shape
    for table in ("intent", "ended_relationship", "tape"):
        con.execute(f"DROP TABLE {table}")
    con.execute("ALTER TABLE dump_copy DROP COLUMN file_offset")
    con.execute("ALTER TABLE dump_copy DROP COLUMN tracks")  # revision 0007's
    con.execute("ALTER TABLE backup_version ADD COLUMN frr_eligible BOOLEAN NOT NULL DEFAULT 0")
    con.execute("UPDATE schema_info SET value = '1' WHERE key = 'schema_version'")
    con.execute("DROP TABLE alembic_version")  # from before Alembic owned the schema
    con.execute("ALTER TABLE activity DROP COLUMN user")
    for table in ("permit", "profile", "role_grant", "api_token", "audit"):  # revision 0004's
        con.execute(f"DROP TABLE {table}")
    con.execute("ALTER TABLE relationship DROP COLUMN feed")  # revision 0005's
    con.execute("DROP TABLE site_setting")  # revision 0006's
    con.execute("ALTER TABLE dump_class DROP COLUMN frequency")
    con.execute("ALTER TABLE dump_class DROP COLUMN day")
    con.execute("DROP TABLE alert")  # revision 0007's
    for column in ("failed_reason", "failed_at", "failed_by"):
        con.execute(f"ALTER TABLE backup_version DROP COLUMN {column}")
    for table in ("user_password", "web_session", "plex_host", "plex_primary", "plex_enqueue", "plex_owner"):  # 0009-11
        con.execute(f"DROP TABLE {table}")
    con.execute("DROP INDEX ix_version_pair_relationship")  # 0012's
    con.commit()
    con.close()
    shutil.rmtree(path / "keys")  # no audit trail, so no key or head yet
    (path / "audit.head").unlink()
    with pytest.raises(CatalogVersionMismatch, match=r"legacy-1.*flashpool catalog upgrade"):
        Site.open(path)
    assert Site.upgrade_catalog(path) == ("legacy-1", schema.HEAD)

    async def check():
        s = Site.open(path, clock=clock())
        try:
            with s.catalog.session() as cs:
                assert [t.state for t in cs.exec(select(TapeRow)).all()] == ["FULL", "FULL"]  # stack = 1
                assert {c.file_offset for c in cs.exec(select(DumpCopyRow)).all()} == {-1}
            await write(s, 2)
            res = await s.hsm.execute("FRRECOV COPYPOOL(TWO) FROMDUMP")
            assert res.rc == 0, res.lines()
            assert await read(s, "SRC001") == pit["SRC001"]
            assert (await s.hsm.execute("FRBACKUP COPYPOOL(TWO)")).rc == 0  # version rows without the old column
        finally:
            await s.close()

    asyncio.run(check())


async def test_dumps_of_two_pools_at_once_get_their_own_tapes(site):
    """Found by the race test in soak: two dumps running together read the same tape counter."""
    await write(site, 1)
    results = await asyncio.gather(
        *(site.hsm.execute(f"FRBACKUP COPYPOOL({p}) DUMP") for p in ("TWO", "ZEROFRR", "FRR"))
    )
    assert [r.rc for r in results] == [0, 0, 0], [r.lines() for r in results]
    with site.catalog.session() as s:
        copies = s.exec(select(DumpCopyRow)).all()
        tapes = s.exec(select(TapeRow)).all()
    per_tape: dict[str, set[int]] = {}
    for c in copies:
        per_tape.setdefault(c.tape, set()).add(c.version_id)
        dump.read_copy(site.path, c)  # every copy readable
    assert all(len(v) == 1 for v in per_tape.values()), per_tape  # a tape holds one version's dump
    assert len(tapes) == len(per_tape)
