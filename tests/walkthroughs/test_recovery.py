"""Walkthroughs 1-6, driven with key presses only on the demo site: data is damaged first, and the
recovered bytes are checked against the point-in-time content read here, not only the screen."""

from __future__ import annotations

import hashlib
import json

from console import textual_internals as internals
from console.modals.confirm import ConfirmScreen
from engine.catalog import constructs as repo
from engine.hsm import pool as pools
from tests.walkthroughs.conftest import Keys, console, damage, digest, report, settle

DB2 = "DSN$DB0A$DB"
DB2_VOLS = ["DB0A01", "DB0A02", "DB0A03", "DB0L01"]


def states(site, cp):
    with site.catalog.session() as s:
        return {v.version: v.dasd_state for v in pools.backups(s, cp)}


def pair_targets(site, cp, version):
    with site.catalog.session() as s:
        v = next(v for v in pools.backups(s, cp) if v.version == version)
        return {p.source: p.target for p in repo.pairs(s, v.id)}


def text(app) -> str:
    return str(app.screen.query_one("#wt-text").render())


def walkthrough(app):
    return getattr(app.screen, "wt", None)


async def finish(keys: Keys, app, name: str) -> None:
    """Confirm by typing the name, run, verify, summary."""
    assert app.screen.stage == "confirm"
    await keys.type(name)
    await keys.press("enter")
    await settle(keys.pilot, 6)
    assert app.screen.stage == "run" and app.screen.result is not None, text(app)
    await keys.press("enter")  # verify
    await settle(keys.pilot, 6)
    assert app.screen.stage == "verify"
    await keys.press("enter")  # summary
    assert app.screen.stage == "summary"


async def test_w1_fast_reverse_restore_in_at_most_15_keys(demo_path):
    async with console(demo_path) as (app, keys):
        pilot = keys.pilot
        site = app.site.engine
        before = {v: await digest(site, v) for v in DB2_VOLS}  # nothing written since version 003
        await damage(site, "DB0A01", 100, 20)
        await damage(site, "DB0L01", 0, 5)
        await keys.press("r", "1")  # the walkthroughs, number 1, for the selected pool
        assert walkthrough(app).id == "W1" and walkthrough(app).pool() == DB2
        await keys.press("enter", "enter")  # context, pool
        assert app.screen.stage == "checks" and "✘" not in text(app)
        await keys.press("enter")  # impact
        assert "fast reverse restore" in text(app) and "version 003 (TOKEN='DAY3') becomes INVALID" in text(app)
        await keys.press("enter")  # confirm
        await finish(keys, app, DB2)
        assert app.screen.verified and "Done and verified" in text(app)
        assert f"FRRECOV COPYPOOL({DB2}) VERSION(3) VERIFY(Y)" in text(app)
        report("W1", keys)
        assert keys.count <= 15
        assert {v: await digest(site, v) for v in DB2_VOLS} == before
        assert states(site, DB2) == {3: "FAILED", 2: "RECOVERABLE", 1: "RECOVERABLE"}
        await keys.pilot.press("e")  # export the transcript (not counted: after the summary)
        exported = app.screen.exported
        assert exported is not None and exported.parent == site.path / "transcripts"
        assert "confirmed: FRRECOV COPYPOOL(DSN$DB0A$DB) VERSION(3) VERIFY(Y)" in exported.read_text()
        await keys.press("enter")  # close: the transcript goes to the activity log
        await settle(pilot, 4)
        with site.catalog.session() as s:
            entry = next(
                a for a in repo.activity(s) if a.origin == "WALKTHROUGH" and a.command.startswith("WALKTHROUGH W1")
            )
        lines = [m["text"] for m in json.loads(entry.messages)]
        assert any(line.startswith("verify ✔ volume DB0A01") for line in lines) and entry.return_code == 0


