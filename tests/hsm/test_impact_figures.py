"""Impact figures come from the engine's own dry run and the site's own pace: the copy rate an
administrator set (or the throughput measured), the tracks a tape restore writes, the version an
FRBACKUP replaces, the versions lost, the only recovery point, the persistent relationships that go."""

from __future__ import annotations

from engine.flashcopy import controller
from engine.flashcopy.controller import CopierSettings, Pace
from engine.hsm.impact import Work, impact
from tests.hsm.conftest import TRACKS, fill, t


async def test_background_copy_time_is_the_sites_configured_pace(site):
    await fill(site, "PAY001", "p")
    site.flashcopy.settings = CopierSettings(concurrency=2, chunk_tracks=1, tracks_per_second=1.0)
    im = impact(site.context, "FRBACKUP COPYPOOL(PAYROLL)")
    assert im.work is Work.COPY and im.tracks_to_move > 0
    assert im.pace == 2.0 and im.pace_from == "the site's configured copy rate"
    assert im.seconds == (im.queued + im.tracks_to_move) / 2.0
    assert "tracks/s (the site's configured copy rate)" in im.lines[-1] and "under a second" not in im.lines[-1]


def test_the_pace_plans_with_what_was_measured_under_the_ceiling():
    assert Pace(50.0, 2.0).expected(1e6) == (2.0, "measured over the last copies")
    assert Pace(1.5, 2.0).expected(1e6) == (1.5, "measured over the last copies")
    assert Pace(None, 2.0).expected(1e6) == (2.0, "the site's configured copy rate")
    assert Pace(None, None).expected(17_000.0) == (17_000.0, "the planning rate of this machine's disks")


async def test_a_tape_restore_says_how_many_tracks_it_writes(site):
    await fill(site, "ARC001", "a")
    await site.flashcopy.write(ARC002 := "ARC002", 3, t("only"))
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) EXECUTE DUMP")).rc == 0
    im = impact(site.context, "FRRECOV TOVOLUME(ARC001) FROMCOPYPOOL(ARCHIVE) FROMDUMP(DUMPCLASS(ONSITE))")
    assert im.work is Work.TAPE and im.moves == {"ARC001": TRACKS}
    assert f"{TRACKS:,} written tracks" in "\n".join(im.lines)
    im = impact(site.context, f"FRRECOV TOVOLUME({ARC002}) FROMCOPYPOOL(ARCHIVE) FROMDUMP(DUMPCLASS(ONSITE))")
    assert im.moves == {ARC002: 1} and "tracks to move: 1 " in im.lines[-1]


async def test_deleting_the_only_version_says_it_is_the_only_recovery_point(site):
    await fill(site, "PAY001", "x")
    assert (await site.hsm.execute("FRB CP(PAYROLL)")).rc == 0
    text = "\n".join(impact(site.context, "FRDELETE COPYPOOL(PAYROLL) VERSIONS(1) BOTH").lines)
    assert "ONLY RECOVERY POINT of PAYROLL" in text and "versions lost as recovery points: 001" in text
    assert (await site.hsm.execute("FRB CP(PAYROLL) TOKEN(T2)")).rc == 0
    text = "\n".join(impact(site.context, "FRDELETE COPYPOOL(PAYROLL) VERSIONS(1) BOTH").lines)
    assert "ONLY RECOVERY POINT" not in text  # version 002 is left


async def test_withdrawing_an_incremental_version_says_its_persistent_relationships_go(site):
    await fill(site, "PAY001", "i")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYINC) FCINCREMENTAL")).rc == 0
    text = "\n".join(impact(site.context, "FRBACKUP COPYPOOL(PAYINC) WITHDRAW").lines)
    assert "persistent incremental relationship(s) are withdrawn" in text
    assert "ONLY RECOVERY POINT of PAYINC" in text


