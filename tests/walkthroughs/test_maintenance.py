"""Walkthroughs 7-9: backup now, withdraw / delete, PREPARE — keys only, checked in the catalog
and on the volumes."""

from __future__ import annotations

from engine.catalog import constructs as repo
from engine.hsm import pool as pools
from tests.walkthroughs.conftest import console, damage, digest, report, settle
from tests.walkthroughs.test_recovery import DB2, DB2_VOLS, pair_targets, states, text, walkthrough


async def test_w7_backup_now_holds_what_the_sources_read(demo_path):
    async with console(demo_path) as (app, keys):
        pilot = keys.pilot
        site = app.site.engine
        await damage(site, "PAY002", 5, 5)  # today's changes
        now = {v: await digest(site, v) for v in ("PAY001", "PAY002")}
        await keys.press("j", "j", "b")  # PAYROLL, backup walkthrough
        assert walkthrough(app).id == "W7"
        await keys.press("enter", "enter", "enter")  # context, pool, EXECUTE
        assert walkthrough(app).command() == "FRBACKUP COPYPOOL(PAYROLL) EXECUTE"
        assert "✘" not in text(app), text(app)
        await keys.press("enter", "enter")  # impact, confirm (nothing rolls off: no name to type)
        await keys.press("enter")  # run
        await settle(pilot, 6)
        await keys.press("enter")  # verify
        await settle(pilot, 6)
        assert app.screen.expected == []  # nothing was read before the flash (issue "One truth")
        assert [o.expected.name for o in app.screen.outcomes] == ["PAY001", "PAY002"]  # compared after it
        assert "of version 002 of PAYROLL" in text(app) and text(app).count("✔ volume") == 2, text(app)
        await keys.press("enter")  # summary
        assert app.screen.stage == "summary" and app.screen.verified, text(app)
        assert "Done and verified." in text(app) and "verified 2 of 2 (version 002 of PAYROLL)" in text(app)
        report("W7", keys)
        assert len(states(site, "PAYROLL")) == 2
        newest = max(states(site, "PAYROLL"))
        assert {s: await digest(site, t) for s, t in pair_targets(site, "PAYROLL", newest).items()} == now


async def test_w7_verifies_the_version_it_created_even_once_it_rolled_off(demo_path):
    """The backup creates version 002; before Verify, another client's two FORCE backups roll it
    off (PAYROLL keeps 2). Verify once compared the newest version's targets and said "Done and
    verified"; it checks version 002 and says it is gone, with no ✔."""
    async with console(demo_path) as (app, keys):
        pilot = keys.pilot
        await keys.press("j", "j", "b", "enter", "enter", "enter", "enter", "enter", "enter")  # PAYROLL, run
        await settle(pilot, 6)
        assert app.screen.result.rc == 0 and "FPL100I VERSION 002 OF COPY POOL PAYROLL CREATED" in text(app)
        for _ in range(2):  # another client, meanwhile
            assert (await app.site.command("FRBACKUP COPYPOOL(PAYROLL) EXECUTE FORCE")).rc == 0
        assert 2 not in states(app.site.engine, "PAYROLL")
        await keys.press("enter")  # verify
        await settle(pilot, 6)
        assert app.screen.stage == "verify" and "✔" not in text(app), text(app)
        assert "✘" in text(app) and "version PAYROLL 2: gone" in text(app) and "nothing compared" in text(app)
        assert "of version 002 of PAYROLL" in text(app)
        await keys.press("enter")  # summary
        assert not app.screen.verified and "Done and verified" not in text(app), text(app)
        assert "Not fully done" in text(app) and "verified 0 of 1 (version 002 of PAYROLL)" in text(app), text(app)