async def test_w1_escape_before_running_changes_nothing(demo_path):
    async with console(demo_path) as (app, keys):
        site = app.site.engine
        await damage(site, "DB0A01", 10, 3)
        damaged = await digest(site, "DB0A01")
        await keys.press("r", "1", "enter", "enter", "enter", "enter")
        assert app.screen.stage == "confirm"
        await keys.type("WRONG")
        await keys.press("enter")
        assert app.screen.stage == "confirm" and "exactly" in str(app.screen.query_one("#wt-error").render())
        await keys.press("escape")
        assert walkthrough(app) is None
        assert await digest(site, "DB0A01") == damaged
        assert states(site, DB2) == {3: "RECOVERABLE", 2: "RECOVERABLE", 1: "RECOVERABLE"}


async def test_w1_and_w3_judge_hrnight_alike_and_r_suggests_what_frrecov_would_do(demo_path):
    """Issue "never shows what is not so": on HRNIGHT (incremental, no fast reverse restore) W1
    refused what W3 allowed with the very same command. Both now judge as the engine does (an
    advisory check informs), and `r` highlights the incremental walkthrough the engine names."""
    async with console(demo_path) as (app, keys):
        await keys.press("j", "r")  # HRNIGHT
        chooser = app.screen.query_one("#chooser-list")
        assert chooser.highlighted == 2 and "fits v002" in str(chooser.get_option_at_index(2).prompt)
        await keys.press("escape", "r", "1", "enter", "enter")
        assert app.screen.stage == "checks"
        seen = {}
        line = "ℹ NOT MET, ALLOWED: version 002 (TOKEN='NIGHTLY') can be recovered by fast reverse restore"
        seen["W1"] = text(app)
        await keys.press("escape", "r", "3", "enter", "enter")
        assert walkthrough(app).id == "W3" and app.screen.stage == "checks"
        seen["W3"] = text(app)
        for wid, shown in seen.items():
            assert line in shown and "✘" not in shown and "was not defined with fast reverse restore" in shown, wid
            assert "VERIFY(N)" not in shown  # a VERIFY(Y) command has no VERIFY(N) line
        assert walkthrough(app).command() == "FRRECOV COPYPOOL(HRNIGHT) VERSION(2) VERIFY(Y)"


async def test_w1_once_the_copy_completed_recovers_the_newest_version_by_regular_flashcopy(demo_path):
    """With every copy complete fast reverse restore is no longer possible: FRRECOV recovers the
    newest version (003) by regular FlashCopy, RC 0 - and W1 says so instead of refusing."""
    async with console(demo_path) as (app, keys):
        site = app.site.engine
        await site.flashcopy.drain()  # every copy completed: fast reverse restore is no longer possible
        targets = pair_targets(site, DB2, 3)
        pit = {src: await digest(site, tgt) for src, tgt in targets.items()}
        await damage(site, "DB0A01", 0, 20)
        await keys.press("r")  # the engine: a regular recovery of version 003
        chooser = app.screen.query_one("#chooser-list")
        assert chooser.highlighted == 1 and "fits v003" in str(chooser.get_option_at_index(1).prompt)
        await keys.press("1", "enter", "enter")  # W1 on DSN$DB0A$DB all the same
        assert "ℹ NOT MET, ALLOWED: version 003 (TOKEN='DAY3') can be recovered by fast reverse restore" in text(app), (
            text(app)
        )
        assert "✘" not in text(app)
        await keys.press("enter")  # the impact
        assert "regular FlashCopy: every track of every volume is copied back" in text(app), text(app)
        await keys.press("enter")
        await finish(keys, app, DB2)
        assert {v: await digest(site, v) for v in targets} == pit  # DAY3, not DAY2


