"""The defects of issue "One truth for every rule", each reproduced: the check, the impact and the
views now say what the command then does, because they run the command's own planning."""

from __future__ import annotations

from sqlmodel import select

from engine.catalog.models import VolumeRow
from engine.hsm.impact import Work, impact
from engine.hsm.precheck import precheck
from engine.hsm.rules import Refusal
from tests.hsm.conftest import TRACKS, fill


def offline(site, group: str, keep: int = 0) -> None:
    with site.catalog.session() as s:
        for v in s.exec(select(VolumeRow).where(VolumeRow.storage_group == group)).all()[keep:]:
            v.online = False
            s.add(v)
        s.commit()


def refusal(site, command: str) -> tuple[int, str] | None:
    bad = [c for c in precheck(site.context, command) if not c.ok and not c.advisory]
    return (bad[0].rc, bad[0].message_id) if bad else None


async def test_undefined_copy_pool_check_and_command_say_rc_22(site):
    for command in ("FRBACKUP COPYPOOL(NOSUCH)", "FRRECOV COPYPOOL(NOSUCH)", "FRDELETE COPYPOOL(NOSUCH) ALL"):
        assert refusal(site, command) == (22, "ARC1806E")
        assert (await site.hsm.execute(command)).rc == 22


async def test_hold_frrecov_dataset_stops_data_set_recovery_in_the_check_too(site):
    await fill(site, "DB0A01", "d")
    await site.datasets.allocate("PAY.MASTER", 3, ["DB0A01"])
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(DSN$DB0A$DB)")).rc == 0
    await site.hsm.execute("HOLD FRRECOV(DATASET)")
    assert refusal(site, "FRRECOV DSNAME(PAY.MASTER) REPLACE") == (50, "ARC1806E")
    assert (await site.hsm.execute("FRRECOV DSNAME(PAY.MASTER) REPLACE")).rc == 50
    assert refusal(site, "FRRECOV COPYPOOL(DSN$DB0A$DB)") is None  # the DATASET hold leaves volumes alone
    await site.hsm.execute("RELEASE FRRECOV(DATASET)")
    await site.hsm.execute("HOLD FRRECOV(TAPE)")
    assert refusal(site, "FRRECOV COPYPOOL(DSN$DB0A$DB) FROMDUMP") == (50, "ARC1806E")
    assert refusal(site, "FRRECOV DSNAME(PAY.MASTER) REPLACE") is None


async def test_impact_figures_are_honest(site):
    from engine.catalog.models import CopyPoolRow

    with site.catalog.session() as s:
        row = s.get(CopyPoolRow, "ARCHIVE")
        row.catalog_capture = "P"
        s.add(row)
        s.commit()
    await fill(site, "ARC001", "a")
    await site.datasets.allocate("ARC.DATA", 15, ["ARC001"])
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) DUMP")).rc == 0
    im = impact(site.context, "FRRECOV DSNAME(ARC.DATA) REPLACE")
    assert im.tracks_to_move == 15 and im.work is Work.COPY and "15 tracks" in " ".join(im.lines)
    im = impact(site.context, "FRRECOV TOVOLUME(ARC001) FROMCOPYPOOL(ARCHIVE) FROMDUMP")
    assert im.work is Work.TAPE and im.bytes_to_move > 0 and "tape" in im.estimate()
    for command in (
        "FRBACKUP COPYPOOL(ARCHIVE) WITHDRAW",
        "FRDELETE COPYPOOL(ARCHIVE) VERSIONS(1) DASDONLY",
        "FRBACKUP COPYPOOL(ARCHIVE) PREPARE",
    ):
        im = impact(site.context, command)
        assert im.tracks_to_move == 0 and "no data moves" in im.estimate(), (command, im.lines)
    im = impact(site.context, "FRBACKUP COPYPOOL(ARCHIVE)")
    assert im.tracks_to_move == 2 * TRACKS and "background copy" in im.estimate()