async def test_an_frbackup_says_which_failed_version_it_replaces(site):
    await fill(site, "PAY001", "f")
    assert (await site.hsm.execute("FRB CP(PAYROLL)")).rc == 0
    await site.flashcopy.drain()
    assert (await site.hsm.execute("FRB CP(PAYROLL) TOKEN(T2)")).rc == 0
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) WITHDRAW")).rc == 0  # version 002 FAILED
    text = "\n".join(impact(site.context, "FRBACKUP COPYPOOL(PAYROLL)").lines)
    assert "reuses the targets of version 002 (TOKEN='T2'), which is FAILED: its entry goes" in text, text


def _left(site) -> int:
    """Tracks every background copy of the site still has to move."""
    return sum(r.out_of_sync for r in site.flashcopy.core.copy_candidates())


async def test_a_fast_reverse_restore_waits_only_for_the_copies_it_does_not_reverse(site):
    await fill(site, "DB0A01", "d")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(DSN$DB0A$DB)")).rc == 0
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL)")).rc == 0  # still copying: 60 tracks
    for i in range(3):
        await site.flashcopy.write("DB0A01", i, t("damage"))
    im = impact(site.context, "FRRECOV COPYPOOL(DSN$DB0A$DB)")
    assert im.tracks_to_move == 3 and im.queued == 2 * TRACKS
    assert "after 60 tracks other copies still move" in im.lines[-1]
    assert (await site.hsm.execute("FRRECOV COPYPOOL(DSN$DB0A$DB)")).rc == 0
    assert _left(site) == im.queued + im.tracks_to_move  # the version's own forward copies ended


async def test_a_backup_that_rolls_off_a_version_still_copying_waits_only_for_the_others(site):
    await fill(site, "PAY001", "p")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL)")).rc == 0
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) TOKEN(T2)")).rc == 0
    im = impact(site.context, "FRBACKUP COPYPOOL(PAYROLL) TOKEN(T3)")
    assert "version 001 rolls off: its DASD copy is replaced" in im.lines
    assert im.queued == 2 * TRACKS  # version 002's copies, not version 001's that are withdrawn
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) TOKEN(T3)")).rc == 0
    assert _left(site) == im.queued + im.tracks_to_move


async def test_an_incremental_refresh_counts_its_own_unfinished_copy_once(site):
    await fill(site, "PAY001", "i")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYINC) FCINCREMENTAL")).rc == 0
    await site.flashcopy.write("PAY002", 0, t("changed"))
    im = impact(site.context, "FRBACKUP COPYPOOL(PAYINC) FCINCREMENTAL")
    assert im.tracks_to_move == 2 * TRACKS and im.queued == 0  # the refresh moves what its copy had left
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYINC) FCINCREMENTAL")).rc == 0
    assert _left(site) == im.queued + im.tracks_to_move


class HalfSeconds:
    """A monotonic clock each reading of which is half a second after the last."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        self.now += 0.5
        return self.now


async def test_the_measured_pace_is_the_pace_while_copies_ran_not_diluted_by_idle_time(site, monkeypatch):
    clock = HalfSeconds()
    monkeypatch.setattr(controller, "time", clock)
    await fill(site, "PAY001", "p")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL)")).rc == 0
    first, second = site.flashcopy.core.copy_candidates()
    for _ in range(5):
        assert await site.flashcopy.copy_step(first.id, 6) == 6  # 6 tracks in half a second
    assert site.flashcopy.pace().measured == 12.0
    clock.now += 20.0  # every copy ended 20 s ago
    assert site.flashcopy.pace().measured == 12.0
    for _ in range(5):
        assert await site.flashcopy.copy_step(second.id, 6) == 6  # copying again, after the pause
    assert site.flashcopy.pace().measured == 12.0
    im = impact(site.context, "FRBACKUP COPYPOOL(PAYROLL) TOKEN(T2)")
    assert im.pace == 12.0 and im.pace_from == "measured over the last copies"