async def test_w2_older_version_regular_recovery_keeps_newer_versions(demo_path):
    async with console(demo_path) as (app, keys):
        site = app.site.engine
        await site.flashcopy.drain()  # the newest version's copy is done: regular recovery is allowed
        targets = pair_targets(site, DB2, 2)
        pit = {src: await digest(site, tgt) for src, tgt in targets.items()}  # version 002 as it is
        await damage(site, "DB0A03", 0, 30)
        await keys.press("enter", "j", "r")  # pool detail, version 002, recover: the chooser, W2 suggested
        assert "fits v002" in str(app.screen.query_one("#chooser-list").get_option_at_index(1).prompt)
        await keys.press("enter")
        assert walkthrough(app).id == "W2" and walkthrough(app).selections["version"] == "2"
        await keys.press("enter", "enter", "enter")  # context, pool, version
        assert app.screen.stage == "checks" and "✘" not in text(app), text(app)
        await keys.press("enter")
        assert "regular FlashCopy" in text(app) and "stays valid" in text(app)
        await keys.press("enter")
        await finish(keys, app, DB2)
        report("W2", keys)
        assert app.screen.verified
        assert {v: await digest(site, v) for v in DB2_VOLS} == pit
        assert states(site, DB2) == {3: "RECOVERABLE", 2: "RECOVERABLE", 1: "RECOVERABLE"}


async def test_w2_held_recovery_is_refused_and_released(demo_path):
    async with console(demo_path) as (app, keys):
        pilot = keys.pilot
        await app.site.command("HOLD FRRECOV")
        await keys.press("r", "2", "enter", "enter", "enter")
        assert "✘ NOT MET: FRRECOV is not held" in text(app) and "RELEASE FRRECOV" in text(app)
        assert app.screen.alternatives[0].run == "RELEASE FRRECOV"
        await keys.press("enter")  # RELEASE asks first, and says it is not only for this walkthrough
        assert isinstance(app.screen, ConfirmScreen)
        assert "every operator" in str(app.screen.query_one("#confirm-impact").render())
        await keys.press("escape")  # declined: still held
        assert app.site.engine.context.held("FRRECOV") is not None
        await keys.press("enter")
        await keys.type("YES")
        await keys.press("enter")
        await settle(pilot, 5)
        assert app.screen.stage == "checks" and "✔ FRRECOV is not held" in text(app)
        assert app.site.engine.context.held("FRRECOV") is None
        await pilot.press("escape")  # cancelled now: it must not claim that nothing changed
        await settle(pilot)
        said = [n.message for n in internals.notifications(app)]
        assert any("its command did not run, but RELEASE FRRECOV did" in m for m in said), said
        assert not any("nothing was changed" in m for m in said)


async def test_under_hold_b_and_r_open_the_walkthroughs(demo_path):
    async with console(demo_path) as (app, keys):
        await app.site.command("HOLD ALL")
        await keys.press("b")
        assert type(app.screen).__name__ == "WalkthroughScreen"
        await keys.press("escape", "r")
        assert type(app.screen).__name__ == "Chooser"


async def test_w3_incremental_recovery_and_refusal_while_copying(demo_path):
    async with console(demo_path) as (app, keys):
        pilot = keys.pilot
        site = app.site.engine
        await damage(site, "HR0001", 120, 4)  # changes after the refresh ...
        assert (await site.hsm.execute("FRBACKUP COPYPOOL(HRNIGHT) FCINCREMENTAL")).rc == 0  # ... refreshed, copying
        pit = {v: await digest(site, v) for v in ("HR0001", "HR0002")}
        await damage(site, "HR0002", 0, 10)  # the bad batch run
        await keys.press("j", "r", "3", "enter", "enter")
        assert "✘ NOT MET: the incremental pairs can be reversed" in text(app) and "still has" in text(app)
        assert app.screen.alternatives[0].wait_for_copy
        await keys.press("enter")  # wait for the copy, check again
        await settle(pilot, 6)
        assert app.screen.stage == "checks" and "✘" not in text(app), text(app)
        await keys.press("enter")
        assert "reversal of the incremental pairs" in text(app)
        await keys.press("enter")
        await finish(keys, app, "HRNIGHT")
        report("W3", keys)
        assert app.screen.verified
        assert {v: await digest(site, v) for v in ("HR0001", "HR0002")} == pit


