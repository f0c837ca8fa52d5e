"""Dumps to tape and recovery from them: byte-exact, stacked, checksummed, and every refusal."""

from __future__ import annotations

import errno
import os

import pytest

from engine.catalog import constructs as repo
from engine.hsm import dump
from engine.hsm import pool as pools
from engine.hsm.tape import FileHeader, TapeError, TapeWriter, list_files, read_file
from engine.messages import Rc
from tests.catalogs import both_catalogs
from tests.hsm.conftest import TRACKS, content, fill, t

pytestmark = both_catalogs  # the dumps' catalog rows (tapes, copies, offsets) on PostgreSQL too

ARC = ["ARC001", "ARC002"]


#: a tape file header's fields but the source volume (tests add it)
HEAD = dict(
    copy_pool="CP",
    version=1,
    token="",
    target="T1",
    point_in_time=1.0,
    dumped_at=2.0,
    dump_class="ONSITE",
    model="TEST",
    cylinders=2,
    tracks_per_cylinder=15,
    track_size=64,
)


def versions(site, cp):
    with site.catalog.session() as s:
        return [(v.version, v.dasd_state, v.dump_state) for v in pools.backups(s, cp)]


def copies(site, cp, gen=0):
    with site.catalog.session() as s:
        v = pools.backups(s, cp)[gen]
        return sorted((c.dump_class, c.source, c.tape, c.file_index) for c in repo.dump_copies(s, v.id))


def test_tape_format_round_trip_stacking_and_damage(tmp_path):
    path = tmp_path / "T00001.tape"
    w = TapeWriter(path)
    head = dict(HEAD)
    a = {k: f"a{k}".encode().ljust(64, b"x") for k in (0, 5, 29)}
    b = {3: os.urandom(64)}
    tracks_a = [(k, a.get(k, bytes(64))) for k in range(30)]
    assert w.write_file(FileHeader(source="VA", **head), iter(tracks_a))[:2] == (0, 3)  # zeros skipped
    assert w.write_file(FileHeader(source="VB", **head), iter([(3, b[3])]))[:2] == (1, 1)
    w.close()
    assert [f.header.source for f in list_files(path)] == ["VA", "VB"]
    assert read_file(path, 0)[1] == a and read_file(path, 1)[1] == b
    blob = path.read_bytes()
    offsets = [f.offset for f in list_files(path)]
    assert read_file(path, 1, offsets[1])[1] == b  # found by its offset alone
    for damage, index, expected in [
        (blob[:-7], 1, "truncated"),
        (blob[:40] + bytes([blob[40] ^ 1]) + blob[41:], 0, "checksum"),
        (b"NOTATAPE" + blob[8:], 0, "no flashpool tape label"),
    ]:
        path.write_bytes(damage)
        for offset in (-1, offsets[index]):
            with pytest.raises(TapeError, match=expected):
                read_file(path, index, offset)
    # a file cut short (a crash while stacking) spoils only itself, never the files before it
    path.write_bytes(blob[:-7])
    assert read_file(path, 0, offsets[0])[1] == a and read_file(path, 0)[1] == a
    with pytest.raises(TapeError, match="not in the tape library"):
        read_file(tmp_path / "T09999.tape", 0)


async def test_dump_and_recover_a_volume_from_each_class(site):
    pit = {v: await fill(site, v, v) for v in ARC}
    res = await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) EXECUTE DUMP")
    assert res.rc == 0, res.lines()
    assert versions(site, "ARCHIVE") == [(1, "RECOVERABLE", "ALLCOMPLETE")]
    cs = copies(site, "ARCHIVE")
    tapes = {c[0]: {c[2] for c in cs if c[0] == c[0]} for c in cs}
    onsite = [c for c in cs if c[0] == "ONSITE"]
    offsite = [c for c in cs if c[0] == "OFFSITE"]
    assert len({c[2] for c in onsite}) == 2 and len({c[2] for c in offsite}) == 1  # OFFSITE stacks 2
    assert sorted(c[3] for c in offsite) == [0, 1]
    del tapes
    await site.flashcopy.write_run("ARC001", 0, [t("DAMAGED")] * TRACKS)
    res = await site.hsm.execute("FRRECOV TOVOLUME(ARC001) FROMCOPYPOOL(ARCHIVE) FROMDUMP(DUMPCLASS(OFFSITE))")
    assert res.rc == 0, res.lines()
    assert await content(site, "ARC001") == pit["ARC001"]
    await site.flashcopy.write("ARC002", 3, t("bad"))
    tape = next(c[2] for c in onsite if c[1] == "ARC002")
    res = await site.hsm.execute(f"FRRECOV TOV(ARC002) FCP(ARCHIVE) FROMDUMP(DUMPVOLUME({tape}))")
    assert res.rc == 0 and await content(site, "ARC002") == pit["ARC002"]
    listing = "\n".join((await site.hsm.execute("LIST COPYPOOL(ARCHIVE) DUMPVOLS")).listing)
    assert "DUMPCLASS=ONSITE   REQUIRED=Y DUMPSTATE=COMPLETE" in listing and f"ARC002 - {tape}" in listing


