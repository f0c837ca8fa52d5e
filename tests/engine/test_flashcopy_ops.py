"""Each FlashCopy operation and each refusal, checked on the bytes of the volumes."""

from __future__ import annotations

import pytest

from engine import errors
from engine.flashcopy import CopyMode, EstablishRequest, FlashCopyCore, FlashCopyOptions, RelState
from tests.conftest import track


def fill(core: FlashCopyCore, vol: str, prefix: str, n: int | None = None) -> list[bytes]:
    n = n or core.volume(vol).tracks
    data = [track(f"{prefix}{i}") for i in range(n)]
    core.write_run(vol, 0, data)
    return data


def physical(core: FlashCopyCore, vol: str, k: int) -> bytes:
    return core.volume(vol).read_track_sync(k)


# -- establish, redirection, copy-on-write ----------------------------------------------------


def test_establish_moves_no_data_and_target_reads_the_point_in_time(core):
    a = fill(core, "A", "a")
    moved = core.tracks_moved
    rel = core.establish(EstablishRequest("A", "B"))
    assert core.tracks_moved == moved  # bitmaps only
    assert physical(core, "B", 5) == bytes(64)  # nothing on B's image yet
    assert core.read_run("B", 0, 16) == a  # ... but B reads the point in time
    assert core.tracks_moved == moved  # and reading copied nothing
    assert rel.full_volume and rel.state is RelState.COPYING and rel.out_of_sync == 16


def test_source_write_copies_old_track_first(core):
    a = fill(core, "A", "a")
    core.establish(EstablishRequest("A", "B", mode=CopyMode.NOCOPY))
    core.write("A", 3, track("new"))
    assert core.read("A", 3) == track("new")
    assert core.read("B", 3) == a[3]
    assert physical(core, "B", 3) == a[3]  # copy-on-write put it there
    assert core.tracks_moved == 1
    assert core.relationships()[0].out_of_sync == 15


def test_target_write_wins_and_leaves_the_relationship(core):
    fill(core, "A", "a")
    rel = core.establish(EstablishRequest("A", "B", mode=CopyMode.NOCOPY))
    core.write("B", 4, track("mine"))
    assert core.read("B", 4) == track("mine")
    assert core.tracks_moved == 0 and rel.out_of_sync == 15
    assert rel.changed_tgt.tracks() == [4]


def test_partial_update_reads_the_point_in_time_first(core):
    a = fill(core, "A", "a")
    core.establish(EstablishRequest("A", "B", mode=CopyMode.NOCOPY))
    core.update("B", 2, 0, b"XX")
    assert core.read("B", 2) == b"XX" + a[2][2:]


def test_extent_relationship_with_different_offsets(core):
    big = fill(core, "BIG", "g")
    rel = core.establish(EstablishRequest("BIG", "A", source_start=20, target_start=3, tracks=5))
    assert not rel.full_volume
    assert core.read_run("A", 3, 5) == big[20:25]
    assert core.read("A", 2) == bytes(64) and core.read("A", 8) == bytes(64)
    core.write("BIG", 22, track("changed"))
    assert core.read("A", 5) == big[22]


def test_same_volume_extents(core):
    big = fill(core, "BIG", "g")
    core.establish(EstablishRequest("BIG", "BIG", source_start=0, target_start=16, tracks=16))
    core.write("BIG", 1, track("x"))
    assert core.read("BIG", 17) == big[1]


# -- background copy ---------------------------------------------------------------------------


def test_background_copy_in_batches_then_a_plain_relationship_ends(core):
    a = fill(core, "A", "a")
    rel = core.establish(EstablishRequest("A", "B"))
    assert core.copy_step(rel.id, 10) == 10
    assert rel.out_of_sync == 6 and rel.tracks_copied == 10
    assert core.copy_step(rel.id, 10) == 6
    assert core.relationships() == []  # non-persistent: ended by itself
    assert [physical(core, "B", k) for k in range(16)] == a
    assert [e.reason.value for e in core.ended] == ["copy complete"]


