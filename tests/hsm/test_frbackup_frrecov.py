"""FRBACKUP / FRRECOV scenarios, checking the catalog *and the bytes on the volumes*."""

from __future__ import annotations

from engine.catalog import constructs as repo
from engine.hsm import pool as pools
from tests.catalogs import both_catalogs
from tests.hsm.conftest import content, fill, t

pytestmark = both_catalogs

DB = ["DB0A01", "DB0A02", "DB0L01"]


def versions(site, cp):
    with site.catalog.session() as s:
        return [(v.version, v.dasd_state) for v in pools.backups(s, cp)]


def pairs_of(site, cp, version):
    with site.catalog.session() as s:
        return repo.pairs(s, next(v for v in pools.backups(s, cp) if v.version == version).id)


async def test_frbackup_flashes_every_volume_at_one_point_in_time(site):
    for v in DB:
        await fill(site, v, f"{v}-a")
    res = await site.hsm.execute("FRBACKUP COPYPOOL(DSN$DB0A$DB) EXECUTE TOKEN(NIGHTLY)")
    assert res.rc == 0, res.lines()
    ids = [m.id for m in res.messages]
    assert ids[0] == "ARC1801I" and ids[-1] == "ARC1802I" and "ARC1805I" in ids and ids.count("ARC0640I") == 3
    assert versions(site, "DSN$DB0A$DB") == [(1, "RECOVERABLE")]
    with site.catalog.session() as s:
        v = pools.backups(s, "DSN$DB0A$DB")[0]
        pairs = repo.pairs(s, v.id)
        assert v.token == b"NIGHTLY" and v.fcfrr and len(pairs) == 3
    for p in pairs:  # targets read the point in time at once, before any copying
        assert await content(site, p.target) == await content(site, p.source)
    assert site.flashcopy.core.tracks_moved == 0


async def test_versions_roll_off_and_wrap_and_recovery_restores_bytes(site):
    pits = []
    for n in range(4):
        for v in DB:
            await fill(site, v, f"{v}-{n}")
        pits.append({v: await content(site, v) for v in DB})
        assert (await site.hsm.execute("FRB CP(DSN$DB0A$DB)")).rc == 0
        await site.flashcopy.drain()
    assert versions(site, "DSN$DB0A$DB") == [(4, "RECOVERABLE"), (3, "RECOVERABLE"), (2, "RECOVERABLE")]
    for v in DB:
        await site.flashcopy.write_run(v, 0, [t("DAMAGE")] * 30)
    res = await site.hsm.execute("FRRECOV COPYPOOL(DSN$DB0A$DB) GENERATION(1)")
    assert res.rc == 0, res.lines()
    for v in DB:
        assert await content(site, v) == pits[2][v]
    assert versions(site, "DSN$DB0A$DB")[1] == (3, "RECOVERABLE")  # regular recovery keeps it


async def test_fast_reverse_restore_invalidates_only_its_version(site):
    for v in DB:
        await fill(site, v, f"{v}-old")
    await site.hsm.execute("FRB CP(DSN$DB0A$DB)")
    await site.flashcopy.drain()  # version 1 complete
    old = {v: await content(site, v) for v in DB}
    for v in DB:
        await fill(site, v, f"{v}-new")
    new = {v: await content(site, v) for v in DB}
    await site.hsm.execute("FRB CP(DSN$DB0A$DB) TOKEN(V2)")  # version 2 still copying
    for v in DB:
        await site.flashcopy.write(v, 5, t("BAD BATCH"))
    moved = site.flashcopy.core.tracks_moved
    res = await site.hsm.execute("FRRECOV COPYPOOL(DSN$DB0A$DB) VERIFY(Y)")
    assert res.rc == 0, res.lines()
    assert "FPL111I" in [m.id for m in res.messages]
    for v in DB:
        assert await content(site, v) == new[v]
    await site.flashcopy.drain()
    assert versions(site, "DSN$DB0A$DB") == [(2, "FAILED"), (1, "RECOVERABLE")]
    # only the one damaged track per volume moved back (after the background copies of v2)
    assert site.flashcopy.core.tracks_moved - moved <= 3 * 30
    for v in DB:
        await site.flashcopy.write(v, 0, t("again"))
    assert (await site.hsm.execute("FRRECOV CP(DSN$DB0A$DB) VERSION(1)")).rc == 0  # by regular copy
    for v in DB:
        assert await content(site, v) == old[v]