async def test_adr006i_counts_only_the_volumes_a_tape_holds(site, monkeypatch):
    """The tape library's file system fills up while ARC002 is dumped: its copies are FAILED
    (ARC1806E), and no ADR006I says a tape holds it (ONSITE: its own tape, none; OFFSITE: the
    tape it shares with ARC001, one volume)."""
    for v in ARC:
        await fill(site, v, v)
    real = TapeWriter.write_file

    def full(self, header, tracks, level=1):
        if header.source == "ARC002":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, header, tracks, level)

    monkeypatch.setattr(TapeWriter, "write_file", full)
    res = await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) EXECUTE DUMP")
    assert res.rc >= 8, res.lines()
    cs = copies(site, "ARCHIVE")
    with site.catalog.session() as s:
        good = {c.tape: c for c in repo.dump_copies(s, pools.backups(s, "ARCHIVE")[0].id) if c.state == "COMPLETE"}
    assert {(c.dump_class, c.source) for c in good.values()} == {("ONSITE", "ARC001"), ("OFFSITE", "ARC001")}
    failed = next(c[2] for c in cs if c[:2] == ("ONSITE", "ARC002"))
    assert failed not in good
    claims = [m.text for m in res.messages if "ADR006I" in m.text]
    assert sorted(claims) == sorted(
        f"ARCFRTM - ADR006I DUMP OF 1 VOLUME(S) TO TAPE {c.tape} FOR DUMP CLASS {c.dump_class} COMPLETED"
        for c in good.values()
    )
    assert sum(m.id == "ARC1806E" and "FOR VOLUME ARC002" in m.text for m in res.messages) == 2


async def test_fromdump_refusals(site):
    await fill(site, "ARC001", "x")
    await site.hsm.execute("FRB CP(ARCHIVE) DUMP DUMPCLASS(ONSITE)")
    cs = copies(site, "ARCHIVE")
    t1 = next(c[2] for c in cs if c[1] == "ARC001")
    checks = [
        ("FRRECOV TOV(ARC001) FCP(ARCHIVE) FROMDUMP(DUMPCLASS(OFFSITE))", 48),  # class has no copy
        ("FRRECOV TOV(ARC002) FCP(ARCHIVE) FROMDUMP(DUMPVOLUME(" + t1 + "))", 46),  # another volume's tape
        ("FRRECOV TOV(ARC001) FCP(ARCHIVE) FROMDUMP(DUMPVOLUME(T99999))", 44),  # not a dump volume
        ("FRRECOV TOV(ARC001) FROMDUMP", 6),  # in two copy pools
        ("FRRECOV TOV(PAY001) FCP(PAYROLL) FROMDUMP", 2),  # no version at all
    ]
    for cmd, rc in checks:
        res = await site.hsm.execute(cmd)
        assert res.rc == rc, (cmd, res.lines())
    await site.hsm.execute("FRB CP(PAYROLL)")
    assert (await site.hsm.execute("FRRECOV TOV(PAY001) FCP(PAYROLL) FROMDUMP")).rc == 42  # DASD only
    await site.hsm.execute("HOLD FRRECOV(TAPE)")
    assert (await site.hsm.execute("FRRECOV TOV(ARC001) FCP(ARCHIVE) FROMDUMP")).rc == 50
    assert (await site.hsm.execute("FRRECOV TOV(PAY001) FCP(PAYROLL)")).rc in (0, 4)  # DASD not held