async def test_w7_roll_off_asks_for_the_name_and_held_backup_is_released(demo_path):
    async with console(demo_path) as (app, keys):
        pilot = keys.pilot
        await app.site.command("HOLD FRBACKUP")
        await keys.press("b", "enter", "enter", "enter")  # DSN$DB0A$DB, EXECUTE
        assert "✘ NOT MET: FRBACKUP is not held" in text(app)
        await keys.press("enter")  # release it: asked first
        await keys.type("YES")
        await keys.press("enter")
        await settle(pilot, 5)
        assert "✔ FRBACKUP is not held" in text(app), text(app)
        await keys.press("enter")  # impact: version 001 rolls off
        assert "rolls off" in text(app)
        await keys.press("enter")
        assert app.screen.confirm_name() == DB2  # a backup that destroys a version is confirmed by name
        await keys.type(DB2)
        await keys.press("enter")
        await settle(pilot, 6)
        assert app.screen.result.rc == 0
        assert 1 not in states(app.site.engine, DB2) and 4 in states(app.site.engine, DB2)


async def test_w7_an_alternative_is_followed_through_the_checks(demo_path):
    """FCINCREMENTAL on PAYROLL: the oldest version's REQUIRED dump is incomplete, and FORCE alone
    would meet the next refusal (the oldest version is not the incremental one). The alternative
    offered says and takes both changes, and its checks then pass."""
    async with console(demo_path) as (app, keys):
        pilot = keys.pilot
        for extra in ("", " FCINCREMENTAL"):  # 002 without its ONSITE dump, then 003 incremental
            assert (await app.site.command(f"FRBACKUP COPYPOOL(PAYROLL) EXECUTE{extra}")).rc == 0
        await keys.press("j", "j", "b", "enter", "enter")  # PAYROLL
        await keys.press("enter")  # FCINCREMENTAL, preselected: the pool has an incremental version
        await settle(pilot, 5)
        assert walkthrough(app).command() == "FRBACKUP COPYPOOL(PAYROLL) EXECUTE FCINCREMENTAL", text(app)
        assert "✘ NOT MET" in text(app) and "REQUIRED dump class ONSITE" in text(app), text(app)
        labels = [a.label for a in app.screen.alternatives]
        assert "Roll it off anyway: add FORCE, and take a full backup instead" in labels, labels
        await keys.press(*["down"] * labels.index("Roll it off anyway: add FORCE, and take a full backup instead"))
        await keys.press("enter")
        await settle(pilot, 5)
        assert walkthrough(app).command() == "FRBACKUP COPYPOOL(PAYROLL) EXECUTE FORCE"
        assert "✘" not in text(app), text(app)


async def test_w8_withdraw_the_newest_version_keeps_the_others(demo_path):
    async with console(demo_path) as (app, keys):
        pilot = keys.pilot
        site = app.site.engine
        sources = {v: await digest(site, v) for v in DB2_VOLS}
        older = {s: await digest(site, t) for s, t in pair_targets(site, DB2, 2).items()}
        await keys.press("r", "8", "enter", "enter", "enter")  # pool, WITHDRAW
        assert "✘" not in text(app), text(app)
        await keys.press("enter", "enter")
        await keys.type(DB2)
        await keys.press("enter")
        await settle(pilot, 6)
        await keys.press("enter", "enter")
        assert app.screen.stage == "summary" and app.screen.verified, text(app)
        report("W8", keys)
        assert states(site, DB2)[3] != "RECOVERABLE" and states(site, DB2)[2] == "RECOVERABLE"
        assert {v: await digest(site, v) for v in DB2_VOLS} == sources  # withdraw never touches sources
        assert {s: await digest(site, t) for s, t in pair_targets(site, DB2, 2).items()} == older


async def test_w8_delete_one_dump_class(demo_path):
    async with console(demo_path) as (app, keys):
        pilot = keys.pilot
        site = app.site.engine
        await keys.press("j", "j", "r", "8", "enter", "enter")  # PAYROLL
        await keys.press("down", "down", "enter", "enter", "enter")  # dumps, version 001, first class
        assert "DUMPONLY(DUMPCLASS(" in walkthrough(app).command()
        await keys.press("enter", "enter")
        await keys.type("PAYROLL")
        await keys.press("enter")
        await settle(pilot, 6)
        await keys.press("enter", "enter")
        assert app.screen.verified, text(app)
        cls = walkthrough(app).selections["dumpclass"]
        with site.catalog.session() as s:
            v = pools.backups(s, "PAYROLL")[0]
            left = {c.dump_class for c in repo.dump_copies(s, v.id)}
        assert cls not in left and left and v.dasd_state == "RECOVERABLE"


