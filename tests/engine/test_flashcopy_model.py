"""The engine against the naive model: random sequences of every FlashCopy operation.

Every read of every track must agree with the model after every step; every refusal must be
the one the model predicts; every relationship the engine keeps must be one the model expects.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from engine.catalog.models import RelationshipRow
from engine.catalog.store import _from_row, _to_row
from engine.errors import FlashCopyError
from engine.flashcopy import CopyMode, EstablishRequest, FlashCopyCore, FlashCopyOptions
from engine.flashcopy.core import Ended
from engine.flashcopy.heldlog import HeldLog
from engine.flashcopy.relationship import Relationship
from engine.geometry import custom_geometry
from engine.storage import Volume
from tests.engine.model import FlashCopyModel, ModelRel

TRACK = 32
SIZES = {"VOLA": 10, "VOLB": 10, "VOLC": 10, "VOLD": 10, "BIG": 14}
VOLS = sorted(SIZES)
MAX_PER_TRACK = 4
SOAK = bool(os.environ.get("FLASHPOOL_SOAK"))
EXAMPLES = int(os.environ.get("FLASHPOOL_MODEL_EXAMPLES", "20000" if SOAK else "700"))


class RowJournal:
    """Keeps what the core commits as catalog rows, so that `reopen` starts a core from exactly
    what a crash right after the last commit would leave (relationship state the core changed
    but never committed is lost there, as it would be)."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, object]] = {}
        self.next_id = 1
        self.commits = 0
        self.on_commit: Callable[[], None] = lambda: None  # a test that follows what each commit holds

    def commit(self, changed: list[Relationship], removed: list[Ended], next_id: int) -> None:
        for e in removed:
            self.rows.pop(e.relationship.id, None)
        for r in changed:
            self.rows[r.id] = _to_row(r)
        self.next_id = next_id
        self.commits += 1
        self.on_commit()

    def reserve_ids(self, n: int) -> None:
        return None  # the core's own counter, recorded at each commit (as on SQLite)

    def relationships(self) -> list[Relationship]:
        return [_from_row(RelationshipRow(**row)) for row in self.rows.values()]