@pytest.mark.parametrize("damage", ["flip", "truncate", "swap"])
async def test_a_damaged_tape_changes_nothing_on_dasd(site, damage):
    await fill(site, "ARC001", "good")
    await fill(site, "ARC002", "other")
    await site.hsm.execute("FRB CP(ARCHIVE) DUMP DUMPCLASS(OFFSITE)")  # both volumes on one tape
    cs = copies(site, "ARCHIVE")
    path = site.path / "tapes" / f"{cs[0][2]}.tape"
    blob = path.read_bytes()
    if damage == "flip":
        path.write_bytes(blob[:200] + bytes([blob[200] ^ 0xFF]) + blob[201:])
    elif damage == "truncate":
        path.write_bytes(blob[:200])  # inside ARC001's file, the first on the tape
    await site.flashcopy.write_run("ARC001", 0, [t("current")] * TRACKS)
    before = await content(site, "ARC001")
    if damage == "swap":  # the catalog points ARC001 at ARC002's file on the tape
        from sqlmodel import select

        from engine.catalog.models import DumpCopyRow

        with site.catalog.session() as s:
            rows = s.exec(select(DumpCopyRow)).all()
            places = [(d.file_index, d.file_offset) for d in rows]
            for d, (index, offset) in zip(rows, reversed(places), strict=False):
                d.file_index, d.file_offset = index, offset
                s.add(d)
            s.commit()
    res = await site.hsm.execute("FRRECOV TOV(ARC001) FCP(ARCHIVE) FROMDUMP(DUMPCLASS(OFFSITE))")
    assert res.rc == (46 if damage == "swap" else Rc.TAPE_DAMAGED), res.lines()
    assert "nothing" in res.messages[1].text
    assert await content(site, "ARC001") == before


async def test_dumponly_required_rolloff_and_force(site):
    await fill(site, "ARC001", "r")
    await site.hsm.execute("FRB CP(ARCHIVE)")
    await site.hsm.execute("FRB CP(ARCHIVE)")
    res = await site.hsm.execute("FRB CP(ARCHIVE)")  # v1 would roll off, ONSITE (REQUIRED) missing
    assert res.rc == 52 and "ONSITE" in res.messages[1].text
    res = await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) DUMPONLY VERSION(1) DUMPCLASS(ONSITE)")
    assert res.rc == 0, res.lines()
    assert versions(site, "ARCHIVE")[1] == (1, "RECOVERABLE", "REQUIREDCOMPLETE")
    res = await site.hsm.execute("FRB CP(ARCHIVE)")  # v1's DASD copy is replaced, its dump lives on
    assert res.rc == 0, res.lines()
    assert versions(site, "ARCHIVE") == [
        (3, "RECOVERABLE", "NONE"),
        (2, "RECOVERABLE", "NONE"),
        (1, "NONE", "REQUIREDCOMPLETE"),
    ]
    assert (await site.hsm.execute("FRB CP(ARCHIVE)")).rc == 52  # v2 now blocks
    assert (await site.hsm.execute("FRB CP(ARCHIVE) FORCE")).rc == 0
    assert (await site.hsm.execute("FRBACKUP CP(ARCHIVE) DUMPONLY VERSION(1)")).rc == 2  # no DASD copy


async def test_a_required_dump_class_complete_on_one_volume_only_still_blocks_the_roll_off(site):
    """REQUIRED means a COMPLETE copy of every source volume: a version whose ONSITE copy of one
    volume failed (a full tape disk) is not rolled off without FORCE (it was, RC 0, and that
    volume's only backup was lost); the alert says it is at risk."""
    from sqlmodel import select

    from engine.catalog.models import DumpCopyRow
    from engine.states import DumpCopyState

    await fill(site, "ARC001", "a")
    await fill(site, "ARC002", "b")
    assert (await site.hsm.execute("FRB CP(ARCHIVE) DUMP DUMPCLASS(ONSITE)")).rc == 0
    with site.catalog.session() as s:
        v1 = pools.backups(s, "ARCHIVE")[0]
        copy = s.exec(select(DumpCopyRow).where(DumpCopyRow.version_id == v1.key, DumpCopyRow.source == "ARC002")).one()
        copy.state = DumpCopyState.FAILED  # as an ENOSPC while dumping ARC002 leaves it
        s.add(copy)
        s.commit()
    assert (await site.hsm.execute("FRB CP(ARCHIVE)")).rc == 0  # v2: nothing rolls off yet
    res = await site.hsm.execute("FRB CP(ARCHIVE)")  # v1 would roll off: ONSITE lacks ARC002
    assert res.rc == 52 and "REQUIRED dump class ONSITE is incomplete" in res.messages[1].text, res.lines()
    assert [n for n, *_ in versions(site, "ARCHIVE")] == [2, 1]
    assert (await site.hsm.execute("FRB CP(ARCHIVE) FORCE")).rc == 0