async def test_w8_withdrawing_the_only_valid_version_says_so_as_the_engine_does(demo_path):
    """FRBACKUP WITHDRAW of the only valid version runs (RC 0): the walkthrough informs, as the
    command's own check does, and its impact says the pool is left with no recovery point."""
    async with console(demo_path) as (app, keys):
        await keys.press("j", "j", "r", "8", "enter", "enter", "enter")  # PAYROLL: one valid version
        assert "ℹ NOT MET, ALLOWED: another valid version remains" in text(app) and "only valid version" in text(app)
        assert "✘" not in text(app)
        await keys.press("enter")  # the impact
        assert "is the ONLY RECOVERY POINT of PAYROLL" in text(app), text(app)
        assert "versions lost as recovery points: 001" in text(app)
        await keys.press("escape")
        assert states(app.site.engine, "PAYROLL") == {1: "RECOVERABLE"}


async def test_w9_prepare_assigns_targets(demo_path):
    async with console(demo_path) as (app, keys):
        pilot = keys.pilot
        site = app.site.engine
        sources = {v: await digest(site, v) for v in ("PAY001", "PAY002")}
        await keys.press("j", "j", "r", "9", "enter", "enter")  # PAYROLL: VERSIONS=2, one taken
        assert "✔ backup group PAYBK has eligible target volumes for 1 version(s) of 2 source volume(s)" in text(app), (
            text(app)
        )
        await keys.press("enter", "enter")  # impact, confirm (enter: nothing is overwritten)
        await settle(pilot, 6)
        await keys.press("enter", "enter")
        assert app.screen.verified, text(app)
        report("W9", keys)
        with site.catalog.session() as s:
            prep = [v for v in repo.versions(s, "PAYROLL") if v.dasd_state == "PREPARE"]
            assert prep and len(repo.pairs(s, prep[0].id)) == 2
        assert {v: await digest(site, v) for v in sources} == sources


async def test_w9_held_backup_is_refused(demo_path):
    async with console(demo_path) as (app, keys):
        await app.site.command("HOLD FRBACKUP")
        await keys.press("r", "9", "enter", "enter")
        assert "✘ NOT MET: FRBACKUP is not held" in text(app)
        assert app.screen.alternatives[0].run == "RELEASE FRBACKUP"
        await keys.press("escape")
        assert walkthrough(app) is None and app.site.engine.context.held("FRBACKUP") == "FRBACKUP"


async def test_verify_never_shows_a_tick_for_a_command_that_failed(demo_path):
    """Issue "One truth": W9 once showed "RC=10 · verified 1 of 1". Here the checks pass, then a
    HOLD lands before the confirmation, so PREPARE fails with RC 50: nothing may get a ✔."""
    async with console(demo_path) as (app, keys):
        await keys.press("j", "j", "r", "9", "enter", "enter")  # PAYROLL: checks pass
        assert "✘" not in text(app), text(app)
        await app.site.command("HOLD FRBACKUP")  # another operator, meanwhile
        await keys.press("enter", "enter", "enter")  # impact, confirm, run
        await settle(keys.pilot, 6)
        assert app.screen.result.rc == 50
        await keys.press("enter")  # verify
        await settle(keys.pilot, 4)
        assert app.screen.stage == "verify" and "✔" not in text(app) and "RC=50" in text(app), text(app)
        await keys.press("enter")  # summary
        await settle(keys.pilot, 2)
        assert not app.screen.verified and "verified 0 of 0" in text(app), text(app)
        assert "Not fully done" in text(app)