async def test_w4_one_volume_from_dasd_leaves_the_others(demo_path):
    async with console(demo_path) as (app, keys):
        site = app.site.engine
        await site.flashcopy.drain()
        pit = await digest(site, pair_targets(site, DB2, 2)["DB0A02"])
        await damage(site, "DB0A02", 50, 10)
        await damage(site, "DB0A01", 50, 10)
        other = await digest(site, "DB0A01")
        await keys.press("r", "4", "enter", "enter")  # context, pool
        await keys.press("down", "enter")  # volume DB0A02
        await keys.press("down", "enter")  # version 002
        assert walkthrough(app).command() == f"FRRECOV TOVOLUME(DB0A02) FROMCOPYPOOL({DB2}) VERSION(2)"
        assert "✘" not in text(app), text(app)
        await keys.press("enter", "enter")
        await finish(keys, app, "DB0A02")  # the volume overwritten is the name typed
        report("W4", keys)
        assert app.screen.verified
        assert await digest(site, "DB0A02") == pit
        assert await digest(site, "DB0A01") == other  # not touched


async def test_w4_invalid_version_is_refused_with_another_version_offered(demo_path):
    async with console(demo_path) as (app, keys):
        assert (await app.site.command(f"FRBACKUP COPYPOOL({DB2}) WITHDRAW")).rc == 0  # version 003 invalid
        await keys.press("r", "4", "enter", "enter", "enter")  # pool, volume DB0A01
        await keys.press("up", "enter")  # version 003 (the newest, now invalid)
        assert walkthrough(app).selections["version"] == "3"
        assert "✘" in text(app) and "cannot be recovered from DASD" in text(app)
        labels = [a.label for a in app.screen.alternatives]
        assert labels[0] == "Use version 002 instead" and "Choose another version" in labels  # the engine's
        await keys.press("enter")  # take it: the same walkthrough, version 002, checked again
        assert walkthrough(app).id == "W4" and walkthrough(app).selections["version"] == "2"
        assert app.screen.stage == "checks" and "✘" not in text(app), text(app)


async def test_w5_whole_copy_pool_from_tape(demo_path):
    async with console(demo_path) as (app, keys):
        site = app.site.engine
        targets = pair_targets(site, "PAYROLL", 1)
        pit = {src: await digest(site, tgt) for src, tgt in targets.items()}  # MONTHEND on DASD
        await damage(site, "PAY001", 0, 40)
        await keys.press("j", "j", "r", "5", "enter", "enter")  # PAYROLL; context, pool
        await keys.press("enter", "enter", "enter")  # every volume, version, dump class
        assert walkthrough(app).command().startswith("FRRECOV COPYPOOL(PAYROLL) FROMDUMP(DUMPCLASS(")
        assert "✘" not in text(app), text(app)
        await keys.press("enter", "enter")
        await finish(keys, app, "PAYROLL")
        report("W5", keys)
        assert app.screen.verified, text(app)
        assert {v: await digest(site, v) for v in targets} == pit


async def test_w5_one_volume_is_confirmed_with_its_volser_and_its_tracks_are_in_the_impact(demo_path):
    """The confirmation asked for the pool's name where one volume is overwritten; the impact
    said "tracks to move: 0" and then restored the written tracks from tape."""
    async with console(demo_path) as (app, keys):
        site = app.site.engine
        pit = await digest(site, pair_targets(site, "PAYROLL", 1)["PAY001"])
        await damage(site, "PAY001", 0, 40)
        await keys.press("j", "j", "r", "5", "enter", "enter")  # PAYROLL; context, pool
        await keys.press("down", "enter", "enter", "enter")  # PAY001, version, dump class
        assert walkthrough(app).command().startswith("FRRECOV TOVOLUME(PAY001) FROMCOPYPOOL(PAYROLL) FROMDUMP(")
        await keys.press("enter")  # the impact
        assert "tracks to move: 0 " not in text(app) and "written tracks" in text(app), text(app)
        await keys.press("enter")
        assert app.screen.stage == "confirm"
        await keys.type("PAYROLL")  # the pool's name is not the one overwritten
        await keys.press("enter")
        assert app.screen.stage == "confirm" and "exactly" in str(app.screen.query_one("#wt-error").render())
        await keys.press("escape")
        assert walkthrough(app) is None  # the cursor is still on PAYROLL
        await keys.press("r", "5", "enter", "enter", "down", "enter", "enter", "enter", "enter", "enter")
        await finish(keys, app, "PAY001")
        assert app.screen.verified, text(app)
        assert await digest(site, "PAY001") == pit