def test_persistent_relationship_stays_after_copy(core):
    fill(core, "A", "a")
    rel = core.establish(EstablishRequest("A", "B", persistent=True))
    core.copy_step(rel.id, 100)
    assert rel.state is RelState.COPY_COMPLETE and core.relationships() == [rel]


def test_nocopy_switched_to_copy(core):
    fill(core, "A", "a")
    rel = core.establish(EstablishRequest("A", "B", mode=CopyMode.NOCOPY))
    assert core.copy_candidates() == []
    core.set_mode(rel.id, CopyMode.COPY)
    assert core.copy_candidates() == [rel]


# -- incremental --------------------------------------------------------------------------------


def test_refresh_copies_exactly_the_changed_tracks(core):
    fill(core, "A", "a")
    rel = core.establish(EstablishRequest("A", "B", incremental=True))
    core.copy_step(rel.id, 100)
    core.write("A", 1, track("s1"))
    core.write("A", 7, track("s7"))
    core.write("B", 9, track("t9"))
    assert core.refresh(rel.id) == 3
    before = core.tracks_moved
    core.copy_step(rel.id, 100)
    assert core.tracks_moved - before == 3
    assert core.read_run("B", 0, 16) == core.read_run("A", 0, 16)


def test_refresh_needs_change_recording(core):
    rel = core.establish(EstablishRequest("A", "B"))
    with pytest.raises(errors.NotIncremental, match="change recording"):
        core.refresh(rel.id)


def test_one_incremental_target_per_source_unless_allowed(make_volume):
    for v in "ABC":
        make_volume(v)
    core = FlashCopyCore(make_volume.volumes)
    core.establish(EstablishRequest("A", "B", incremental=True))
    with pytest.raises(errors.IncrementalLimit, match="only one incremental"):
        core.establish(EstablishRequest("A", "C", incremental=True))
    multi = FlashCopyCore(make_volume.volumes, FlashCopyOptions(multiple_incremental=True))
    multi.establish(EstablishRequest("A", "B", incremental=True))
    multi.establish(EstablishRequest("A", "C", incremental=True))


# -- reverse ------------------------------------------------------------------------------------


def test_reverse_of_incremental_restores_source_moving_only_changes(core):
    a = fill(core, "A", "a")
    rel = core.establish(EstablishRequest("A", "B", incremental=True))
    with pytest.raises(errors.CopyInProgress, match="still has 16 tracks"):
        core.reverse(rel.id)
    core.copy_step(rel.id, 100)
    core.write("A", 5, track("oops"))
    core.write("A", 6, track("oops"))
    rev = core.reverse(rel.id)
    assert (rev.source, rev.target, rev.out_of_sync, rev.persistent) == ("B", "A", 2, True)
    assert core.read_run("A", 0, 16) == a  # at once
    before = core.tracks_moved
    core.copy_step(rev.id, 100)
    assert core.tracks_moved - before == 2
    assert [physical(core, "A", k) for k in range(16)] == a


def test_reverse_needs_incremental(core):
    rel = core.establish(EstablishRequest("A", "B"))
    core.copy_step(rel.id, 5)
    with pytest.raises(errors.NotIncremental):
        core.reverse(rel.id)


def test_fast_reverse_while_copying_keeps_other_versions(core):
    """FRR of version 3 while versions 1 and 2 (other targets of A) stay valid."""
    a = fill(core, "A", "a")
    v1 = core.establish(EstablishRequest("A", "B"))
    core.write("A", 0, track("after-v1"))
    v2 = core.establish(EstablishRequest("A", "C"))
    core.write("A", 1, track("after-v2"))
    v3 = core.establish(EstablishRequest("A", "D"))
    pit3 = core.read_run("A", 0, 16)
    core.write("A", 2, track("bad"))
    core.write("A", 3, track("bad"))
    core.copy_step(v3.id, 4)  # v3 partly copied
    before = core.tracks_moved
    frr = core.reverse(v3.id, fast=True)
    assert core.tracks_moved == before  # bitmaps only
    assert frr.out_of_sync == 2 and not frr.persistent and frr.fast_reversed
    assert core.read_run("A", 0, 16) == pit3
    core.copy_step(frr.id, 100)
    # only the 2 changed tracks move back (v1 and v2 got theirs when 'bad' was written)
    assert core.tracks_moved - before == 2
    assert core.read_run("A", 0, 16) == pit3
    assert core.read_run("B", 0, 16) == a  # version 1 intact
    assert core.read_run("C", 0, 16) == [track("after-v1"), *a[1:]]  # version 2 intact
    assert {r.id for r in core.relationships()} == {v1.id, v2.id}


