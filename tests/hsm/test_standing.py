"""What a version is worth as a recovery point, answered once by the engine (engine.hsm.standing)
and served in the views: recoverable on DASD or tape, the pool's only recovery point, and why a
version FAILED, recorded when it happened."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.hsm import standing
from engine.states import ClassState, DasdState, FailedReason
from tests.hsm.conftest import fill, t

DB = ["DB0A01", "DB0A02", "DB0L01"]


def by_number(site, pool):
    return {v.version: v for v in site.views.versions(pool) if v.generation is not None}


async def test_a_fast_reverse_restore_says_why_its_version_failed_and_what_is_left(site):
    for v in DB:
        await fill(site, v, f"{v}-old")
    assert (await site.hsm.execute("FRB CP(DSN$DB0A$DB)")).rc == 0
    await site.flashcopy.drain()
    assert (await site.hsm.execute("FRB CP(DSN$DB0A$DB) TOKEN(V2)")).rc == 0
    vers = by_number(site, "DSN$DB0A$DB")
    assert [vers[n].recoverable for n in (1, 2)] == [True, True]
    assert not vers[1].only_recovery_point and not vers[2].only_recovery_point
    assert vers[2].frr_eligible and not vers[2].why_failed
    for v in DB:
        await site.flashcopy.write(v, 5, t("BAD BATCH"))
    before = site.context.clock()
    assert (await site.hsm.execute("FRRECOV COPYPOOL(DSN$DB0A$DB) VERIFY(Y)")).rc == 0
    vers = by_number(site, "DSN$DB0A$DB")
    gone = vers[2]
    assert gone.dasd_state is DasdState.FAILED and not gone.recoverable and not gone.frr_eligible
    assert "fast reverse restore" in gone.why_failed and gone.failed_at > before
    assert vers[1].recoverable and vers[1].only_recovery_point  # what the operator has left
    with site.catalog.session() as s:
        from engine.catalog.models import BackupVersionRow

        row = s.get(BackupVersionRow, gone.id)
        assert row.failed_reason == FailedReason.FAST_REVERSED


async def test_a_withdrawn_version_says_so_and_its_predecessor_is_the_only_point_left(site):
    await fill(site, "PAY001", "w")
    assert (await site.hsm.execute("FRB CP(PAYROLL)")).rc == 0
    await site.flashcopy.drain()
    assert (await site.hsm.execute("FRB CP(PAYROLL) TOKEN(T2)")).rc == 0
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) WITHDRAW")).rc == 0
    vers = by_number(site, "PAYROLL")
    assert "WITHDRAW" in vers[2].why_failed and vers[2].failed_at > 0
    assert vers[1].only_recovery_point and not vers[2].only_recovery_point


async def test_a_recoverable_version_has_no_reason_and_a_lone_one_is_the_only_point(site):
    await fill(site, "PAY001", "x")
    assert (await site.hsm.execute("FRB CP(PAYROLL)")).rc == 0
    (only,) = by_number(site, "PAYROLL").values()
    assert only.recoverable and only.only_recovery_point and only.why_failed == "" and only.failed_at == 0


def test_every_reason_has_words_and_a_recoverable_version_has_none():
    for reason in FailedReason:
        assert standing.why_failed(DasdState.FAILED, reason, 4)
        assert standing.why_failed(DasdState.RECOVERABLE, reason, 4) == ""
    assert "004" in standing.why_failed(DasdState.FAILED, FailedReason.REPLACED, 4)


@given(
    st.lists(
        st.tuples(st.sampled_from(list(DasdState)), st.lists(st.sampled_from(list(ClassState)), max_size=3)),
        max_size=6,
    )
)
def test_the_only_recovery_point_is_the_one_version_recoverable_from_dasd_or_tape(versions):
    points = standing.standings(versions)
    usable = [
        state is DasdState.RECOVERABLE or ClassState.COMPLETE in classes for state, classes in versions
    ]  # the model: DASD recoverable, or a dump class complete on every volume
    assert [p.recoverable for p in points] == usable
    assert [p.only_recovery_point for p in points] == [u and sum(usable) == 1 for u in usable]


async def test_a_recovery_copying_back_is_busy_on_every_screen_and_in_query(site):
    """Pools showed no background copy and QUERY COPYPOOL ARC1821I while a recovery still copied
    onto DB0A02 and a volume recovery was refused because of it: one answer now."""
    from engine.flashcopy.controller import CopierSettings

    for v in DB:
        await fill(site, v, f"{v}-a")
    assert (await site.hsm.execute("FRB CP(DSN$DB0A$DB)")).rc == 0
    await site.flashcopy.drain()
    site.flashcopy.settings = CopierSettings(concurrency=1, chunk_tracks=1, tracks_per_second=0.001)  # held still
    await site.flashcopy.write_run("DB0A02", 0, [t("DAMAGE")] * 30)
    assert (await site.hsm.execute("FRRECOV TOVOLUME(DB0A02) FROMCOPYPOOL(DSN$DB0A$DB) VERSION(1)")).rc == 0
    (pool,) = site.views.pools(only="DSN$DB0A$DB")
    assert pool.copying == 1 and pool.out_of_sync > 0  # the Pools screen's "Background copy"
    query = await site.hsm.execute("QUERY COPYPOOL(DSN$DB0A$DB)")
    said = " ".join(m.text for m in query.messages)
    assert "ARC1821I" not in [m.id for m in query.messages]
    assert "TARGETS OF A RECOVERY" in said and "- DB0A02 PCT-COMP=" in said, said
    again = await site.hsm.execute("FRRECOV TOVOLUME(DB0A02) FROMCOPYPOOL(DSN$DB0A$DB) VERSION(1)")
    assert again.rc != 0  # the rule refuses on the very relationship the screens show


async def test_the_volumes_query_looks_at_are_the_pools_sources(site):
    """QUERY reads a pool's volumes through a prebuilt Core read (engine.catalog.reads): the same
    volumes, in the same order, as the sources a backup of the pool takes."""
    from engine.catalog import constructs as repo
    from engine.catalog import reads
    from engine.hsm import pool as pools

    with site.catalog.session() as s:
        expected = {p.name: [v.volser for v in pools.sources(s, p)] for p in repo.copy_pools(s)}
    with site.catalog.reading() as c:
        got = {name: reads.pool_volumes(c, name) for name in expected}
        assert reads.pool_volumes(c, "NOSUCH") == []
    assert got == expected and any(len(v) > 1 for v in got.values())


async def test_a_pair_says_whether_its_copy_flows_back_and_how_far_it_has_come(site):
    """The console's pairs table shows the engine's answers (PairView): a version's pairs copied
    whole, and after a fast reverse restore the same pairs copying back onto the pool's volumes."""
    from engine.flashcopy.controller import CopierSettings

    for v in DB:
        await fill(site, v, f"{v}-old")
    assert (await site.hsm.execute("FRB CP(DSN$DB0A$DB)")).rc == 0
    await site.flashcopy.drain()
    first = by_number(site, "DSN$DB0A$DB")[1]
    copied = site.views.pairs("DSN$DB0A$DB", first.id)
    assert [(p.relationship, p.restoring, p.percent_copied) for p in copied] == [(None, False, 100.0)] * 3
    site.flashcopy.settings = CopierSettings(concurrency=1, chunk_tracks=1, tracks_per_second=0.001)  # held still
    assert (await site.hsm.execute("FRB CP(DSN$DB0A$DB) TOKEN(V2)")).rc == 0
    for v in DB:
        await site.flashcopy.write(v, 5, t("BAD BATCH"))
    assert (await site.hsm.execute("FRRECOV COPYPOOL(DSN$DB0A$DB) VERIFY(Y)")).rc == 0
    second = by_number(site, "DSN$DB0A$DB")[2]
    assert not second.recoverable  # fast reverse restore spent it
    back = site.views.pairs("DSN$DB0A$DB", second.id)
    assert len(back) == 3
    for p in back:
        assert p.relationship is not None and p.relationship.source == p.target  # from the backup volume
        assert p.restoring and p.percent_copied == p.relationship.percent_complete < 100