async def test_w5_held_tape_recovery_is_refused(demo_path):
    async with console(demo_path) as (app, keys):
        await app.site.command("HOLD FRRECOV(TAPE)")
        await keys.press("j", "j", "r", "5", "enter", "enter", "enter", "enter", "enter")
        assert "FRRECOV is held (FRRECOV(TAPE)); RELEASE FRRECOV(TAPE)" in text(app)
        assert app.screen.alternatives[0].run == "RELEASE FRRECOV"


async def test_w6_data_set_needs_replace_then_comes_back_from_dasd(demo_path):
    async with console(demo_path) as (app, keys):
        site = app.site.engine
        name = "DB0A.DSNDBC.PAYROLL.TS02.I0001.A001"  # two volumes; the pool captures catalog information
        pit = await site.datasets.read(name)
        await site.datasets.write(name, b"garbage from a bad batch run " * 100)  # shorter, too
        await keys.press("r", "6", "enter")
        await keys.type(name)
        await keys.press("enter")
        await keys.press("enter", "enter", "enter", "up", "enter")  # DSN$DB0A$DB, version 003, DASD, REPLACE: no
        assert f"✘ NOT MET: {name} may be overwritten" in text(app) and "REPLACE" in text(app)
        assert app.screen.alternatives[0].label == "Overwrite them: add REPLACE"
        await keys.press("enter")  # take it: checks again
        assert "✘" not in text(app), text(app)
        assert walkthrough(app).command() == f"FRRECOV DSNAME({name}) FROMCOPYPOOL({DB2}) FROMDASD VERSION(3) REPLACE"
        await keys.press("enter", "enter")
        await finish(keys, app, DB2)
        report("W6", keys)
        assert app.screen.verified, text(app)
        assert await site.datasets.read(name) == pit


async def test_w6_after_w1_recovers_the_data_set_from_version_002_in_at_most_15_keys(demo_path):
    """The 3 a.m. case: a fast reverse restore consumed version 003, then a data set is damaged.
    Walkthrough 6 preselects the newest version that holds it and can serve (002), and the
    command it runs is the one the command line would: checksum exact."""
    async with console(demo_path) as (app, keys):
        site = app.site.engine
        name = "DB0A.DSNDBC.PAYROLL.TS02.I0001.A001"
        await damage(site, "DB0A01", 100, 20)
        await keys.press("r", "1", "enter", "enter", "enter", "enter")  # W1: context, pool, checks, impact
        await finish(keys, app, DB2)
        assert states(site, DB2)[3] == "FAILED"
        await keys.press("enter")  # leave the summary
        assert walkthrough(app) is None
        targets = pair_targets(site, DB2, 2)
        with site.catalog.session() as s:
            v2 = next(v for v in pools.backups(s, DB2) if v.version == 2)
            rows = repo.captured(s, v2.id, name)
        pit = b""
        for r in rows:  # version 002's bytes, read from its targets here (not through the engine's verify)
            pit += b"".join(await site.flashcopy.read_run(targets[r.volser], r.first_track, r.tracks))
        await site.datasets.write(name, b"garbage from a bad batch run " * 100)
        keys.count = 0
        await keys.press("r", "6", "enter")
        await keys.type(name)
        await keys.press("enter", "enter")  # the pattern, the copy pool
        assert walkthrough(app).selections["version"] == "2"  # 003 is FAILED: 002 holds it and can serve
        await keys.press("enter", "enter", "enter")  # version 002, DASD, REPLACE (preselected: it exists)
        assert "✘" not in text(app), text(app)
        assert walkthrough(app).command() == f"FRRECOV DSNAME({name}) FROMCOPYPOOL({DB2}) FROMDASD VERSION(2) REPLACE"
        await keys.press("enter")  # the impact
        assert app.screen.stage == "impact", (app.screen.stage, text(app))
        await keys.press("enter")
        await finish(keys, app, DB2)
        assert app.screen.verified, text(app)
        assert keys.count <= 15, keys.count
        got = await site.datasets.read(name)
        assert hashlib.sha256(got).hexdigest() == hashlib.sha256(pit[: len(got)]).hexdigest() and got


