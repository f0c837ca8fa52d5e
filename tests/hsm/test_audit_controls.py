"""AUDIT COPYPOOLCONTROLS finds each inconsistency a test plants between versions,
relationships, dump copies, tapes and images, and FIX repairs it so that every promise is true
again; LIST DUMPVOLUME / DUMPCLASS / PRIMARYVOLUME list the dump side; OUTDATASET writes a
listing into the site's output area."""

from __future__ import annotations

import os
import stat

from sqlmodel import select

from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, DumpCopyRow
from engine.flashcopy import EstablishRequest
from tests.hsm.conftest import fill


async def _errors(site, text: str) -> list[int]:
    res = await site.hsm.execute(text)
    assert res.rc in (0, 4), res.lines()
    return [f["code"] for f in res.data["findings"]]


def _state(site, pool: str) -> list[tuple[int, str, str]]:
    with site.catalog.session() as s:
        return [(v.version, v.dasd_state, v.dump_state) for v in repo.versions(s, pool)]


async def test_a_clean_site_audits_clean(site):
    await fill(site, "ARC001", "a")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) DUMP")).rc == 0
    res = await site.hsm.execute("AUDIT COPYPOOLCONTROLS")
    assert res.rc == 0 and res.data["findings"] == [] and "0 ERROR(S)" in res.messages[0].text


async def test_each_planted_inconsistency_is_found_and_fixed(site):
    await fill(site, "ARC001", "a")
    await fill(site, "PAY001", "p")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) DUMP")).rc == 0
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL)")).rc == 0
    with site.catalog.session() as s:
        pay = repo.versions(s, "PAYROLL")[0]
        pairs = repo.pairs(s, pay.key)
        arc = repo.versions(s, "ARCHIVE")[0]
        copy = next(c for c in repo.dump_copies(s, arc.key) if c.dump_class == "ONSITE")
    # 402: a PAYROLL relationship withdrawn while its copy still ran; the version still says RECOVERABLE
    await site.flashcopy.withdraw(pairs[0].relationship_id)
    # 403: a relationship labelled as ARCHIVE's that no version owns
    await site.flashcopy.establish(EstablishRequest("ARC002", "AB0005", label="HSM ARCHIVE V099"))
    # 404: a COMPLETE dump copy whose tape file is gone
    tape_file = site.path / copy.file
    os.rename(tape_file, site.path / "lost.tape")
    # 407: a tape file no tape record names
    (site.path / "tapes" / "T99999.tape").write_bytes(b"stray")
    # 405: a DUMPSTATE that says less than the copies
    with site.catalog.session() as s:
        row = s.get(BackupVersionRow, arc.key)
        row.dump_state = "NONE"
        s.add(row)
        s.commit()
    found = await _errors(site, "AUDIT COPYPOOLCONTROLS NOFIX")
    assert sorted(set(found)) == [402, 403, 404, 405, 407], found
    assert _state(site, "PAYROLL")[0][1] == "RECOVERABLE"  # NOFIX changed nothing
    named = await _errors(site, "AUDIT COPYPOOLCONTROLS(PAYROLL)")
    assert named == [402]  # one copy pool: only its records
    fixed = await site.hsm.execute("AUDIT COPYPOOLCONTROLS FIX")
    assert fixed.rc == 4 and f"{len(found)} FIXED" in fixed.messages[0].text, fixed.lines()
    assert _state(site, "PAYROLL")[0][1] == "FAILED"
    assert not any(r.label == "HSM ARCHIVE V099" for r in site.flashcopy.relationships())
    with site.catalog.session() as s:
        assert s.get(DumpCopyRow, copy.key).state == "FAILED"
    assert not (site.path / "tapes" / "T99999.tape").exists()
    assert await _errors(site, "AUDIT COPYPOOLCONTROLS") == []


async def test_an_unavailable_target_is_found(site):
    await fill(site, "PAY001", "p")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL)")).rc == 0
    with site.catalog.session() as s:
        target = repo.pairs(s, repo.versions(s, "PAYROLL")[0].key)[0].target
    site.unavailable[target] = "its image is missing"
    assert await _errors(site, "AUDIT COPYPOOLCONTROLS(PAYROLL)") == [401]
    assert (await site.hsm.execute("AUDIT CPCTL(PAYROLL) FIX")).rc == 4
    assert _state(site, "PAYROLL")[0][1] == "FAILED"


async def test_list_the_dump_side_and_write_a_listing_to_the_output_area(site):
    await fill(site, "ARC001", "a")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) DUMP")).rc == 0
    with site.catalog.session() as s:
        tape = s.exec(select(DumpCopyRow).where(DumpCopyRow.dump_class == "ONSITE")).first().tape
    vol = await site.hsm.execute(f"LIST DUMPVOLUME({tape})")
    assert vol.rc == 0 and vol.data["kind"] == "dump-volume" and {c["source"] for c in vol.data["copies"]} == {"ARC001"}
    cls = await site.hsm.execute("LIST DUMPCLASS(ONSITE)")
    assert cls.rc == 0 and cls.data["copy_pools"] == ["ARCHIVE", "ARCZERO"] and len(cls.data["copies"]) == 2
    assert "DUMPCLASS=ONSITE FREQUENCY(7)" in cls.listing[0]
    pvol = await site.hsm.execute("LIST PRIMARYVOLUME(ARC002)")
    assert pvol.rc == 0 and {c["dump_class"] for c in pvol.data["copies"]} == {"ONSITE", "OFFSITE"}
    assert (await site.hsm.execute("LIST DUMPVOLUME(T99999)")).rc == 44
    assert (await site.hsm.execute("LIST DUMPCLASS(NOSUCH)")).rc == 48
    written = await site.hsm.execute("LIST COPYPOOL(ARCHIVE) ODS(ADMIN.ARCHIVE.LIST)")
    path = site.path / "output" / "ADMIN.ARCHIVE.LIST.txt"
    assert written.rc == 0 and written.listing == [] and written.messages[-1].id == "FPL190I"
    assert "COPYPOOL=ARCHIVE" in path.read_text() and stat.S_IMODE(path.stat().st_mode) == 0o600
    shown = await site.hsm.execute("LIST COPYPOOL(ARCHIVE) SYSOUT(A)")
    assert any("COPYPOOL=ARCHIVE" in line for line in shown.listing)