class FlashCopyMachine(RuleBasedStateMachine):
    cascading = True

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="fpmodel-"))
        self.vols = {v: Volume.create(self.dir / f"{v}.img", v, custom_geometry(n, TRACK)) for v, n in SIZES.items()}
        self.journal = RowJournal()
        self.core = self._core()
        self.model = FlashCopyModel(SIZES, TRACK, MAX_PER_TRACK, cascading=self.cascading)
        self.counter = 0
        self.established = 0

    def teardown(self) -> None:
        assert self.core.held_log is not None
        self.core.held_log.close()
        for v in self.vols.values():
            v.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- helpers ------------------------------------------------------------------------------
    def _core(self) -> FlashCopyCore:
        core = FlashCopyCore(
            self.vols,
            FlashCopyOptions(max_relationships_per_track=MAX_PER_TRACK, cascading=self.cascading),
            journal=self.journal,
            relationships=self.journal.relationships(),
            next_id=self.journal.next_id,
            held_log=HeldLog(self.dir / "held.log"),
        )
        core.replay_held()  # the host writes a crashed process held (reopen)
        return core

    def _data(self) -> bytes:
        self.counter += 1
        return f"T{self.counter:06d}".encode().ljust(TRACK, b".")

    def _expect(self, expected: type[Exception] | None, fn, *args, **kw):
        if expected is None:
            return fn(*args, **kw)
        with pytest.raises(expected):
            fn(*args, **kw)
        return None

    def _rel(self, idx: int) -> ModelRel | None:
        ids = sorted(self.model.rels)
        return self.model.rels[ids[idx % len(ids)]] if ids else None

    # -- host I/O -----------------------------------------------------------------------------
    @rule(vol=st.sampled_from(VOLS), k=st.integers(0, 13))
    def write(self, vol: str, k: int) -> None:
        k %= SIZES[vol]
        data = self._data()
        inhibited = any(r.inhibit and r.tgt_overlap(vol, k, 1) for r in self.model.rels.values())
        if inhibited:
            with pytest.raises(FlashCopyError):
                self.core.write(vol, k, data)
            return
        self.core.write(vol, k, data)
        self.model.write(vol, k, data)

    @rule(vol=st.sampled_from(VOLS), k=st.integers(0, 13), off=st.integers(0, TRACK - 4))
    def update(self, vol: str, k: int, off: int) -> None:
        k %= SIZES[vol]
        if any(r.inhibit and r.tgt_overlap(vol, k, 1) for r in self.model.rels.values()):
            return
        before = self.model.tracks[vol][k]
        if before is None:  # a partial update of an undefined track stays undefined
            self.core.update(vol, k, off, b"upd!")
            self.model.write(vol, k, b"")  # mark the relationship target as written
            self.model.tracks[vol][k] = None
            return
        self.core.update(vol, k, off, b"upd!")
        self.model.write(vol, k, before[:off] + b"upd!" + before[off + 4 :])

    @rule(vol=st.sampled_from(VOLS), k=st.integers(0, 13), n=st.integers(1, 5))
    def write_run(self, vol: str, k: int, n: int) -> None:
        k %= SIZES[vol]
        n = min(n, SIZES[vol] - k)
        if any(r.inhibit and r.tgt_overlap(vol, k, n) for r in self.model.rels.values()):
            return
        datas = [self._data() for _ in range(n)]
        self.core.write_run(vol, k, datas)
        for i, d in enumerate(datas):
            self.model.write(vol, k + i, d)

    # -- relationships ------------------------------------------------------------------------
    @rule(
        src=st.sampled_from(VOLS),
        tgt=st.sampled_from(VOLS),
        full=st.booleans(),
        s=st.integers(0, 13),
        t=st.integers(0, 13),
        n=st.integers(1, 10),
        nocopy=st.booleans(),
        incremental=st.booleans(),
        inhibit=st.sampled_from([False, False, False, True]),
    )
    def establish(self, src, tgt, full, s, t, n, nocopy, incremental, inhibit) -> None:
        if full:
            if SIZES[src] != SIZES[tgt]:
                return
            s, t, n = 0, 0, SIZES[src]
        else:
            n = min(n, SIZES[src], SIZES[tgt])
            s %= SIZES[src] - n + 1
            t %= SIZES[tgt] - n + 1
        expected = self.model.establish_refusal(src, s, tgt, t, n, incremental)
        req = EstablishRequest(
            src,
            tgt,
            s,
            t,
            None if full else n,
            mode=CopyMode.NOCOPY if nocopy else CopyMode.COPY,
            persistent=incremental,
            incremental=incremental,
            target_write_inhibit=inhibit,
        )
        rel = self._expect(expected, self.core.establish, req)
        if rel is not None:
            self.model.flash(src, s, tgt, t, n)
            self.model.rels[rel.id] = ModelRel(rel.id, src, s, tgt, t, n, incremental, incremental, inhibit)
            self.established += 1

    @precondition(lambda self: self.model.rels)
    @rule(idx=st.integers(0, 20), tracks=st.integers(1, 8))
    def background_copy(self, idx: int, tracks: int) -> None:
        rel = self._rel(idx)
        before = self.core.relationship(rel.id).out_of_sync
        moved = self.core.copy_step(rel.id, tracks)
        assert moved == min(before, tracks)

    @precondition(lambda self: self.model.rels)
    @rule(idx=st.integers(0, 20))
    def refresh(self, idx: int) -> None:
        rel = self._rel(idx)
        from engine.errors import NotIncremental

        if not rel.incremental:
            with pytest.raises(NotIncremental):
                self.core.refresh(rel.id)
            return
        self.core.refresh(rel.id)
        self.model.flash(rel.src, rel.s, rel.tgt, rel.t, rel.n)
        rel.tgt_written = False

    @precondition(lambda self: self.model.rels)
    @rule(idx=st.integers(0, 20), fast=st.booleans())
    def reverse(self, idx: int, fast: bool) -> None:
        rel = self._rel(idx)
        oos = self.core.relationship(rel.id).out_of_sync
        expected = self.model.reverse_refusal(rel, fast, oos)
        if self._expect(expected, self.core.reverse, rel.id, fast=fast) is None:
            return
        self.model.flash(rel.tgt, rel.t, rel.src, rel.s, rel.n)
        if fast:
            self.model.invalidate(rel.tgt, list(range(rel.t, rel.t + rel.n)))
            rel.persistent = rel.incremental = rel.inhibit = False
        rel.src, rel.tgt, rel.s, rel.t = rel.tgt, rel.src, rel.t, rel.s
        rel.tgt_written = False

    @precondition(lambda self: self.model.rels)
    @rule(idx=st.integers(0, 20))
    def withdraw(self, idx: int) -> None:
        rel = self._rel(idx)
        result = self.core.withdraw(rel.id)
        assert result.target == rel.tgt
        self.model.invalidate(rel.tgt, [rel.t + i for i in result.invalid.tracks()])
        del self.model.rels[rel.id]

    @precondition(lambda self: self.model.rels)
    @rule(idx=st.integers(0, 20))
    def nocopy_to_copy(self, idx: int) -> None:
        self.core.set_mode(self._rel(idx).id, CopyMode.COPY)

    @rule()
    def reopen(self) -> None:
        """The site opened again after its process died: the core starts from its committed
        rows, the images as the kernel has them and its log of held host writes; what the dead
        process held in memory is gone (new Volume objects)."""
        assert self.core.held_log is not None
        self.core.held_log.close()  # the dead process's descriptor went with it (20,000 runs leaked 20,000)
        self.vols = {v: Volume.open(vol.path, v, vol.geometry) for v, vol in self.vols.items()}
        self.core = self._core()

    # -- invariants ---------------------------------------------------------------------------
    @invariant()
    def relationships_agree(self) -> None:
        engine = {r.id: r for r in self.core.relationships()}
        for rid in list(self.model.rels):
            m = self.model.rels[rid]
            if rid not in engine:  # only a non-persistent relationship ends by itself
                assert not m.persistent, f"persistent relationship {rid} vanished"
                del self.model.rels[rid]
                continue
            e = engine[rid]
            assert (e.source, e.source_start, e.target, e.target_start, e.length) == (m.src, m.s, m.tgt, m.t, m.n)
            assert e.persistent == m.persistent
            assert e.persistent or e.uncopied.any(), "a finished non-persistent rel must end"
        assert set(engine) == set(self.model.rels)

    @invariant()
    def every_track_reads_as_modelled(self) -> None:
        for vol in VOLS:
            got = self.core.read_run(vol, 0, SIZES[vol])
            for k, want in enumerate(self.model.tracks[vol]):
                if want is not None:
                    assert got[k] == want, f"{vol} track {k}: {got[k]!r} != {want!r}"


