"""Data sets: allocation, VTOC and catalog, capture at FRBACKUP, FRRECOV DSNAME from DASD and tape."""

from __future__ import annotations

import pytest

from engine.datasets.manager import DataSetError, vtoc_tracks
from engine.datasets.names import InvalidDataSetName
from engine.hsm.precheck import precheck
from engine.messages import Rc
from tests.hsm.conftest import TS


@pytest.fixture
async def dsite(site):
    """Capture catalog information for DSN$DB0A$DB and ARCHIVE (ARCHIVE also dumps)."""
    from engine.catalog.models import CopyPoolRow

    with site.catalog.session() as s:
        for name in ("DSN$DB0A$DB", "ARCHIVE"):
            row = s.get(CopyPoolRow, name)
            row.catalog_capture = "P"
            s.add(row)
        s.commit()
    return site


async def test_allocate_write_read_delete_and_the_vtoc(dsite):
    ds = dsite.datasets
    a = await ds.allocate("DB0A.DSNDBC.PAYROLL.TS01", 5, ["DB0A01"])
    assert a.extents[0].first == vtoc_tracks(30, TS) == 7  # the first tracks hold the VTOC
    big = await ds.allocate("DB0A.BIG", 40, ["DB0A01", "DB0A02"])  # spills onto a second volume
    assert big.volumes == ("DB0A01", "DB0A02") and big.tracks == 40
    data = bytes(range(256)) * 3
    await ds.write("DB0A.DSNDBC.PAYROLL.TS01", data)
    assert await ds.read("DB0A.DSNDBC.PAYROLL.TS01") == data
    await ds.write("DB0A.BIG", b"x" * (40 * TS))
    vtoc = await ds.read_vtoc("DB0A02")
    assert [e["name"] for e in vtoc] == ["DB0A.BIG"]
    assert [i.name for i in ds.cataloged("DB0A.**")] == ["DB0A.BIG", "DB0A.DSNDBC.PAYROLL.TS01"]
    assert [i.name for i in ds.cataloged("DB0A.*")] == ["DB0A.BIG"]
    await ds.delete("DB0A.BIG")
    assert ds.get("DB0A.BIG") is None and await ds.read_vtoc("DB0A02") == []
    with pytest.raises(DataSetError, match="already exists"):
        await ds.allocate("DB0A.DSNDBC.PAYROLL.TS01", 1, ["DB0A01"])
    with pytest.raises(DataSetError, match="not enough free space"):
        await ds.allocate("DB0A.HUGE", 1000, ["DB0A01"])
    with pytest.raises(InvalidDataSetName, match="qualifier"):
        await ds.allocate("DB0A.TOOLONGQUALIFIER", 1, ["DB0A01"])
    with pytest.raises(DataSetError, match="do not fit"):
        await ds.write("DB0A.DSNDBC.PAYROLL.TS01", b"y" * (6 * TS))


async def seed(site) -> dict[str, bytes]:
    ds = site.datasets
    out = {}
    for name, vols, n in [
        ("PAY.MASTER", ["DB0A01"], 3),
        ("PAY.HISTORY", ["DB0A01", "DB0A02"], 28),
        ("HR.STAFF", ["DB0A02"], 2),
    ]:
        await ds.allocate(name, n, vols)
        out[name] = f"{name} at backup ".encode() * 20
        await ds.write(name, out[name])
    return out


async def test_capture_and_recover_deleted_moved_and_existing_data_sets(dsite):
    ds = dsite.datasets
    pit = await seed(dsite)
    res = await dsite.hsm.execute("FRBACKUP COPYPOOL(DSN$DB0A$DB)")
    assert res.rc == 0 and "ARC1812I" in [m.id for m in res.messages]
    listing = "\n".join((await dsite.hsm.execute("LIST COPYPOOL(DSN$DB0A$DB)")).listing)
    assert "CATINFO=Y" in listing
    await ds.delete("PAY.MASTER")  # dropped
    await ds.write("PAY.HISTORY", b"corrupted by a bad batch run")
    # a filter never reaches a deleted data set
    res = await dsite.hsm.execute("FRRECOV DSNAME(PAY.*) REPLACE")
    assert "PAY.MASTER" not in " ".join(m.text for m in res.messages if m.id == "FPL130I")
    assert await ds.read("PAY.HISTORY") == pit["PAY.HISTORY"]
    # fully qualified: back to its original volume and extents, recataloged
    res = await dsite.hsm.execute("FRRECOV DSNAME(PAY.MASTER)")
    assert res.rc == 0, res.lines()
    assert await ds.read("PAY.MASTER") == pit["PAY.MASTER"]
    assert ds.get("PAY.MASTER").volumes == ("DB0A01",)
    # exists without REPLACE: refused, the others go on
    await ds.write("HR.STAFF", b"new")
    res = await dsite.hsm.execute("FRRECOV DSNAME(HR.STAFF, PAY.MASTER)")
    assert res.rc == 8 and sum(m.id == "ARC1866I" for m in res.messages) == 2
    assert "RC=22" in res.messages[1].text and await ds.read("HR.STAFF") == b"new"