async def test_returncontrol_frend_versions_zero_and_frr_from_nocopy(site):
    pit = await fill(site, "ARC001", "z")
    res = await site.hsm.execute("FRBACKUP COPYPOOL(ARCZERO) DUMP RETURNCONTROL(FREND)")
    assert res.rc == 0 and "FPL103I" in [m.id for m in res.messages]
    await site.hsm.settle()
    assert versions(site, "ARCZERO") == [(1, "NONE", "ALLCOMPLETE")]
    assert site.flashcopy.relationships() == []  # NOCOPY withdrawn after the dump
    await site.flashcopy.write("ARC001", 0, t("oops"))
    res = await site.hsm.execute("FRRECOV COPYPOOL(ARCZERO) FROMDUMP")  # whole pool from tape
    assert res.rc == 0, res.lines()
    assert await content(site, "ARC001") == pit
    # VERSIONS=0 without DUMP: a NOCOPY copy, recoverable by fast reverse restore while it exists
    await site.hsm.execute("FRB CP(ARCZERO)")
    await site.flashcopy.write("ARC001", 1, t("later"))
    res = await site.hsm.execute("FRRECOV TOVOLUME(ARC001) FROMCOPYPOOL(ARCZERO)")  # a volume: never by FRR
    assert res.rc == Rc.FRR_REFUSED and "it has no dump copy yet: dump it" in res.lines()[1], res.lines()
    res = await site.hsm.execute("FRRECOV CP(ARCZERO)")
    assert res.rc == 0 and "FPL111I" in [m.id for m in res.messages]
    assert await content(site, "ARC001") == pit


async def test_a_versions_zero_copy_without_fast_reverse_restore_is_dumponly_never_recoverable(site):
    """Its NOCOPY DASD copy is kept only to be dumped: LIST, the views and every screen say
    DUMPONLY (never RECOVERABLE, which FRRECOV would belie), FRRECOV refuses it and offers
    what can be recovered, and DUMPONLY dumps it, withdraws it and it lives on on tape."""
    with site.catalog.session() as s:
        pool = repo.copy_pool(s, "ARCZERO")
        pool.fast_reverse_restore = False  # as `flashpool config alter-pool ARCZERO --frr no` leaves it
        s.add(pool)
        s.commit()
    pit = await fill(site, "ARC001", "d")
    res = await site.hsm.execute("FRB CP(ARCZERO)")
    assert res.rc == 0 and "FPL105I" in [m.id for m in res.messages], res.lines()
    assert versions(site, "ARCZERO") == [(1, "DUMPONLY", "NONE")]
    (view,) = site.views.versions("ARCZERO")
    assert (view.dasd_state, view.recoverable) == ("DUMPONLY", False)
    (summary,) = site.views.pools("ARCZERO")
    assert summary.valid_versions == 0 and summary.recovery == "NONE"
    # its NOCOPY relationship has no background copy: none is counted running (status agrees)
    assert (summary.copying, summary.out_of_sync, summary.percent) == (0, 0, None), summary
    assert site.flashcopy.relationships() and not site.flashcopy.core.copy_candidates()
    listing = await site.hsm.execute("LIST COPYPOOL(ARCZERO) SELECT(FASTREPLICATIONSTATE(DUMPONLY))")
    assert any(line.startswith("001") and "DUMPONLY" in line for line in listing.lines()), listing.lines()
    await site.flashcopy.write("ARC001", 0, t("oops"))
    res = await site.hsm.execute("FRRECOV CP(ARCZERO)")
    assert (
        res.rc == Rc.FRR_REFUSED and "is DUMPONLY" in res.lines()[1] and "never recovered from DASD" in res.lines()[1]
    )
    res = await site.hsm.execute("FRBACKUP COPYPOOL(ARCZERO) DUMPONLY")
    assert res.rc == 0, res.lines()
    assert versions(site, "ARCZERO") == [(1, "NONE", "ALLCOMPLETE")]
    assert site.flashcopy.relationships() == []  # dumped, then withdrawn
    assert (await site.hsm.execute("FRRECOV COPYPOOL(ARCZERO) FROMDUMP")).rc == 0
    assert await content(site, "ARC001") == pit