async def test_the_refusal_names_the_one_cause_that_applies(site):
    await fill(site, "PAY001", "p")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL)")).rc == 0
    [frr] = [c for c in precheck(site.context, "FRRECOV COPYPOOL(PAYROLL)") if c.code.startswith("frr")]
    assert frr.reason == "copy pool PAYROLL was not defined with fast reverse restore: regular FlashCopy is used"
    await fill(site, "DB0A01", "d")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(DSN$DB0A$DB)")).rc == 0
    await site.flashcopy.drain()
    [frr] = [c for c in precheck(site.context, "FRRECOV COPYPOOL(DSN$DB0A$DB)") if c.code.startswith("frr")]
    assert "has completed on every volume" in frr.reason and not frr.ok
    assert frr.alternatives[0].walkthrough == "W2" and frr.alternatives[0].version == 1


async def test_frr_eligibility_and_newest_backup_are_derived(site):
    await fill(site, "DB0A01", "d")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(DSN$DB0A$DB)")).rc == 0
    [pool] = site.views.pools("DSN$DB0A$DB")
    assert pool.frr_eligible
    taken = pool.newest_backup
    await site.flashcopy.drain()  # every copy completes: the relationships end
    [pool] = site.views.pools("DSN$DB0A$DB")
    assert not pool.frr_eligible and not site.views.versions("DSN$DB0A$DB")[0].frr_eligible
    offline(site, "DB0ABK")  # the next backup fails: no target is eligible
    res = await site.hsm.execute("FRBACKUP COPYPOOL(DSN$DB0A$DB)")
    assert res.rc == 10
    [pool] = site.views.pools("DSN$DB0A$DB")
    assert pool.newest_backup == taken  # not a failed attempt's time


async def test_withdraw_after_an_incremental_reversal_withdraws_what_it_says(site):
    await fill(site, "PAY001", "p")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYINC) FCINCREMENTAL")).rc == 0
    await site.flashcopy.drain()
    assert (await site.hsm.execute("FRRECOV COPYPOOL(PAYINC)")).rc == 0  # reverses the persistent pairs
    await site.flashcopy.drain()
    res = await site.hsm.execute("FRBACKUP COPYPOOL(PAYINC) WITHDRAW")
    assert res.rc == 0 and "WITHDRAWN (2)" in " ".join(res.lines()), res.lines()
    assert "ARC1821I" in " ".join((await site.hsm.execute("QUERY COPYPOOL(PAYINC)")).lines())  # none left


async def test_prepare_check_refuses_when_the_command_would(site):
    offline(site, "PAYBK", keep=2)  # 2 targets left; PAYROLL needs 2 versions x 2 sources
    assert refusal(site, "FRBACKUP COPYPOOL(PAYROLL) PREPARE") == (10, "ARC1806E")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) PREPARE")).rc == 10


def test_refusals_are_data():
    r = Refusal(4, "why", "code")
    assert (r.rc, r.message_id, r.alternatives) == (4, "ARC1806E", ())


def test_the_readme_return_code_table_is_the_enum():
    import re
    from pathlib import Path

    from engine.messages import RC_MEANING, Rc

    readme = Path(__file__).resolve().parents[2].joinpath("README.md").read_text()
    table = readme.split("| RC | meaning |", 1)[1].split("\n\n", 1)[0]
    rows = dict(re.findall(r"^\| (\d+) \| (.+) \|$", table, re.M))
    assert {int(k): v for k, v in rows.items()} == {int(rc): text for rc, text in RC_MEANING.items()}
    assert set(RC_MEANING) == set(Rc)


def test_the_readme_names_every_fpl_message_the_code_issues():
    """Every FPLnnnx id in engine/, server/ and console/ has its row in the README's table, and
    the table names no id the code does not issue."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    used = {
        m
        for package in ("engine", "server", "console")
        for f in (root / package).rglob("*.py")
        for m in re.findall(r"FPL\d{3}[IWEA]", f.read_text())
    }
    readme = (root / "README.md").read_text()
    table = readme.split("## Messages and codes flashpool adds", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| (FPL\d{3}[IWEA]) \| .+ \|$", table, re.M))
    assert used - listed == set(), "issued but not in the README's table"
    assert listed - used == set(), "in the README's table but never issued"
