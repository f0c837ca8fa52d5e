"""SETSYS for fast replication: IBM's defaults shown by QUERY SETSYS in IBM's messages, every
setting kept in the catalog, audited, guarded by STGADMIN.ARC.SETSYS, and in force: the data set
recovery default, the volume pairing messages, and MAXCOPYPOOLTASKS really bounding how many
FRBACKUP commands and background copies run at once."""

from __future__ import annotations

import asyncio
import threading

import pytest

from engine.demo import demo_definition, seed_demo
from engine.hsm import backup
from engine.security import Identity
from engine.site import Site


@pytest.fixture
async def site(tmp_path):
    s = Site.create(tmp_path / "site", demo_definition())
    await seed_demo(s)
    yield s
    await s.close()


def _text(res, mid: str) -> str:
    return next(m.text for m in res.messages if m.id == mid)


async def test_query_setsys_shows_ibms_defaults(site):
    res = await site.hsm.execute("QUERY SETSYS")
    assert res.rc == 0
    assert _text(res, "ARC1823I") == (
        "MAXCOPYPOOL(FRBACKUP TASKS=15, FRRECOV TASKS=15, DSS TASKS=24), FASTREPLICATION(DATASETRECOVERY=NONE, "
        "FCRELATION=FULL, VOLUMEPAIRMESSAGES=NO)"
    )
    assert _text(res, "ARC0638I") == "ADSTART=(00:00 00:00 00:00)"


async def test_setsys_is_kept_shown_and_in_force(site, tmp_path):
    res = await site.hsm.execute(
        "SETSYS FASTREPLICATION(DATASETRECOVERY(PREFERRED) VOLUMEPAIRMESSAGES(YES)) AUTODUMPSTART(2330 0100 0500)"
    )
    assert res.rc == 0 and "DATASETRECOVERY=PREFERRED" in _text(res, "ARC1823I"), res.lines()
    recovered = await site.hsm.execute("FRRECOV DSNAME(PAY.MASTER.FILE) REPLACE FROMCOPYPOOL(PAYROLL)")
    assert recovered.rc == 0 and "data set FlashCopy" in _text(recovered, "FPL130I"), recovered.lines()
    backed = await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) FORCE")
    pairs = [m.text for m in backed.messages if m.id == "ARC1809I"]
    assert backed.rc == 0 and len(pairs) == 2 and "SOURCE VOLUME PAY001 PAIRED WITH TARGET VOLUME" in pairs[0]
    await site.close()
    again = Site.open(site.path)
    try:
        shown = await again.hsm.execute("QUERY SETSYS")
        assert "DATASETRECOVERY=PREFERRED" in _text(shown, "ARC1823I") and "VOLUMEPAIRMESSAGES=YES" in _text(
            shown, "ARC1823I"
        )
        assert _text(shown, "ARC0638I") == "ADSTART=(23:30 01:00 05:00)"
        assert (await again.hsm.execute("SETSYS FR(DSR(NONE))")).rc == 0
        plain = await again.hsm.execute("FRRECOV DSNAME(PAY.MASTER.FILE) REPLACE FROMCOPYPOOL(PAYROLL)")
        assert plain.rc == 0 and "traditional copy" in _text(plain, "FPL130I"), plain.lines()
    finally:
        await again.close()
    site.path = again.path  # the fixture closes it again: harmless


async def test_fcrelation_extent_is_answered_not_applied(site):
    res = await site.hsm.execute("SETSYS FASTREPLICATION(FCRELATION(EXTENT) VOLUMEPAIRMESSAGES(YES))")
    assert res.rc == 4 and res.messages[0].id == "FPL160W", res.lines()
    assert "FCRELATION=FULL" in _text(res, "ARC1823I") and "VOLUMEPAIRMESSAGES=YES" in _text(res, "ARC1823I")


async def test_setsys_needs_its_profile_and_is_audited(site):
    from engine.api import Change, LocalSite, SecurityChange

    owner = LocalSite(site)
    for name, role in (("mona", "monitor"), ("adam", "administrator")):
        assert (await owner.change_security(SecurityChange(Change.GRANT, name=name, role=role))).rc == 0
    refused = await site.hsm.execute("SETSYS MAXCOPYPOOLTASKS(DSS(1))", "CLI", Identity("mona"))
    assert refused.rc == 36 and "STGADMIN.ARC.SETSYS" in refused.messages[0].text
    assert (await site.hsm.execute("SETSYS MAXCOPYPOOLTASKS(DSS(2))", "CLI", Identity("adam"))).rc == 0
    entries = [e for e in site.context.audit.entries() if e.action.startswith("SETSYS")]
    assert [(e.user, e.decision, e.profile) for e in entries] == [
        ("mona", "DENIED", "STGADMIN.ARC.SETSYS"),
        ("adam", "ALLOWED", "STGADMIN.ARC.SETSYS"),
    ]


async def test_maxcopypooltasks_frbackup_runs_one_backup_at_a_time(site, monkeypatch):
    running, most = 0, 0
    lock = threading.Lock()
    real = backup.frbackup

    def counted(ctx, req, res):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            threading.Event().wait(0.3)  # long enough for the others to try
            real(ctx, req, res)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(backup, "frbackup", counted)
    pools = ("PAYROLL", "HRNIGHT", "DSN$DB0A$DB")

    async def all_at_once() -> list[int]:
        results = await asyncio.gather(*(site.hsm.execute(f"FRBACKUP COPYPOOL({p}) FORCE") for p in pools))
        return [r.rc for r in results]

    assert max(await all_at_once()) < 8 and most >= 2  # IBM's default 15: they overlap
    assert (await site.hsm.execute("SETSYS MAXCOPYPOOLTASKS(FRBACKUP(1))")).rc == 0
    most = 0
    assert max(await all_at_once()) < 8 and most == 1


async def test_maxcopypooltasks_dss_bounds_the_background_copies(site):
    fc = site.flashcopy
    busy: set[int] = set()
    most = 0
    real = fc.core.copy_step
    guard = threading.Lock()

    def step(rel_id, n):
        nonlocal most
        with guard:
            busy.add(rel_id)
            most = max(most, len(busy))
        try:
            threading.Event().wait(0.02)
            return real(rel_id, 8)  # small chunks: the copies last
        finally:
            with guard:
                busy.discard(rel_id)

    fc.core.copy_step = step  # type: ignore[method-assign]

    async def copy_a_while() -> int:
        nonlocal most
        most = 0
        assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) FORCE")).rc == 0
        fc.start()
        await asyncio.sleep(1.0)
        await fc.stop()
        return most

    assert await copy_a_while() == 2  # the engine's two copiers, within IBM's DSS(24)
    assert (await site.hsm.execute("SETSYS MAXCOPYPOOLTASKS(DSS(1))")).rc == 0
    assert fc.limit == 1
    assert await copy_a_while() == 1
