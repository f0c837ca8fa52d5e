"""precheck() answers, before a command runs, whether DFSMShsm would refuse it. Checked against
the command itself: where precheck blocks on a rule the engine enforces, the command fails; where
it passes everything, the command succeeds."""

from __future__ import annotations

from engine.hsm.precheck import precheck
from tests.hsm.conftest import fill

#: advice a walkthrough gives, not a refusal the engine makes
ADVICE = {"frr-not-eligible", "frr-not-allowed", "only-version"}


async def consistent(site, command: str) -> tuple[bool, int]:
    checks = precheck(site.context, command)
    blocked = [c for c in checks if not c.ok and c.code not in ADVICE]
    res = await site.hsm.execute(command)
    assert bool(blocked) == (res.rc != 0), (command, [(c.label, c.reason) for c in blocked], res.lines())
    return bool(blocked), res.rc


async def test_precheck_agrees_with_the_commands(site):
    for vol in ("PAY001", "PAY002", "DB0A01", "DB0A02", "DB0L01"):
        await fill(site, vol, vol)
    assert (await consistent(site, "FRRECOV COPYPOOL(PAYROLL)"))[0]  # no version yet
    assert (await consistent(site, "FRRECOV COPYPOOL(NOSUCH)"))[0]
    assert not (await consistent(site, "FRBACKUP COPYPOOL(PAYROLL)"))[0]
    assert not (await consistent(site, "FRBACKUP COPYPOOL(DSN$DB0A$DB)"))[0]
    await site.hsm.execute("HOLD FRRECOV")
    assert (await consistent(site, "FRRECOV COPYPOOL(DSN$DB0A$DB)"))[0]
    await site.hsm.execute("RELEASE FRRECOV")
    assert (await consistent(site, "FRRECOV TOVOLUME(PAY001) FROMCOPYPOOL(PAYROLL) VERSION(7)"))[0]
    assert (await consistent(site, "FRRECOV COPYPOOL(PAYROLL) FROMDUMP(DUMPCLASS(ONSITE))"))[0]  # never dumped
    checks = precheck(site.context, "FRRECOV COPYPOOL(DSN$DB0A$DB)")
    assert all(c.ok for c in checks), checks  # newest version, still copying: fast reverse restore
    assert not (await consistent(site, "FRRECOV COPYPOOL(DSN$DB0A$DB)"))[0]
    await site.hsm.execute("HOLD FRBACKUP")
    assert (await consistent(site, "FRBACKUP COPYPOOL(PAYROLL) PREPARE"))[0]
    await site.hsm.execute("RELEASE FRBACKUP")
    assert not (await consistent(site, "FRBACKUP COPYPOOL(PAYROLL) PREPARE"))[0]
    await site.flashcopy.drain()
    assert not (await consistent(site, "FRRECOV TOVOLUME(PAY002) FROMCOPYPOOL(PAYROLL)"))[0]


async def test_withdrawing_the_only_version_is_advised_against(site):
    await fill(site, "PAY001", "A")
    await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL)")
    only = [c for c in precheck(site.context, "FRBACKUP COPYPOOL(PAYROLL) WITHDRAW") if not c.ok]
    assert [c.code for c in only] == ["only-version"]
    await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL)")
    assert all(c.ok for c in precheck(site.context, "FRBACKUP COPYPOOL(PAYROLL) WITHDRAW"))


async def test_incremental_reversal_waits_for_the_refresh(site):
    await fill(site, "PAY001", "A")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYINC) FCINCREMENTAL")).rc == 0
    blocked = [c for c in precheck(site.context, "FRRECOV COPYPOOL(PAYINC)") if not c.ok and c.code not in ADVICE]
    assert [c.code for c in blocked] == ["incremental-copying"]
    assert (await site.hsm.execute("FRRECOV COPYPOOL(PAYINC)")).rc == 4  # refused: ARC1806E RC=4
    await site.flashcopy.drain()
    assert not [c for c in precheck(site.context, "FRRECOV COPYPOOL(PAYINC)") if not c.ok and c.code not in ADVICE]
