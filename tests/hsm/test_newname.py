"""FRRECOV DSNAME(dsn) NEWNAME(newdsn): the data set's backup beside the original, from DASD and
from tape, checked by checksum against the version, the original unchanged; the new name
refused when it exists unless REPLACE; and IBM's wildcard restrictions, refused before anything
is read."""

from __future__ import annotations

import hashlib

import pytest

from engine.command import CommandSyntaxError, parse_command
from engine.demo import demo_definition, seed_demo
from engine.hsm.verify import expect_for
from engine.site import Site

NAME = "PAY.MASTER.FILE"


@pytest.fixture
async def site(tmp_path):
    s = Site.create(tmp_path / "site", demo_definition())
    await seed_demo(s)
    yield s
    await s.close()


async def _digest(site: Site, name: str) -> str:
    return hashlib.sha256(await site.datasets.read(name)).hexdigest()


@pytest.mark.parametrize("source", ["FROMDASD", "FROMDUMP(DUMPCLASS(ONSITE))"])
async def test_a_data_set_comes_back_beside_the_original(site, source):
    plain = f"FRRECOV DSNAME({NAME}) FROMCOPYPOOL(PAYROLL) {source}"
    (backup,) = [e.digest for e in expect_for(site.context, plain)]  # what the version holds
    now = await site.datasets.read(NAME)
    await site.datasets.write(NAME, bytes(b ^ 0x5A for b in now))  # the day's changes, as long as before
    changed = await _digest(site, NAME)
    command = f"FRRECOV DSNAME({NAME}) NEWNAME(PAY.MASTER.RESTORED) FROMCOPYPOOL(PAYROLL) {source}"
    expected = {e.name: e.digest for e in expect_for(site.context, command)}
    assert expected == {"PAY.MASTER.RESTORED": backup, NAME: changed}
    res = await site.hsm.execute(command)
    assert res.rc == 0, res.lines()
    assert any(m.id == "FPL132I" and "RECOVERED AS PAY.MASTER.RESTORED" in m.text for m in res.messages)
    assert await _digest(site, "PAY.MASTER.RESTORED") == backup
    assert await _digest(site, NAME) == changed  # the original is untouched
    new, old = site.datasets.get("PAY.MASTER.RESTORED"), site.datasets.get(NAME)
    assert new is not None and old is not None and new.tracks == old.tracks
    taken = {(e.volser, k) for e in old.extents for k in range(e.first, e.last + 1)}
    assert not taken & {(e.volser, k) for e in new.extents for k in range(e.first, e.last + 1)}
    # the new name exists now: refused without REPLACE, recovered again with it
    again = await site.hsm.execute(command)
    refusal = next(m for m in again.messages if m.id == "ARC1866I")
    assert again.rc == 8 and "RC=22" in refusal.text and "PAY.MASTER.RESTORED exists" in refusal.text, again.lines()
    await site.datasets.write("PAY.MASTER.RESTORED", b"scribbled over")
    replaced = await site.hsm.execute(command + " REPLACE")
    assert replaced.rc == 0, replaced.lines()
    assert await _digest(site, "PAY.MASTER.RESTORED") == backup


@pytest.mark.parametrize(
    "text",
    [
        "FRRECOV DSNAME(**) REPLACE",
        "FRRECOV DSNAME(**.DS01) REPLACE",
        "FRRECOV DSNAME(*.MASTER.FILE)",
        "FRRECOV DSNAME(%AY.MASTER.FILE)",
        "FRRECOV DSNAME(PAY**.FILE)",
        "FRRECOV DSNAME(PAY.*) NEWNAME(PAY.NEW)",
        "FRRECOV DSNAME(PAY.A,PAY.B) NEWNAME(PAY.NEW)",
        "FRRECOV DSNAME(PAY.A) NEWNAME(PAY.*)",
        "FRRECOV DSNAME(PAY.A) NEWNAME(PAY.A)",
        "FRRECOV COPYPOOL(PAYROLL) NEWNAME(PAY.NEW)",
    ],
)
async def test_ibms_data_set_name_restrictions_are_refused_before_anything_is_read(site, text):
    with pytest.raises(CommandSyntaxError):
        parse_command(text)
    before = await _digest(site, NAME)
    res = await site.hsm.execute(text)
    assert res.rc == 12 and res.messages[0].id.startswith("IKJ567"), res.lines()
    assert await _digest(site, NAME) == before


@pytest.mark.parametrize("text", ["FRRECOV DSNAME(PAY*.**) REPLACE", "FRRECOV DSNAME(PAY.**) REPLACE"])
async def test_a_wildcard_after_the_first_character_of_the_high_level_qualifier_is_accepted(site, text):
    res = await site.hsm.execute(text)
    assert res.rc == 0 and sum(m.id == "FPL130I" for m in res.messages) == 2, res.lines()