async def test_data_set_refusals(dsite):
    ds = dsite.datasets
    await seed(dsite)
    await dsite.hsm.execute("FRB CP(DSN$DB0A$DB)")
    await dsite.flashcopy.drain()
    await ds.allocate("LATE.ARRIVAL", 1, ["DB0L01"])
    res = await dsite.hsm.execute("FRRECOV DSN(LATE.ARRIVAL) REPLACE")
    assert res.rc == 8 and "RC=20" in res.messages[1].text  # not in the captured information
    await ds.delete("PAY.MASTER")
    await ds.allocate("SQUATTER", 3, ["DB0A01"])  # takes PAY.MASTER's old tracks
    res = await dsite.hsm.execute("FRRECOV DSN(PAY.MASTER)")
    assert "RC=24" in res.messages[1].text and "SQUATTER" in res.messages[1].text
    res = await dsite.hsm.execute("FRRECOV DSN(NOPE.*)")
    assert res.rc == 8 and "NO CATALOGED DATA SET MATCHES NOPE.*" in res.messages[1].text
    assert (await dsite.hsm.execute("FRRECOV DSN(NOPE.*) NOCOPYPOOLBACKUP(RC4)")).rc == 4
    res = await dsite.hsm.execute("FRRECOV DSN(HR.STAFF) REPLACE FASTREPLICATION(REQUIRED) GEN(5)")
    assert "RC=18" in res.messages[1].text
    await dsite.hsm.execute("HOLD FRRECOV(DATASET)")
    assert (await dsite.hsm.execute("FRRECOV DSN(HR.STAFF) REPLACE")).rc == 50


def ds_failure(res) -> str:
    return next(m.text for m in res.messages if m.id == "ARC1866I")


async def test_nocopypoolbackup_answers_for_filter_matched_data_sets_no_version_holds(dsite):
    """NOCOPYPOOLBACKUP(RC4|RC8) is the code for a data set a filter (a partially qualified name)
    matched that no copy pool version holds (IBM: it does not apply to a fully qualified name).
    Either way the failure never blames a copy pool the data set has nothing to do with."""
    ds = dsite.datasets
    await seed(dsite)
    await dsite.hsm.execute("FRB CP(DSN$DB0A$DB)")  # captures catalog information
    await dsite.flashcopy.drain()
    for cmd in ("FRRECOV DSN(NO.SUCH.DS)", "FRRECOV DSN(NO.SUCH.DS) NOCOPYPOOLBACKUP(RC4)"):
        res = await dsite.hsm.execute(cmd)
        text = ds_failure(res)
        assert res.rc == 8 and "RC=18 - no copy pool version holds it" in text, res.lines()
        assert "DSN$DB0A$DB" not in text, res.lines()
    await ds.allocate("NEW.PAY", 1, ["PAY001"])  # PAYROLL's volume; PAYROLL has no version
    await ds.allocate("LATE.ARRIVAL", 1, ["DB0L01"])  # after the backup: not in its catalog information
    res = await dsite.hsm.execute("FRRECOV DSN(NEW.*) REPLACE NOCOPYPOOLBACKUP(RC4)")
    assert res.rc == 4 and "RC=4 - no copy pool version holds it" in ds_failure(res), res.lines()
    res = await dsite.hsm.execute("FRRECOV DSN(NEW.*) REPLACE")
    assert res.rc == 8 and "RC=8 - no copy pool version holds it" in ds_failure(res), res.lines()
    res = await dsite.hsm.execute("FRRECOV DSN(LATE.*) REPLACE NOCOPYPOOLBACKUP(RC4)")
    text = ds_failure(res)
    assert res.rc == 4 and "RC=4 - it is not in the captured catalog information of DSN$DB0A$DB" in text
    res = await dsite.hsm.execute("FRRECOV DSN(LATE.ARRIVAL) REPLACE NOCOPYPOOLBACKUP(RC4)")
    assert res.rc == 8 and "RC=20" in ds_failure(res), res.lines()  # fully qualified: its own code
    # deleted, and held only by an older version: the newest version is named, with the older one offered
    await ds.delete("PAY.MASTER")
    await dsite.hsm.execute("FRB CP(DSN$DB0A$DB)")
    res = await dsite.hsm.execute("FRRECOV DSN(PAY.MASTER)")
    assert res.rc == 8 and "RC=20" in ds_failure(res) and "version 002" in ds_failure(res), res.lines()
    checks = precheck(dsite.context, "FRRECOV DSN(PAY.MASTER)")
    assert [a.version for a in checks[-1].alternatives] == [1]