def test_fast_reverse_after_a_newer_versions_restore_gives_back_the_older_point_in_time(core):
    """Found by the versions model: B and C are versions of A (B chained behind C), A is written,
    C is fast-reverse restored and its copy back completes, then B is fast-reverse restored. B's
    changed track had only ever been read through C and then through A; the restore must copy it
    onto B before giving it back, not hand A B's never-written physical track."""
    a = fill(core, "A", "a")
    older = core.establish(EstablishRequest("A", "B"))
    newer = core.establish(EstablishRequest("A", "C"))
    core.write("A", 4, track("after both"))
    restore = core.reverse(newer.id, fast=True)
    core.copy_step(restore.id, 16)
    assert core.read_run("A", 0, 16) == a and core.read_run("B", 0, 16) == a
    core.reverse(older.id, fast=True)
    assert core.read_run("A", 0, 16) == a


def test_fast_reverse_refuses_a_changed_target(core):
    fill(core, "A", "a")
    rel = core.establish(EstablishRequest("A", "B"))
    core.write("B", 0, track("x"))
    with pytest.raises(errors.TargetChanged, match="written since the flash"):
        core.reverse(rel.id, fast=True)


# -- withdraw -----------------------------------------------------------------------------------


def test_withdraw_says_what_the_target_holds(core):
    a = fill(core, "A", "a")
    rel = core.establish(EstablishRequest("A", "B"))
    core.copy_step(rel.id, 6)
    result = core.withdraw(rel.id)
    assert result.invalid_tracks == 10 and "no valid data on 10 of 16" in result.statement()
    assert [core.read("B", k) for k in range(6)] == a[:6]
    assert core.relationships() == []
    done = core.establish(EstablishRequest("A", "C", persistent=True))
    core.copy_step(done.id, 100)
    assert "complete point-in-time copy" in core.withdraw(done.id).statement()
    with pytest.raises(errors.UnknownRelationship, match="does not exist"):
        core.withdraw(rel.id)


# -- cascades -----------------------------------------------------------------------------------


def test_cascade_reads_resolve_upstream_and_writes_preserve_every_copy(core):
    a = fill(core, "A", "a")
    ab = core.establish(EstablishRequest("A", "B", mode=CopyMode.NOCOPY))
    core.establish(EstablishRequest("B", "C", mode=CopyMode.NOCOPY))
    assert core.read_run("C", 0, 16) == a  # C -> B -> A
    assert core.tracks_moved == 0
    core.write("A", 0, track("A0"))  # old A0 goes to B; C reads it through B
    assert core.read("B", 0) == a[0] and core.read("C", 0) == a[0]
    core.write("B", 1, track("B1"))  # C gets B's old (= A's) track 1 first
    assert core.read("C", 1) == a[1] and core.read("B", 1) == track("B1")
    core.withdraw(ab.id)  # B loses its copy; C keeps its own point in time
    assert core.read_run("C", 0, 16) == a


def test_restore_onto_a_source_that_still_has_targets(core):
    """Restore D -> A while A -> B and A -> C keep their points in time (cascade T3 -> S)."""
    old = [track(f"old{i}") for i in range(16)]
    core.write_run("D", 0, old)
    a = fill(core, "A", "a")
    core.establish(EstablishRequest("A", "B", mode=CopyMode.NOCOPY))
    core.establish(EstablishRequest("A", "C", mode=CopyMode.NOCOPY))
    moved = core.tracks_moved
    restore = core.establish(EstablishRequest("D", "A"))
    assert core.tracks_moved == moved  # instant: no data moved to protect B and C
    assert core.read_run("A", 0, 16) == old
    assert core.read_run("B", 0, 16) == a and core.read_run("C", 0, 16) == a
    core.copy_step(restore.id, 100)
    assert core.read_run("A", 0, 16) == old
    assert core.read_run("B", 0, 16) == a and core.read_run("C", 0, 16) == a