def machine_settings(examples: int, steps: int) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


FlashCopyMachine.TestCase.settings = machine_settings(EXAMPLES, 40)
TestFlashCopyAgainstModel = FlashCopyMachine.TestCase


class NoCascadeMachine(FlashCopyMachine):
    """The same, with cascading FlashCopy switched off (pre-z/OS 2.3 refusals)."""

    cascading = False


NoCascadeMachine.TestCase.settings = machine_settings(max(50, EXAMPLES // 4), 30)
TestNoCascadeAgainstModel = NoCascadeMachine.TestCase


class VersionsMachine(FlashCopyMachine):
    """The same, with a bias to what DFSMShsm does: full-volume versions of one source onto a
    few targets (a multi-target cascade: older versions read through newer ones), the oldest
    target withdrawn and reused, and writes to the source in between."""

    @rule(tgt=st.sampled_from(["VOLB", "VOLC", "VOLD"]), nocopy=st.booleans(), reuse=st.booleans())
    def version(self, tgt: str, nocopy: bool, reuse: bool) -> None:
        if reuse:
            for rid in [r.id for r in self.model.rels.values() if r.tgt == tgt]:
                self.withdraw(sorted(self.model.rels).index(rid))
            self.relationships_agree()  # a withdraw may complete a copy that read through it
        self.establish("VOLA", tgt, True, 0, 0, 10, nocopy, False, False)

    @rule(k=st.integers(0, 9), n=st.integers(1, 4))
    def write_source(self, k: int, n: int) -> None:
        self.write_run("VOLA", k, n)


VersionsMachine.TestCase.settings = machine_settings(max(50, EXAMPLES // 2), 40)
TestVersionsAgainstModel = VersionsMachine.TestCase
