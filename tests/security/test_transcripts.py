"""Transcripts and activity writes need a copy operator's function on the copy pool they name, are
audited, accept only the client origins, never overwrite a file, and are bounded in size and
number; so are OUTDATASET listings: one user's never replaces another's."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine import transcripts
from engine.api import Change, LocalSite, NotAuthorized, SecurityChange
from engine.errors import FlashpoolError
from engine.hsm import outputs
from engine.security import Access, Identity
from engine.site import Site
from tests.server.harness import make_site


@pytest.fixture
def site(tmp_path):
    opened = Site.open(make_site(tmp_path / "site"))
    owner = LocalSite(opened)
    for name, role in (("olga", "operator"), ("mona", "monitor")):
        res = asyncio.run(owner.change_security(SecurityChange(Change.GRANT, name=name, role=role)))
        assert res.rc == 0
    yield opened
    opened.close_files()


def _audit(site: Site, user: str) -> list:
    return [e for e in site.context.audit.entries() if e.user == user]


async def test_every_transcript_is_a_new_file_and_the_bounds_hold(site, monkeypatch):
    olga = LocalSite(site, Identity("olga", ()))
    first = await olga.save_transcript("PAY", "W1-20261206", "one\n")
    second = await olga.save_transcript("PAY", "W1-20261206", "two\n")  # the same name again
    assert first != second and Path(first).read_text() == "one\n" and Path(second).read_text() == "two\n"
    assert second.endswith("W1-20261206-2.txt")
    hostile = await olga.save_transcript("PAY", "../../catalog.db", "x")
    assert hostile.startswith(str(site.path / "transcripts")) and "/.." not in hostile
    with pytest.raises(FlashpoolError, match="at most 262,144 bytes"):
        await olga.save_transcript("PAY", "big", "x" * (transcripts.MAX_BYTES + 1))
    monkeypatch.setattr(transcripts, "MAX_FILES", 3)
    with pytest.raises(FlashpoolError, match="holds 3 transcripts, the most a site keeps"):
        await olga.save_transcript("PAY", "fourth", "x")
    actions = [e.action for e in _audit(site, "olga") if e.action.startswith("SAVE TRANSCRIPT")]
    assert len(actions) == 5 and actions[0].endswith("AS W1-20261206.txt")


async def test_a_monitor_may_neither_save_a_transcript_nor_write_the_activity_log(site):
    mona = LocalSite(site, Identity("mona", ()))
    with pytest.raises(NotAuthorized, match="ICH408I"):
        await mona.save_transcript("PAY", "W1", "x")
    with pytest.raises(NotAuthorized, match="ICH408I"):
        await mona.record("WALKTHROUGH", "FRBACKUP COPYPOOL(PAY) EXECUTE", 0, ["forged"])
    assert not (site.path / "transcripts").exists()
    assert [e.decision for e in _audit(site, "mona")] == ["DENIED", "DENIED"]
    assert not any(a.command.startswith("FRBACKUP") for a in site.views.activity(50))
    olga = LocalSite(site, Identity("olga", ()))
    await olga.record("WALKTHROUGH", "WALKTHROUGH 7 FRBACKUP COPYPOOL(PAY)", 0, ["a line"])
    entry = site.views.activity(1)[0]
    assert (entry.origin, entry.copy_pool, entry.messages) == ("WALKTHROUGH", "PAY", (("FPL300I", "a line"),))
    assert entry.user == "olga"  # the activity log says who wrote it
    assert _audit(site, "olga")[-1].decision == "ALLOWED"


async def test_an_activity_entry_is_about_the_copy_pool_its_command_names(site):
    """The copy pool is read from the entry's command, never taken from the client: an operator
    refused HR's functions, or LIST of HR, cannot write an entry about HR; a text that is no
    command is refused too (REJECTED)."""
    owner = LocalSite(site)
    for function in ("FRBACKUP", "FRRECOV", "DSRECOV"):
        res = await owner.change_security(SecurityChange(Change.DEFINE, profile=f"STGADMIN.ARC.{function}.HR"))
        assert res.rc == 0, res.lines()
    olga = LocalSite(site, Identity("olga", ()))
    forged = ["ARC1802I FAST REPLICATION RECOVERY HAS COMPLETED FOR COPY POOL HR, AT 03:00:00 ON 2026/12/08"]
    for text in ("FRRECOV COPYPOOL(HR)", "WALKTHROUGH 1 FRRECOV COPYPOOL(HR)", "FRRECOV TOVOLUME(HR0001)"):
        with pytest.raises(NotAuthorized, match=r"ICH408I .*STGADMIN\.ARC\.FRBACKUP\.HR"):
            await olga.record("CLI", text, 0, forged)
    with pytest.raises(FlashpoolError, match="no HSM command"):
        await olga.record("CLI", "RECOVERED HR", 0, forged)
    assert [e.decision for e in _audit(site, "olga")] == ["DENIED", "DENIED", "DENIED", "REJECTED"]
    assert not any("HR" in a.command for a in site.views.activity(50))
    # LIST of HR refused: no entry about PAY may tell of HR either
    for change in (
        SecurityChange(Change.DEFINE, profile="STGADMIN.ARC.LIST.HR"),
        SecurityChange(Change.PERMIT, profile="STGADMIN.ARC.FRBACKUP.HR", name="olga", access=Access.READ),
    ):
        assert (await owner.change_security(change)).rc == 0
    with pytest.raises(NotAuthorized, match=r"ICH408I .*YOU MAY NOT LIST"):
        await olga.record("CLI", "FRBACKUP COPYPOOL(HR)", 0, ["done"])
    with pytest.raises(NotAuthorized, match=r"ICH408I .*A LINE .*YOU MAY NOT LIST"):
        await olga.record("CLI", "FRBACKUP COPYPOOL(PAY)", 0, forged)
    await olga.record("CLI", "FRRECOV TOVOLUME(PAY001)", 0, ["a line"])
    entry = site.views.activity(1)[0]
    assert (entry.command, entry.copy_pool, entry.user) == ("FRRECOV TOVOLUME(PAY001)", "PAY", "olga")


async def test_a_listing_never_replaces_another_users_listing(site, monkeypatch):
    owner = LocalSite(site)
    assert (await owner.command("LIST COPYPOOL(HR) ODS(ADMIN.OUT)")).rc == 0
    theirs = site.path / "output" / "ADMIN.OUT.txt"
    kept = theirs.read_text()
    assert "COPYPOOL=HR" in kept
    mona = LocalSite(site, Identity("mona", ()))
    res = await mona.command("LIST COPYPOOL(PAY) ODS(ADMIN.OUT)")  # the same name, by someone else
    mine = site.path / "output" / "ADMIN.OUT-2.txt"
    assert res.rc == 0 and res.messages[-1].id == "FPL190I" and str(mine) in res.messages[-1].text
    assert theirs.read_text() == kept and "COPYPOOL=PAY" in mine.read_text()
    assert sorted(p.name for p in (site.path / "output").iterdir()) == ["ADMIN.OUT-2.txt", "ADMIN.OUT.txt"]
    monkeypatch.setattr(outputs, "MAX_FILES", 2)
    full = await mona.command("LIST COPYPOOL(PAY) ODS(ADMIN.OUT)")
    assert (
        full.rc == 4 and [m.id for m in full.messages] == ["FPL191E"] and any("COPYPOOL=PAY" in x for x in full.listing)
    )
    assert theirs.read_text() == kept and len(list((site.path / "output").iterdir())) == 2