def test_cascading_off_refuses_copies_of_copies(make_volume):
    for v in "ABC":
        make_volume(v)
    core = FlashCopyCore(make_volume.volumes, FlashCopyOptions(cascading=False))
    core.establish(EstablishRequest("A", "B"))
    with pytest.raises(errors.CascadeNotAllowed, match="cascading FlashCopy is off"):
        core.establish(EstablishRequest("B", "C"))
    with pytest.raises(errors.CascadeNotAllowed):
        core.establish(EstablishRequest("C", "A"))


# -- refusals -----------------------------------------------------------------------------------


def test_one_source_per_target_track(core):
    core.establish(EstablishRequest("BIG", "A", source_start=0, target_start=0, tracks=8))
    with pytest.raises(errors.TargetInRelationship, match="tracks 4-7 are already the target"):
        core.establish(EstablishRequest("C", "A", source_start=0, target_start=4, tracks=8))
    core.establish(EstablishRequest("C", "A", source_start=0, target_start=8, tracks=8))


def test_overlapping_extents_on_one_volume(core):
    with pytest.raises(errors.ExtentOverlap, match="overlap on BIG"):
        core.establish(EstablishRequest("BIG", "BIG", source_start=0, target_start=4, tracks=8))


def test_sizes_and_devices_must_match(core, make_volume):
    with pytest.raises(errors.ExtentMismatch, match="same size"):
        core.establish(EstablishRequest("A", "BIG"))
    core.establish(EstablishRequest("A", "BIG", allow_larger_target=True))
    make_volume("ODD", 16, track_size=128)
    with pytest.raises(errors.ExtentMismatch, match="not like devices"):
        core.establish(EstablishRequest("B", "ODD"))
    with pytest.raises(errors.ExtentMismatch, match="outside"):
        core.establish(EstablishRequest("B", "C", source_start=10, target_start=0, tracks=10))
    with pytest.raises(errors.UnknownVolume, match="not known"):
        core.establish(EstablishRequest("B", "NOPE"))


def test_loops_are_refused_but_reversal_is_the_way(core):
    rel = core.establish(EstablishRequest("A", "B", incremental=True))
    core.establish(EstablishRequest("B", "C"))
    with pytest.raises(errors.RelationshipLoop, match="close a loop"):
        core.establish(EstablishRequest("C", "A"))
    core.copy_step(rel.id, 100)
    core.reverse(rel.id)


def test_at_most_twelve_relationships_per_source_track(make_volume):
    for i in range(14):
        make_volume(f"V{i}")
    core = FlashCopyCore(make_volume.volumes)
    for i in range(1, 13):
        core.establish(EstablishRequest("V0", f"V{i}", mode=CopyMode.NOCOPY))
    with pytest.raises(errors.TooManyRelationships, match="at most 12"):
        core.establish(EstablishRequest("V0", "V13"))


def test_write_inhibited_target(core):
    core.establish(EstablishRequest("A", "B", incremental=True, target_write_inhibit=True))
    with pytest.raises(errors.TargetWriteInhibited, match="write-inhibited"):
        core.write("B", 0, track("no"))
    assert core.read("B", 0) == bytes(64)


def test_refusals_change_nothing(core):
    a = fill(core, "A", "a")
    core.establish(EstablishRequest("A", "B"))
    before = [(r.id, r.uncopied.copy()) for r in core.relationships()]
    for req in (EstablishRequest("C", "B"), EstablishRequest("A", "BIG")):
        with pytest.raises(errors.FlashCopyError):
            core.establish(req)
    assert [(r.id, r.uncopied) for r in core.relationships()] == before
    assert core.read_run("B", 0, 16) == a