async def test_expiry_auto_dump_and_frdelete_dumponly(site):
    await fill(site, "ARC001", "e")
    await site.hsm.execute("FRB CP(ARCHIVE)")
    assert await site.hsm.auto_dump() == ["ARCHIVE"]
    assert versions(site, "ARCHIVE")[0][2] == "ALLCOMPLETE"
    assert await site.hsm.auto_dump() == []  # nothing left to dump
    res = await site.hsm.execute("FRDELETE COPYPOOL(ARCHIVE) VERSIONS(1) DUMPONLY(DUMPCLASS(OFFSITE))")
    assert res.rc == 0 and copies(site, "ARCHIVE")[0][0] == "ONSITE"
    assert len(list((site.path / "tapes").glob("*.tape"))) == 2  # the OFFSITE tape is gone
    await site.hsm.execute("FRDELETE COPYPOOL(ARCHIVE) VERSIONS(1)")  # DASD copy gone, ONSITE remains
    assert versions(site, "ARCHIVE") == [(1, "NONE", "REQUIREDCOMPLETE")]
    site.context.clock = lambda: 1_800_000_000 + 8 * 86_400.0  # ONSITE keeps copies 7 days
    assert len(dump.expire(site.context)) == 2
    assert versions(site, "ARCHIVE") == []
    assert list((site.path / "tapes").glob("*.tape")) == []


async def test_frdelete_dumponly_deletes_only_what_is_there_and_says_so(site):
    """FRDELETE DUMPONLY refuses what it cannot delete (nothing changed) and FPL120I names only
    the versions whose copies really went."""
    await fill(site, "ARC001", "d")
    await site.hsm.execute("FRB CP(ARCHIVE) DUMP")  # version 1: ONSITE and OFFSITE copies
    await site.hsm.execute("FRB CP(ARCHIVE)")  # version 2: no dump copies
    dumped = copies(site, "ARCHIVE", gen=1)
    refusals = [
        ("FRDELETE CP(ARCHIVE) VERSIONS(1) DUMPONLY(DUMPCLASS(NOPE))", Rc.DUMP_CLASS, "dump class NOPE is not defined"),
        ("FRDELETE CP(ARCHIVE) VERSIONS(2) DUMPONLY", Rc.NO_DUMP_COPY, "version 002 has no dump copies"),
        ("FRDELETE CP(ARCHIVE) VERSIONS(1,2) DUMPONLY", Rc.NO_DUMP_COPY, "version 002 has no dump copies"),
        ("FRDELETE CP(ARCHIVE) VERSIONS(2) DUMPONLY(DUMPCLASS(ONSITE))", Rc.NO_DUMP_COPY, "version 002"),
    ]
    for cmd, rc, why in refusals:
        res = await site.hsm.execute(cmd)
        ids = [m.id for m in res.messages]
        assert res.rc == rc and "ARC1806E" in ids and "FPL120I" not in ids, (cmd, res.lines())
        assert why in "\n".join(res.lines()), (cmd, res.lines())
        assert copies(site, "ARCHIVE", gen=1) == dumped  # nothing was deleted
    res = await site.hsm.execute("FRDELETE CP(ARCHIVE) ALL DUMPONLY(DUMPCLASS(OFFSITE))")
    fpl120 = next(m.text for m in res.messages if m.id == "FPL120I")
    assert res.rc == 0 and "DELETED FOR VERSION(S) 001;" in fpl120 and "002" not in fpl120, res.lines()
    assert [c[0] for c in copies(site, "ARCHIVE", gen=1)] == ["ONSITE", "ONSITE"]
    res = await site.hsm.execute("FRDELETE CP(ARCHIVE) VERSIONS(1) DUMPONLY(DUMPCLASS(OFFSITE))")
    assert res.rc == Rc.DUMP_CLASS and "version 001 has no dump copy in dump class OFFSITE" in "\n".join(res.lines())
    res = await site.hsm.execute("FRDELETE CP(ARCHIVE) ALL DUMPONLY(DUMPCLASS(OFFSITE))")
    assert res.rc == Rc.DUMP_CLASS and "FPL120I" not in [m.id for m in res.messages], res.lines()