async def test_w6_offers_the_version_that_serves_when_the_chosen_one_cannot(demo_path):
    async with console(demo_path) as (app, keys):
        name = "DB0A.DSNDBC.PAYROLL.TS02.I0001.A001"
        assert (await app.site.command(f"FRRECOV COPYPOOL({DB2})")).rc == 0  # 003 is consumed
        await keys.press("r", "6", "enter")
        await keys.type(name)
        await keys.press("enter", "enter", "up", "enter", "enter", "enter")  # 003 chosen by hand, DASD, REPLACE
        assert walkthrough(app).selections["version"] == "3"
        assert "✘ NOT MET" in text(app), text(app)
        assert app.screen.alternatives[0].label.startswith("Use version 002")
        await keys.press("enter")  # take it: checks again
        assert walkthrough(app).selections["version"] == "2" and "✘" not in text(app), text(app)


async def test_w6_data_sets_by_pattern_from_tape(demo_path):
    async with console(demo_path) as (app, keys):
        site = app.site.engine
        names = ["PAY.HISTORY.G0001V00", "PAY.MASTER.FILE"]
        pit = {n: await site.datasets.read(n) for n in names}
        for n in names:  # a bad job rewrites every record (the pool keeps no catalog information,
            await site.datasets.write(n, b"X" * len(pit[n]))  # so the data sets keep their size)
        await keys.press("r", "6", "enter")
        await keys.type("PAY.**")
        await keys.press("enter")
        await keys.type("PAYROLL")
        await keys.press("enter", "enter", "down", "enter", "enter")  # newest version, tape, REPLACE (preselected)
        assert "FROMDUMP(DUMPCLASS(" in walkthrough(app).command() and "REPLACE" in walkthrough(app).command()
        assert "✘" not in text(app), text(app)
        await keys.press("enter", "enter")
        await finish(keys, app, "PAYROLL")
        assert app.screen.verified, text(app)
        assert {n: await site.datasets.read(n) for n in names} == pit


async def test_w1_choose_another_version_goes_where_a_version_can_be_chosen(demo_path):
    """Issue "One truth": W1 has no version step, so "choose another version" looped back to
    its first step; it now opens walkthrough 2 on the same copy pool."""
    async with console(demo_path) as (app, keys):
        assert (await app.site.command(f"FRRECOV COPYPOOL({DB2})")).rc == 0  # 003 is now invalid
        await keys.press("r", "1", "enter", "enter")
        assert "✘ NOT MET: the backup copy GENERATION(0) exists on DASD" in text(app), text(app)
        assert app.screen.alternatives[0].walkthrough == "W2"
        await keys.press("enter")
        assert walkthrough(app).id == "W2" and walkthrough(app).pool() == DB2


async def test_the_run_steps_progress_bar_is_labelled_and_starts_from_what_is_left(demo_path):
    """The bar had no label and started at 83-87 % (the whole volumes counted, not the tracks a
    fast reverse restore moves): it now says what it measures, from 0 %."""
    async with console(demo_path) as (app, keys):
        await damage(app.site.engine, "DB0A01", 100, 20)
        await keys.press("r", "1", "enter", "enter", "enter", "enter")
        await keys.type(DB2)
        await keys.press("enter")
        await settle(keys.pilot, 6)
        assert app.screen.stage == "run"
        label = str(app.screen.query_one("#wt-progress-label").render())
        bar = app.screen.query_one("#wt-progress")
        assert label.startswith("background copy: ") and "tracks left on" in label and "ETA" in label, label
        assert bar.percentage == 0.0, bar.percentage  # the demo's copy is held still in tests