async def test_frr_not_eligible_once_copied_then_regular_recovery(site):
    for v in DB:
        await fill(site, v, v)
    pit = {v: await content(site, v) for v in DB}
    await site.hsm.execute("FRB CP(DSN$DB0A$DB)")
    await site.flashcopy.drain()
    for v in DB:
        await site.flashcopy.write(v, 1, t("x"))
    res = await site.hsm.execute("FRRECOV CP(DSN$DB0A$DB)")
    assert res.rc == 0 and "FPL110I" in [m.id for m in res.messages]
    assert versions(site, "DSN$DB0A$DB") == [(1, "RECOVERABLE")]
    for v in DB:
        assert await content(site, v) == pit[v]


async def test_regular_recovery_waits_for_copy_and_verify_catches_relationships(site):
    await fill(site, "PAY001", "p")
    await site.hsm.execute("FRB CP(PAYROLL)")
    res = await site.hsm.execute("FRRECOV CP(PAYROLL)")  # still copying: RC=4
    assert res.rc == 4 and "still copying" in res.messages[1].text
    await site.flashcopy.drain()
    await site.hsm.execute("FRB CP(PAYROLL)")  # version 2 copying: a source is in a relationship
    res = await site.hsm.execute("FRRECOV CP(PAYROLL) GEN(1)")
    assert res.rc == 4 and "ARC1821I" in [m.id for m in res.messages]
    res = await site.hsm.execute("FRRECOV CP(PAYROLL) GEN(1) VERIFY(N)")  # operator vouches: cascade
    assert res.rc == 0, res.lines()


async def test_incremental_versions_refresh_and_reverse(site):
    data = await fill(site, "PAY001", "i")
    await fill(site, "PAY002", "j")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYINC) EXECUTE FCINCREMENTAL TOKEN(NIGHTLY)")).rc == 0
    await site.flashcopy.drain()
    await site.flashcopy.write("PAY001", 3, t("day2"))
    moved = site.flashcopy.core.tracks_moved
    res = await site.hsm.execute("FRBACKUP COPYPOOL(PAYINC) EXECUTE FCINCREMENTAL")
    assert res.rc == 0 and "an incremental refresh" in res.messages[-2].text
    await site.flashcopy.drain()
    assert site.flashcopy.core.tracks_moved - moved == 1  # only the changed track
    day2 = await content(site, "PAY001")
    await site.flashcopy.write("PAY001", 4, t("oops"))
    moved = site.flashcopy.core.tracks_moved
    assert (await site.hsm.execute("FRRECOV COPYPOOL(PAYINC)")).rc == 0
    assert await content(site, "PAY001") == day2
    await site.flashcopy.drain()
    assert site.flashcopy.core.tracks_moved - moved == 1
    assert versions(site, "PAYINC") == [(2, "RECOVERABLE")]
    await site.flashcopy.write("PAY001", 5, t("day3"))
    assert (await site.hsm.execute("FRB CP(PAYINC) FCINCREMENTAL")).rc == 0  # re-reverses
    await site.flashcopy.drain()
    rel = site.flashcopy.relationships()[0]
    assert rel.source in ("PAY001", "PAY002") and rel.incremental
    assert data[0] == (await content(site, "PAY001"))[0]


async def test_tovolume_recovery_and_its_refusals(site):
    pit = await fill(site, "PAY001", "v")
    await site.hsm.execute("FRB CP(PAYROLL)")
    await site.flashcopy.drain()
    await site.flashcopy.write("PAY001", 2, t("bad"))
    res = await site.hsm.execute("FRRECOV TOVOLUME(PAY001)")
    assert res.rc == 6 and "PAYINC, PAYROLL" in res.messages[1].text  # in two copy pools
    res = await site.hsm.execute("FRRECOV TOVOLUME(PAY001) FROMCOPYPOOL(PAYROLL)")
    assert res.rc == 0, res.lines()
    assert await content(site, "PAY001") == pit
    assert (await site.hsm.execute("FRRECOV TOV(BK0001)")).rc == 38
    assert (await site.hsm.execute("FRRECOV TOV(PAY001) FCP(PAYROLL) VERSION(7)")).rc == 2