@pytest.mark.parametrize(
    "cmd",
    [
        "FRRECOV DSNAME(PAY.MASTER) REPLACE FROMCOPYPOOL(NOPE)",
        "FRRECOV DSNAME(PAY.*) REPLACE FROMCOPYPOOL(NOPE) FROMDUMP",
        "FRRECOV DSNAME(PAY.MASTER) NEWNAME(PAY.MASTER2) FROMCOPYPOOL(NOPE)",
    ],
)
async def test_fromcopypool_not_defined_is_refused_as_such(dsite, cmd):
    """FROMCOPYPOOL names a copy pool that is not defined: ARC1806E RC 22 saying so, for the whole
    request (not an ARC1866I 'backup copy does not exist' per data set), and nothing recovered."""
    await seed(dsite)
    await dsite.hsm.execute("FRB CP(DSN$DB0A$DB)")
    before = await dsite.datasets.read("PAY.MASTER")
    res = await dsite.hsm.execute(cmd)
    failed = [m.text for m in res.messages if m.id == "ARC1806E"]
    assert res.rc == Rc.UNKNOWN_POOL and "ARC1866I" not in [m.id for m in res.messages], res.lines()
    assert len(failed) == 1 and "RC=0022 - copy pool NOPE is not defined" in failed[0], res.lines()
    assert await dsite.datasets.read("PAY.MASTER") == before and dsite.datasets.get("PAY.MASTER2") is None
    checks = precheck(dsite.context, cmd)
    assert not checks[-1].ok and checks[-1].rc == Rc.UNKNOWN_POOL and checks[-1].code == "no-pool"


async def test_fast_replication_required_preferred_none(dsite):
    ds = dsite.datasets
    pit = await seed(dsite)
    await dsite.hsm.execute("FRB CP(DSN$DB0A$DB)")  # still copying: FlashCopy T->S would loop
    await ds.write("HR.STAFF", b"bad")
    res = await dsite.hsm.execute("FRRECOV DSN(HR.STAFF) REPLACE FASTREPLICATION(REQUIRED)")
    assert "RC=26" in res.messages[1].text and await ds.read("HR.STAFF") == b"bad"
    res = await dsite.hsm.execute("FRRECOV DSN(HR.STAFF) REPLACE")  # PREFERRED: traditional copy
    assert res.rc == 0 and "traditional copy" in res.messages[1].text
    assert await ds.read("HR.STAFF") == pit["HR.STAFF"]
    await dsite.flashcopy.drain()
    await ds.write("HR.STAFF", b"bad again")
    res = await dsite.hsm.execute("FRRECOV DSN(HR.STAFF) REPLACE FASTREPLICATION(REQUIRED)")
    assert res.rc == 0 and "data set FlashCopy" in res.messages[1].text
    assert await ds.read("HR.STAFF") == pit["HR.STAFF"]


async def test_data_set_recovery_from_tape_and_multi_volume(dsite):
    ds = dsite.datasets
    await ds.allocate("ARC.LEDGER", 40, ["ARC001", "ARC002"])
    ledger = b"ledger line\n" * 200
    await ds.write("ARC.LEDGER", ledger)
    await dsite.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) DUMP DUMPCLASS(ONSITE)")
    await ds.delete("ARC.LEDGER")
    res = await dsite.hsm.execute("FRRECOV DSNAME(ARC.LEDGER) FROMDUMP(DUMPCLASS(ONSITE)) FROMCOPYPOOL(ARCHIVE)")
    assert res.rc == 0, res.lines()
    assert "from tape" in res.messages[1].text
    assert await ds.read("ARC.LEDGER") == ledger and ds.get("ARC.LEDGER").volumes == ("ARC001", "ARC002")


async def test_volume_recovery_recatalogs_from_the_vtoc(dsite):
    ds = dsite.datasets
    pit = await seed(dsite)
    await dsite.hsm.execute("FRB CP(DSN$DB0A$DB)")
    await dsite.flashcopy.drain()
    await ds.delete("HR.STAFF")
    await ds.allocate("NEW.AFTER", 2, ["DB0A02"])
    res = await dsite.hsm.execute("FRRECOV COPYPOOL(DSN$DB0A$DB)")
    assert res.rc == 0 and "FPL113I" in [m.id for m in res.messages]
    assert ds.get("NEW.AFTER") is None  # not on the volume at backup time
    assert await ds.read("HR.STAFF") == pit["HR.STAFF"]


async def test_migrated_data_set_is_refused(dsite):
    from engine.catalog.models import DataSetRow

    await seed(dsite)
    await dsite.hsm.execute("FRB CP(DSN$DB0A$DB)")
    with dsite.catalog.session() as s:
        row = s.get(DataSetRow, "HR.STAFF")
        row.migrated = True
        s.add(row)
        s.commit()
    res = await dsite.hsm.execute("FRRECOV DSNAME(HR.STAFF) REPLACE")
    assert res.rc == 8 and "RC=14" in res.messages[1].text
