"""The remaining FRBACKUP / FRRECOV options, each checked on catalog and bytes."""

from __future__ import annotations

import datetime as dt

from engine.catalog import constructs as repo
from engine.hsm import pool as pools
from tests.hsm.conftest import content, fill, t


def state(site, cp):
    with site.catalog.session() as s:
        return [(v.version, v.dasd_state, v.token.rstrip(b"\0")) for v in repo.versions(s, cp)]


def targets(site, cp, gen=0):
    with site.catalog.session() as s:
        v = pools.backups(s, cp)[gen]
        return {p.source: p.target for p in repo.pairs(s, v.id)}


async def test_prepare_assigns_targets_that_execute_then_uses(site):
    res = await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) PREPARE")
    assert res.rc == 0 and "2 TARGET SET(S)" in res.messages[1].text
    with site.catalog.session() as s:
        prepared = [v for v in repo.versions(s, "PAYROLL") if v.dasd_state == "PREPARE"]
        assigned = {p.source: p.target for p in repo.pairs(s, prepared[-1].id)}
    assert len(prepared) == 2
    listing = "\n".join((await site.hsm.execute("LIST COPYPOOL(PAYROLL) ALLVOLS(ALLVERS)")).listing)
    assert "PREP    Y       0000/00/00 00:00:00 PREPARE" in listing
    assert (await site.hsm.execute("FRB CP(PAYROLL)")).rc == 0
    assert targets(site, "PAYROLL") == assigned


async def test_prepare_reports_each_source_without_a_target(site):
    for _ in range(2):
        await site.hsm.execute("FRB CP(PAYROLL)")
    await site.hsm.execute("FRB CP(PAYINC)")  # all six PAYBK volumes now hold versions
    res = await site.hsm.execute("FRBACKUP COPYPOOL(DSN$DB0A$DB) PREPARE")
    assert res.rc == 0  # DB0A has its own backup group: 3 versions x 3 sources of 12
    from engine.catalog.models import VolumeRow

    with site.catalog.session() as s:
        for name in ("BK0008", "BK0009", "BK0010", "BK0011"):  # 8 left for 9 targets
            row = s.get(VolumeRow, name)
            row.online = False
            s.add(row)
        s.commit()
    res = await site.hsm.execute("FRBACKUP COPYPOOL(DSN$DB0A$DB) PREPARE")
    assert res.rc == 10 and [m.id for m in res.messages].count("ARC1807I") >= 1


async def test_backup_storage_group_override_only_without_versions(site):
    res = await site.hsm.execute("FRB CP(PAYROLL) BSG(DB0ABK)")
    assert res.rc == 0 and "ARC1847I" in [m.id for m in res.messages]
    assert all(tgt.startswith("BK") for tgt in targets(site, "PAYROLL").values())
    res = await site.hsm.execute("FRB CP(PAYROLL) BSG(PAYBK)")
    assert res.rc == 62 and "no DASD versions" in res.messages[1].text
    res = await site.hsm.execute("FRB CP(PAYROLL) BSG(PAYDATA)")
    assert res.rc == 22 and "is not a copy pool backup storage group" in res.messages[1].text


async def test_a_backup_storage_group_override_after_prepare_takes_targets_of_the_new_group(site):
    """PREPARE chose targets of PAYBK; BSG(DB0ABK) then says it overrides the group, and so the
    sources take DB0ABK's volumes, not the prepared ones (which ARC1847I would belie)."""
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) PREPARE")).rc == 0
    assert (await site.hsm.execute("SETSYS FASTREPLICATION(VOLUMEPAIRMESSAGES(YES))")).rc == 0
    res = await site.hsm.execute("FRB CP(PAYROLL) BSG(DB0ABK)")
    assert res.rc == 0 and "ARC1847I" in [m.id for m in res.messages], res.lines()
    assert all(tgt.startswith("BK") for tgt in targets(site, "PAYROLL").values())
    paired = [m.text for m in res.messages if m.id == "ARC1809I"]
    assert len(paired) == 2 and all("(A FREE TARGET" in text for text in paired), paired
    res = await site.hsm.execute("FRB CP(PAYROLL)")  # the override stays, and so do its targets
    assert res.rc == 0 and all(tgt.startswith("BK") for tgt in targets(site, "PAYROLL").values()), res.lines()