async def test_withdraw_delete_hold_and_bad_input(site):
    await fill(site, "PAY001", "w")
    await site.hsm.execute("FRB CP(PAYROLL)")
    await site.hsm.execute("FRB CP(PAYROLL) TOKEN(T2)")
    res = await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) WITHDRAW")
    assert res.rc == 0 and versions(site, "PAYROLL") == [(2, "FAILED"), (1, "RECOVERABLE")]
    assert (await site.hsm.execute("FRDELETE COPYPOOL(PAYROLL) VERSIONS(2)")).rc == 0
    assert versions(site, "PAYROLL") == [(1, "RECOVERABLE")]
    assert (await site.hsm.execute("FRDELETE CP(PAYROLL) TOKEN(NOPE)")).rc == 14
    assert (await site.hsm.execute("HOLD FRBACKUP")).rc == 0
    res = await site.hsm.execute("FRB CP(PAYROLL)")
    assert res.rc == 50 and "held" in res.messages[0].text
    await site.hsm.execute("RELEASE FRBACKUP")
    assert (await site.hsm.execute("FRB CP(PAYROLL)")).rc == 0
    assert (await site.hsm.execute("FRB CP(NOSUCH)")).rc == 22
    res = await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) EXECUTE PREPARE")
    assert res.rc == 12 and res.messages[0].id.startswith("IKJ")
    assert (await site.hsm.execute("FRDELETE CP(PAYROLL) ALL")).rc == 0
    assert versions(site, "PAYROLL") == []
    assert site.flashcopy.relationships() == []
    with site.catalog.session() as s:
        log = repo.activity(s)
    assert len(log) == 12 and log[0].command == "FRDELETE CP(PAYROLL) ALL" and log[5].return_code == 50


async def test_a_backup_is_verified_as_the_version_it_created_never_the_newest_by_then(site, monkeypatch):
    """FRBACKUP's result names the version it created; verify_backup checks that version's targets.
    Rolled off by two later backups (PAYROLL keeps 2), withdrawn, or no longer valid once its
    targets were read, it says so and compares nothing, never the newest version instead."""
    from engine.catalog.models import BackupVersionRow
    from engine.hsm import verify

    for v in ("PAY001", "PAY002"):
        await fill(site, v, f"{v}-a")
    made = await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) EXECUTE")
    assert made.rc == 0 and made.data == {"kind": "backup", "copy_pool": "PAYROLL", "version": 1}, made.lines()
    outcomes = verify.check_backup(site.context, "PAYROLL", 1)
    assert [(o.expected.name, o.ok) for o in outcomes] == [("PAY001", True), ("PAY002", True)]
    targets = {p.source: p.target for p in pairs_of(site, "PAYROLL", 1)}
    assert [o.expected.origin for o in outcomes] == [
        f"target {targets[v]} of version 001 against {v} at the flash" for v in ("PAY001", "PAY002")
    ]

    for _ in range(2):
        assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) EXECUTE")).rc == 0
    assert versions(site, "PAYROLL") == [(3, "RECOVERABLE"), (2, "RECOVERABLE")]
    gone = verify.check_backup(site.context, "PAYROLL", 1)
    assert [(o.expected.kind, o.expected.name, o.actual, o.ok) for o in gone] == [
        ("version", "PAYROLL 1", "gone", False)
    ]
    assert "version 001 of PAYROLL" in gone[0].expected.origin and "nothing compared" in gone[0].expected.origin

    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) WITHDRAW")).rc == 0  # version 3
    assert [(o.actual, o.ok) for o in verify.check_backup(site.context, "PAYROLL", 3)] == [("invalid", False)]

    compare = verify._compare_pair

    def failed_meanwhile(ctx, source, target, rel_id):  # version 2 stops being valid while it is read
        with site.catalog.session() as s:
            row = next(v for v in pools.backups(s, "PAYROLL") if v.version == 2)
            row = s.get(BackupVersionRow, row.id)
            row.dasd_state = "FAILED"
            s.add(row)
            s.commit()
        return compare(ctx, source, target, rel_id)

    monkeypatch.setattr(verify, "_compare_pair", failed_meanwhile)
    assert [(o.expected.kind, o.actual, o.ok) for o in verify.check_backup(site.context, "PAYROLL", 2)] == [
        ("version", "invalid", False)
    ]


