"""one_commit: the relationship operations of a whole copy pool (FRBACKUP, FRRECOV, FRDELETE)
commit their state once, at the end, instead of once each.

Against the naive model: random FlashCopy operations, some of them in groups, the process dying
inside a group, and after every track copied inside a group a check of what a death there would
leave. What the dead process had not committed is lost; the volumes must then read exactly as
the model did at the journal's last commit. Inside a group that is the model before the
operation that committed: an operation's commit holds what earlier ones left pending and, of its
own, only data moves (tracks copied, bits cleared), which read as before it.
"""

from __future__ import annotations

import contextlib
import copy
from unittest import mock

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from engine.errors import SiteClosed
from engine.flashcopy import CopyMode, EstablishRequest, FlashCopyCore
from engine.flashcopy.heldlog import HeldLog
from engine.geometry import custom_geometry
from engine.storage import Volume
from tests.engine.model import FlashCopyModel
from tests.engine.test_flashcopy_model import (
    EXAMPLES,
    SIZES,
    TRACK,
    VOLS,
    FlashCopyMachine,
    RowJournal,
    machine_settings,
)


def outside(machine: OneCommitMachine) -> bool:
    return machine.group is None


class OneCommitMachine(FlashCopyMachine):
    """FlashCopyMachine's operations, with groups begun and ended at random, the process dying
    inside a group, and at every step of a group a check of what such a death would leave. Host
    writes stay outside groups, as the engine's callers keep them (a host write waits for the
    core's lock that a group holds)."""

    def __init__(self) -> None:
        super().__init__()
        machine, copy_tracks = self, Volume.copy_tracks_to_sync

        def copied(vol: Volume, first: int, target: Volume, at: int, count: int) -> None:
            copy_tracks(vol, first, target, at, count)
            if machine.group is not None and not machine.core.halted:
                machine.a_crash_now_keeps_what_was_committed()

        self.copying = mock.patch.object(Volume, "copy_tracks_to_sync", copied)
        self.copying.start()
        for vol in VOLS:  # every track its own bytes, so that a track copied where it must not be shows
            self.write_run(vol, 0, SIZES[vol])
        self.group: contextlib.AbstractContextManager[None] | None = None
        self.before: FlashCopyModel = copy.deepcopy(self.model)  # the model before the step now running
        self.committed = self.before  # the model the journal's last commit holds, within a group
        self.journal.on_commit = self._commit_seen

    def teardown(self) -> None:
        self.copying.stop()
        if self.group is not None:
            self.end()
        super().teardown()

    def _commit_seen(self) -> None:
        self.committed = self.before

    @precondition(outside)
    @rule()
    def begin(self) -> None:
        self.group = self.core.one_commit()
        self.group.__enter__()
        self.committed = copy.deepcopy(self.model)  # a group starts with nothing pending

    @precondition(lambda self: self.group is not None)
    @rule()
    def end(self) -> None:
        assert self.group is not None
        self.group.__exit__(None, None, None)
        self.group = None

    @precondition(lambda self: self.group is not None)
    @rule()
    def crash_in_group(self) -> None:
        """The process dies inside the group: the model goes back to what was committed."""
        assert self.group is not None
        self.core.halt("the process died")  # it writes nothing more, not even the group's end
        self.group.__exit__(None, None, None)  # (its lock; the garbage collector must not end it)
        self.group = None
        self.model = copy.deepcopy(self.committed)
        super().reopen()

    @precondition(lambda self: self.model.rels)
    @rule(idx=st.integers(0, 20), tgt=st.sampled_from(VOLS))
    def cascade(self, idx: int, tgt: str) -> None:
        """A relationship's target flashed on (the joined operations a group must order)."""
        rel = self._rel(idx)
        assert rel is not None
        if rel.n == SIZES[rel.tgt] == SIZES[tgt]:
            self.establish(rel.tgt, tgt, True, 0, 0, rel.n, False, False, False)

    @precondition(lambda self: self.group is not None and self._feeding())
    @rule(pick=st.integers(0, 20))
    def withdraw_feeding(self, pick: int) -> None:
        """A relationship withdrawn whose target feeds another: its tracks still to copy are
        written onto that other's target (the writes that must follow a commit)."""
        ids = sorted(self.model.rels)
        feeding = self._feeding()
        self.withdraw(ids.index(feeding[pick % len(feeding)]))

    def _feeding(self) -> list[int]:
        rels = self.model.rels.values()
        return sorted(r.id for r in rels if any(o.src == r.tgt for o in rels))

    @rule(tgt=st.sampled_from(["VOLB", "VOLC", "VOLD"]), nocopy=st.booleans(), reuse=st.booleans())
    def version(self, tgt: str, nocopy: bool, reuse: bool) -> None:
        """What FRBACKUP does: a full-volume version of VOLA, the oldest target withdrawn first
        when it is reused (VersionsMachine's rule, one core operation at a time)."""
        if reuse:
            for rid in [r.id for r in self.model.rels.values() if r.tgt == tgt]:
                self.withdraw(sorted(self.model.rels).index(rid))
                self.relationships_agree()
                self.remember()
        self.establish("VOLA", tgt, True, 0, 0, 10, nocopy, False, False)

    @precondition(lambda self: self.group is None and self.model.rels)
    @rule(idx=st.integers(0, 20), tracks=st.integers(1, 8))
    def background_copy(self, idx: int, tracks: int) -> None:
        """Outside groups: a copy chunk waits for the core's lock that a group holds."""
        super().background_copy(idx, tracks)

    # Host writes outside groups only (a group holds the core's lock); fewer rules than the
    # machine it builds on, so that the joined operations above come often enough to be found.
    @precondition(outside)
    @rule(vol=st.sampled_from(VOLS), k=st.integers(0, 13), n=st.integers(1, 5))
    def write_run(self, vol: str, k: int, n: int) -> None:
        super().write_run(vol, k, n)

    def write(self, vol: str, k: int) -> None:  # not a rule here: write_run writes one track too
        super().write(vol, k)

    def update(self, vol: str, k: int, off: int) -> None:  # not a rule here
        super().update(vol, k, off)

    def nocopy_to_copy(self, idx: int) -> None:  # not a rule here
        super().nocopy_to_copy(idx)

    def reopen(self) -> None:  # not a rule here: crash_in_group reopens
        super().reopen()

    @invariant()
    def a_crash_now_keeps_what_was_committed(self) -> None:
        """Inside a group, at every step: the site a crash would leave now (the committed rows
        over the images as they are) reads as the model the last commit holds."""
        if self.group is None:
            return
        vols = {v: Volume.open(vol.path, v, vol.geometry) for v, vol in self.vols.items()}
        try:
            left = FlashCopyCore(vols, relationships=self.journal.relationships(), next_id=self.journal.next_id)
            for vol in VOLS:
                got = left.read_run(vol, 0, SIZES[vol])
                for k, want in enumerate(self.committed.tracks[vol]):
                    if want is not None:
                        assert got[k] == want, f"after a crash now, {vol} track {k}: {got[k]!r} != {want!r}"
        finally:
            for v in vols.values():
                v.close()

    @invariant()
    def remember(self) -> None:
        """Runs after every step (after the model's own checks): the model before the next one."""
        self.before = copy.deepcopy(self.model)