async def test_failed_version_targets_are_reused_and_numbers_do_not_advance(site):
    await site.hsm.execute("FRB CP(PAYROLL)")
    await site.hsm.execute("FRB CP(PAYROLL)")
    first = targets(site, "PAYROLL")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) WITHDRAW")).rc == 0  # v2 -> FAILED
    assert [s[:2] for s in state(site, "PAYROLL")] == [(2, "FAILED"), (1, "RECOVERABLE")]
    assert (await site.hsm.execute("FRB CP(PAYROLL)")).rc == 0
    assert [s[:2] for s in state(site, "PAYROLL")] == [(3, "RECOVERABLE"), (1, "RECOVERABLE")]
    assert targets(site, "PAYROLL") == first  # the failed version's targets


async def test_selection_by_date_token_version(site):
    pit = await fill(site, "PAY001", "tok")
    await site.hsm.execute("FRB CP(PAYROLL) TOKEN(PREUPG)")
    await site.flashcopy.drain()
    await site.flashcopy.write("PAY001", 0, t("later"))
    await site.hsm.execute("FRB CP(PAYROLL) TOKEN(X'00C1')")
    await site.flashcopy.drain()
    await site.flashcopy.write("PAY001", 1, t("bad"))
    res = await site.hsm.execute("FRRECOV COPYPOOL(PAYROLL) TOKEN(PREUPG) VERIFY(N)")
    assert res.rc == 0, res.lines()
    assert await content(site, "PAY001") == pit
    assert (await site.hsm.execute("FRRECOV CP(PAYROLL) TOKEN(NONE)")).rc == 14
    res = await site.hsm.execute("FRRECOV CP(PAYROLL) GEN(0) VERIFY(N)")  # the first is still copying back
    assert res.rc == 8 and "already the target" in res.messages[1].text
    await site.flashcopy.drain()
    today = dt.date.fromtimestamp(1_800_000_000)
    assert (await site.hsm.execute(f"FRRECOV CP(PAYROLL) DATE({today:%Y/%m/%d}) VERIFY(N)")).rc == 0
    assert (await site.hsm.execute("FRRECOV CP(PAYROLL) DATE(1999/1/1)")).rc == 2
    listing = "\n".join((await site.hsm.execute("LIST COPYPOOL(PAYROLL)")).listing)
    assert "TOKEN(C)=C'..' TOKEN(H)=X'00C1'" in listing


async def test_novtocenq_and_fcincrementallast(site):
    await fill(site, "PAY001", "n")
    await site.hsm.execute("FRB CP(PAYINC) FCINCREMENTAL NOVTOCENQ")
    listing = "\n".join((await site.hsm.execute("LIST COPYPOOL(PAYINC)")).listing)
    assert "001     N" in listing and "INCREMENTAL=Y" in listing
    await site.flashcopy.drain()
    await site.flashcopy.write("PAY001", 2, t("last"))
    res = await site.hsm.execute("FRB CP(PAYINC) FCINCREMENTALLAST")
    assert res.rc == 0 and "FCINCREMENTALLAST" in " ".join(m.text for m in res.messages)
    assert all(not r.incremental for r in site.flashcopy.relationships())
    await site.flashcopy.drain()
    assert site.flashcopy.relationships() == []  # ended when the copy completed
    assert state(site, "PAYINC")[0][1] == "RECOVERABLE"
    src = await content(site, "PAY001")
    assert await content(site, targets(site, "PAYINC")["PAY001"]) == src


async def test_a_failed_volume_is_retried_with_tovolume(site):
    pit = await fill(site, "PAY001", "r")
    await site.hsm.execute("FRB CP(PAYROLL)")
    await site.flashcopy.drain()
    await site.flashcopy.write("PAY001", 0, t("bad"))
    # a manual relationship targeting PAY002 makes its recovery fail
    from engine.flashcopy import EstablishRequest

    await site.flashcopy.establish(EstablishRequest("PB0005", "PAY002"))
    res = await site.hsm.execute("FRRECOV COPYPOOL(PAYROLL) VERIFY(N)")
    assert res.rc == 8 and "ARC1803E" in [m.id for m in res.messages]
    assert await content(site, "PAY001") == pit
    await site.flashcopy.drain()
    res = await site.hsm.execute("FRRECOV TOVOLUME(PAY002) FROMCOPYPOOL(PAYROLL)")
    assert res.rc == 0, res.lines()