async def test_no_target_available_fails_the_whole_backup(site):
    from engine.catalog.models import VolumeRow

    assert (await site.hsm.execute("FRB CP(PAYROLL)")).rc == 0
    assert (await site.hsm.execute("FRB CP(PAYROLL)")).rc == 0  # 4 of the 6 PAYBK volumes in use
    with site.catalog.session() as s:  # vary one of the two free ones offline
        row = s.get(VolumeRow, "PB0005")
        row.online = False
        s.add(row)
        s.commit()
    res = await site.hsm.execute("FRB CP(PAYINC)")
    assert res.rc == 10
    assert [m.id for m in res.messages].count("ARC1807I") == 1
    assert "1 offline" in next(m.text for m in res.messages if m.id == "ARC1807I")
    assert versions(site, "PAYINC") == []
    assert len(site.flashcopy.relationships()) == 4  # nothing half-made for PAYINC


async def test_fcincremental_with_two_versions_alternates_and_refuses(site):
    await fill(site, "PAY001", "a")
    assert (await site.hsm.execute("FRB CP(PAYROLL) FCINCREMENTAL")).rc == 0  # v1 incremental
    await site.flashcopy.drain()
    assert (await site.hsm.execute("FRB CP(PAYROLL) FCINCREMENTAL")).rc == 0  # v2 full (a new target set)
    await site.flashcopy.drain()
    res = await site.hsm.execute("FRB CP(PAYROLL) FCINCREMENTAL")  # v3 refreshes v1's targets
    assert res.rc == 0 and "incremental refresh" in res.messages[-2].text
    await site.flashcopy.drain()
    res = await site.hsm.execute("FRB CP(PAYROLL) FCINCREMENTAL")  # would replace v2: not incremental
    assert res.rc == 58 and "is not the incremental one" in res.messages[1].text
    res = await site.hsm.execute("FRB CP(PAYROLL) FCINCREMENTALLAST")
    assert res.rc == 58


async def test_list_and_query(site):
    await fill(site, "DB0A01", "l")
    await site.hsm.execute("FRB CP(DSN$DB0A$DB) TOKEN(NIGHTLY)")
    res = await site.hsm.execute("LIST COPYPOOL(DSN$DB0A$DB)")
    text = "\n".join(res.listing)
    assert "COPYPOOL=DSN$DB0A$DB" in text and "001     Y" in text and "RECOVERABLE" in text
    assert "TOKEN(C)=C'NIGHTLY' TOKEN(H)=X'4E49474854" in text
    assert "DB0ADATA DB0A01 - BK" in text and "FCFRR=Y" in text
    res = await site.hsm.execute("QUERY COPYPOOL(DSN$DB0A$DB)")
    assert res.messages[0].id == "ARC1820I" and "PCT-COMP=000" in res.messages[0].text
    await site.flashcopy.drain()
    assert (await site.hsm.execute("Q CP(DSN$DB0A$DB)")).messages[0].id == "ARC1821I"
    assert "PAYROLL" not in "\n".join((await site.hsm.execute("LIST COPYPOOL")).listing)
    assert "COPYPOOLS=PAYINC PAYROLL" in (await site.hsm.execute("LIST PVOL(PAY001)")).listing[0]
    assert (await site.hsm.execute("Q SETSYS")).messages[0].id == "ARC1823I"