# half the model's examples: each step also checks a crash after every track copied (make soak: 10,000)
OneCommitMachine.TestCase.settings = machine_settings(max(50, EXAMPLES // 2), 40)
TestOneCommitAgainstModel = OneCommitMachine.TestCase


def _core(tmp_path, n: int) -> tuple[FlashCopyCore, RowJournal]:
    vols = {f"V{i}": Volume.create(tmp_path / f"V{i}.img", f"V{i}", custom_geometry(8, TRACK)) for i in range(n)}
    journal = RowJournal()
    return FlashCopyCore(vols, journal=journal), journal


def test_pairs_of_unjoined_volumes_commit_once(tmp_path) -> None:
    core, journal = _core(tmp_path, 8)
    with core.one_commit():
        for i in range(0, 8, 2):
            core.establish(EstablishRequest(f"V{i}", f"V{i + 1}"))
        assert journal.commits == 0  # nothing is committed before the group's end
    assert journal.commits == 1
    assert len(journal.relationships()) == 4


def test_a_cascade_made_by_bitmaps_alone_commits_once(tmp_path) -> None:
    """V0 -> V1, then V1 -> V2: the second makes V1's dependents read it physically, but moves
    no track, so nothing needs the first committed before the group's end."""
    core, journal = _core(tmp_path, 3)
    with core.one_commit():
        core.establish(EstablishRequest("V0", "V1"))
        core.establish(EstablishRequest("V1", "V2"))
        assert journal.commits == 0
    assert journal.commits == 1


def test_a_crash_between_two_joined_operations_keeps_the_committed_content(tmp_path) -> None:
    """V2 -> V0 before the group; in it V0 -> V1, then V2 -> V0 is withdrawn, which gives V1 its
    point in time physically (V1's own old track is overwritten with V2's). Had V0 -> V1 not been
    committed before that write, a crash would leave V1 holding V2's data though, as far as the
    journal knows, V1 was never anyone's target (its old track would be lost)."""
    core, journal = _core(tmp_path, 3)
    old, pit = b"1" * TRACK, b"2" * TRACK
    core.write("V1", 0, old)
    core.write("V2", 0, pit)
    first = core.establish(EstablishRequest("V2", "V0"))
    with core.one_commit():
        core.establish(EstablishRequest("V0", "V1"))
        core.withdraw(first.id)
        assert journal.commits == 2  # the establish before the group; V0 -> V1 before V1 is written
        core.halt("the process died")
    vols = {v: Volume.open(vol.path, v, vol.geometry) for v, vol in core.volumes.items()}
    again = FlashCopyCore(vols, journal=journal, relationships=journal.relationships(), next_id=journal.next_id)
    assert sorted((r.source, r.target) for r in again.relationships()) == [("V0", "V1"), ("V2", "V0")]
    assert again.read("V1", 0) == pit  # V1 -> V0 -> V2's track 0, as the committed state says


def test_a_host_write_inside_a_group_is_committed_around(tmp_path) -> None:
    """A host write that comes inside a group (the group's own thread) writes as it would after it."""
    core, journal = _core(tmp_path, 2)
    data = b"x" * TRACK
    with core.one_commit():
        core.establish(EstablishRequest("V0", "V1"))
        core.write("V0", 3, data)  # copy-on-write: V1 keeps the old track
        assert journal.commits >= 1
        assert core.read("V1", 3) == bytes(TRACK) and core.read("V0", 3) == data
    assert core.relationship(journal.relationships()[0].id).changed_src.count() == 1


def test_a_write_two_relationships_away_commits_what_it_overwrites(tmp_path) -> None:
    """V2 -> V3 withdrawn leaves V3's committed point in time on V2's own tracks; withdrawing
    V0 -> V1 then writes V0's point in time onto V2 (V1 -> V2 reads through V1): that write must
    follow the commit of the first withdrawal."""
    core, journal = _core(tmp_path, 4)
    for i, ch in enumerate(b"abcd"):
        core.write(f"V{i}", 0, bytes([ch]) * TRACK)
    cd = core.establish(EstablishRequest("V2", "V3", mode=CopyMode.NOCOPY))
    ab = core.establish(EstablishRequest("V0", "V1", mode=CopyMode.NOCOPY))
    core.establish(EstablishRequest("V1", "V2", mode=CopyMode.NOCOPY))
    with core.one_commit():
        core.withdraw(cd.id)
        before = journal.commits
        core.withdraw(ab.id)
        assert journal.commits == before + 1
        core.halt("the process died")
    vols = {v: Volume.open(vol.path, v, vol.geometry) for v, vol in core.volumes.items()}
    again = FlashCopyCore(vols, relationships=journal.relationships(), next_id=journal.next_id)
    assert cd.id not in {r.id for r in again.relationships()}
    assert again.read("V2", 0) == b"a" * TRACK  # V1 -> V2's point in time: V0's track, copied


def test_a_closed_core_refuses_a_group_and_leaves_the_held_write_log(tmp_path) -> None:
    vols = {f"V{i}": Volume.create(tmp_path / f"V{i}.img", f"V{i}", custom_geometry(8, TRACK)) for i in range(2)}
    log = tmp_path / "held.log"
    core = FlashCopyCore(vols, journal=RowJournal(), held_log=HeldLog(log))
    core.close()
    log.write_bytes(b"the held writes of the process that opened the site next")
    with pytest.raises(SiteClosed), core.one_commit():
        core.establish(EstablishRequest("V0", "V1"))
    assert log.read_bytes() == b"the held writes of the process that opened the site next"


def test_groups_do_not_nest(tmp_path) -> None:
    core, journal = _core(tmp_path, 2)
    with core.one_commit(), pytest.raises(RuntimeError, match="does not nest"), core.one_commit():
        pass
    assert journal.commits == 0


def test_a_halt_stops_a_group_before_its_next_operation_writes(tmp_path) -> None:
    """A host whose lease ends writes no more, whatever its group still has to do: halt is seen
    without the core's lock, which the group holds."""
    core, journal = _core(tmp_path, 4)
    for i in range(4):
        core.write(f"V{i}", 0, bytes([65 + i]) * TRACK)
    first = core.establish(EstablishRequest("V0", "V1", mode=CopyMode.NOCOPY))
    second = core.establish(EstablishRequest("V2", "V3", mode=CopyMode.NOCOPY))
    core.establish(EstablishRequest("V1", "V2", mode=CopyMode.NOCOPY))
    committed = journal.commits
    with pytest.raises(SiteClosed, match="lease"), core.one_commit():
        core.withdraw(second.id)
        core.halted = "its lease ran out"  # as halt() sets it from the plex's watch, lock-free
        core.withdraw(first.id)  # would copy V0's point in time onto V2
    assert journal.commits == committed
    assert Volume.open(core.volumes["V2"].path, "V2", core.volumes["V2"].geometry).read_tracks_sync(0, 1) == [
        b"C" * TRACK
    ]