async def test_frdelete_dasdonly_of_a_version_without_a_dasd_copy_is_refused_not_reported_done(site):
    """A version that lives on as dump copies only has no DASD copy to delete: RC 2, nothing
    changed, never FPL120I 'DASD COPIES ... DELETED' (which the second delete said)."""
    await fill(site, "ARC001", "n")
    await site.hsm.execute("FRB CP(ARCHIVE) DUMP")  # version 1, dumped
    res = await site.hsm.execute("FRDELETE CP(ARCHIVE) VERSIONS(1) DASDONLY")
    assert res.rc == 0 and "FPL120I" in [m.id for m in res.messages], res.lines()
    assert versions(site, "ARCHIVE") == [(1, "NONE", "ALLCOMPLETE")]
    for cmd in (
        "FRDELETE CP(ARCHIVE) VERSIONS(1) DASDONLY",
        "FRDELETE CP(ARCHIVE) VERSIONS(1)",
        "FRDELETE CP(ARCHIVE) ALL",
    ):
        res = await site.hsm.execute(cmd)
        ids = [m.id for m in res.messages]
        assert res.rc == Rc.NO_VERSION and "FPL120I" not in ids and "has no DASD copy" in "\n".join(res.lines()), (
            res.lines()
        )
    assert versions(site, "ARCHIVE") == [(1, "NONE", "ALLCOMPLETE")]
    await site.hsm.execute("FRB CP(ARCHIVE)")  # version 2 on DASD: ALL takes it, and only it
    res = await site.hsm.execute("FRDELETE CP(ARCHIVE) ALL")
    fpl120 = next(m.text for m in res.messages if m.id == "FPL120I")
    assert res.rc == 0 and "VERSION(S) 002" in fpl120 and "001" not in fpl120, res.lines()


async def test_automatic_dump_runs_on_its_schedule(site):
    await fill(site, "ARC001", "s")
    await site.hsm.execute("FRB CP(ARCHIVE)")
    for cmd in ("DEFINE DUMPCYCLE(Y)", "SETSYS AUTODUMPSTART(0001)"):  # due all day, every day
        assert (await site.hsm.execute(cmd)).rc == 0
    await site.start(auto_dump_interval=0.05)
    import asyncio

    for _ in range(100):
        if versions(site, "ARCHIVE")[0][2] == "ALLCOMPLETE":
            break
        await asyncio.sleep(0.05)
    assert versions(site, "ARCHIVE")[0][2] == "ALLCOMPLETE"


@pytest.mark.parametrize(
    ("field", "value"),
    [("cylinders", "2"), ("cylinders", 2.0), ("version", True), ("tracks_per_cylinder", 0), ("source", 7)],
)
def test_a_crafted_header_with_a_valid_checksum_is_tape_damage(tmp_path, field, value):
    """The CRC only says the header is as written; a crafted one is refused by its fields."""
    path = tmp_path / "T00001.tape"
    head = {**HEAD, "source": "VA"}
    w = TapeWriter(path)
    w.write_file(FileHeader(**head), iter([(0, b"x" * 64)]))
    w.close()
    good = path.read_bytes()
    crafted = TapeWriter(tmp_path / "T00002.tape")
    crafted.write_file(FileHeader(**{**head, field: value}), iter([]))
    crafted.close()
    with pytest.raises(TapeError, match=f"header of file 1 is unreadable .*{field}|geometry"):
        read_file(tmp_path / "T00002.tape", 0)
    assert read_file(path, 0)[1] == {0: b"x" * 64} and path.read_bytes() == good