async def test_the_pools_view_counts_a_backups_copies_and_a_recoverys_copies_back(site):
    """The Pools view's copies (read through the driver's plain rows on both databases): a
    version's relationships while they copy, then a regular recovery's copies back onto the
    pool's own volumes, each with the tracks it has left."""

    def summary():
        (p,) = site.views.pools("DSN$DB0A$DB")
        return p.copying, p.out_of_sync, p.tracks

    for v in DB:
        await fill(site, v, f"{v}-a")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(DSN$DB0A$DB)")).rc == 0
    size = sum(site.context.volume(v).geometry.tracks for v in DB)
    assert summary() == (3, size, size)
    await site.flashcopy.drain()
    assert summary() == (0, 0, 0)
    res = await site.hsm.execute("FRRECOV COPYPOOL(DSN$DB0A$DB)")  # the copy completed: a regular recovery
    assert res.rc == 0, res.lines()
    back = site.flashcopy.core.copy_candidates()
    assert sorted(r.target for r in back) == sorted(DB)  # onto the pool's own volumes
    assert summary() == (3, sum(r.out_of_sync for r in back), size)
    await site.flashcopy.drain()
    assert summary() == (0, 0, 0)


async def test_a_volume_recovered_from_a_copy_pool_that_is_not_defined_is_told_so(site):
    """FROMCOPYPOOL(NOPE) names no copy pool: RC 22 saying so (it said RC 38, 'not a source
    volume of copy pool NOPE'), from DASD and from tape."""
    from engine.messages import Rc

    assert (await site.hsm.execute("FRBACKUP COPYPOOL(DSN$DB0A$DB)")).rc == 0
    for cmd in ("FRRECOV TOVOLUME(DB0A01) FROMCOPYPOOL(NOPE)", "FRRECOV TOVOLUME(DB0A01) FROMCOPYPOOL(NOPE) FROMDUMP"):
        res = await site.hsm.execute(cmd)
        assert res.rc == Rc.UNKNOWN_POOL and "copy pool NOPE is not defined" in "\n".join(res.lines()), res.lines()


async def test_a_volume_recovered_while_its_backup_still_joins_it_is_told_why(site):
    """FRRECOV TOVOLUME cannot flash a target back over the backup's own relationship: while its
    copy runs RC 4 says so and when it ends (the whole pool, by fast reverse restore, now); an
    FCINCREMENTAL backup's persistent relationship is reversed only by the copy pool's recovery.
    (It said 'BK0001 -> PAY001 would close a loop'.) Nothing moved."""
    site.flashcopy.pause()
    assert (await site.hsm.execute("FRB CP(PAYROLL)")).rc == 0
    res = await site.hsm.execute("FRRECOV TOVOLUME(PAY001) FROMCOPYPOOL(PAYROLL)")
    text = "\n".join(res.lines())
    assert res.rc == 4 and "the backup of PAY001 in version 001 is still copying to" in text, text
    assert "recover the volume when it completes (QUERY COPYPOOL)" in text and "loop" not in text
    assert "fast reverse restore" not in text  # PAYROLL's versions cannot be reversed fast
    assert (await site.hsm.execute("FRB CP(DSN$DB0A$DB)")).rc == 0
    text = "\n".join((await site.hsm.execute("FRRECOV TOVOLUME(DB0A01) FROMCOPYPOOL(DSN$DB0A$DB)")).lines())
    assert "or recover the whole copy pool now with FRRECOV COPYPOOL(DSN$DB0A$DB) (fast reverse restore)" in text
    site.flashcopy.pause(False)
    await site.flashcopy.drain()
    assert (await site.hsm.execute("FRRECOV TOVOLUME(PAY001) FROMCOPYPOOL(PAYROLL)")).rc == 0

    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYINC) EXECUTE FCINCREMENTAL")).rc == 0
    await site.flashcopy.drain()
    before = [(r.id, r.source, r.target) for r in site.flashcopy.relationships()]
    res = await site.hsm.execute("FRRECOV TOVOLUME(PAY001) FROMCOPYPOOL(PAYINC)")
    text = "\n".join(res.lines())
    assert res.rc == 4 and "is still in the persistent FlashCopy relationship of version 001" in text, text
    assert "recover the whole copy pool with FRRECOV COPYPOOL(PAYINC), which reverses it" in text
    assert [(r.id, r.source, r.target) for r in site.flashcopy.relationships()] == before
