"""Fast replication against a model of versions: each version is a snapshot of the sources.

Random writes, FRBACKUP, FRRECOV (by generation, VERIFY Y or N), FRDELETE and background-copy
progress. After every step: the sources hold what the model says, LIST's valid versions are the
model's, and every valid version's targets still read exactly its snapshot.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from engine.catalog import constructs as repo
from engine.definition import parse_definition
from engine.hsm import pool as pools
from engine.site import Site

TRACKS, TS = 12, 32
SOURCES = ["SRC001", "SRC002"]
SOAK = bool(os.environ.get("FLASHPOOL_SOAK"))


def definition(frr: bool) -> dict:
    return {
        "storage_group": [
            {
                "name": "POOLSG",
                "type": "POOL",
                "backup_group": "BACKSG",
                "tracks": TRACKS,
                "track_size": TS,
                "volumes": SOURCES,
            },
            {
                "name": "BACKSG",
                "type": "COPYPOOLBACKUP",
                "tracks": TRACKS,
                "track_size": TS,
                "volumes": [f"TGT{i:03d}" for i in range(8)],
            },
        ],
        "copy_pool": [{"name": "CP", "storage_groups": ["POOLSG"], "versions": 3, "fast_reverse_restore": frr}],
    }


class VersionMachine(RuleBasedStateMachine):
    frr = True

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = Path(tempfile.mkdtemp(prefix="fpvers-"))
        self.site = self.run(self._make())
        self.current = {v: [bytes(TS)] * TRACKS for v in SOURCES}
        self.versions: dict[int, dict[str, list[bytes]]] = {}  # number -> snapshot (valid ones)
        self.order: list[int] = []  # valid DASD versions, oldest first
        self.counter = 0

    async def _make(self) -> Site:
        s = Site.create(self.dir / "site", parse_definition(definition(self.frr)))
        return s

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.site.close())
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(vol=st.sampled_from(SOURCES), k=st.integers(0, TRACKS - 1))
    def write(self, vol: str, k: int) -> None:
        self.counter += 1
        data = f"w{self.counter}".encode().ljust(TS, b"-")
        self.run(self.site.flashcopy.write(vol, k, data))
        self.current[vol][k] = data

    @rule()
    def backup(self) -> None:
        res = self.run(self.site.hsm.execute("FRBACKUP COPYPOOL(CP)"))
        if res.rc == 0:
            number = next(int(m.text.split()[1]) for m in res.messages if m.id == "FPL100I")
            if len(self.order) >= 3:
                self.versions.pop(self.order.pop(0))
            self.versions[number] = {v: list(d) for v, d in self.current.items()}
            self.order.append(number)
        else:
            assert res.rc == 4, res.lines()  # a target still feeds a recovery that is copying
        event(f"FRBACKUP rc={res.rc}")

    @rule(gen=st.sampled_from([0, 0, 1, 2, 3]), verify=st.booleans(), settle=st.booleans())
    def recover(self, gen: int, verify: bool, settle: bool) -> None:
        if settle:  # let the background copies finish first (the regular-recovery path)
            self.run(self.site.flashcopy.drain())
        res = self.run(
            self.site.hsm.execute(f"FRRECOV COPYPOOL(CP) GENERATION({gen})" + ("" if verify else " VERIFY(N)"))
        )
        with self.site.catalog.session() as s:
            vers = pools.backups(s, "CP")
        target = vers[gen] if gen < len(vers) else None
        event(
            f"FRRECOV rc={res.rc}" + (" (fast reverse restore)" if any(m.id == "FPL111I" for m in res.messages) else "")
        )
        done = [v for m in res.messages if m.id == "ARC1805I" for v in m.text.split(": ")[1].split()]
        if res.rc in (0, 8) and done:  # 8: some volumes recovered (ARC1805I), others failed (ARC1803E)
            assert target is not None and target.version in self.versions, res.lines()
            for v in done:
                self.current[v] = list(self.versions[target.version][v])
            if any(m.id == "FPL111I" for m in res.messages):  # fast reverse restore: version invalid
                self.versions.pop(target.version)
                self.order.remove(target.version)
        else:
            assert res.rc in (2, 4, 8, 54), res.lines()
            if target is None or target.version not in self.versions:
                assert res.rc == 2, res.lines()

    @rule(idx=st.integers(0, 5))
    def delete(self, idx: int) -> None:
        if not self.order:
            return
        number = self.order[idx % len(self.order)]
        res = self.run(self.site.hsm.execute(f"FRDELETE COPYPOOL(CP) VERSIONS({number})"))
        if res.rc == 0:
            self.versions.pop(number)
            self.order.remove(number)
        else:
            assert res.rc == 4, res.lines()  # it is restoring a source right now

    @rule(steps=st.integers(1, 6))
    def copy_progress(self, steps: int) -> None:
        fc = self.site.flashcopy
        for rel in fc.core.copy_candidates()[:steps]:
            self.run(fc.copy_step(rel.id, 5))

    @rule()
    def copies_complete(self) -> None:
        self.run(self.site.flashcopy.drain())

    @invariant()
    def sources_hold_the_model(self) -> None:
        for v in SOURCES:
            assert self.run(self.site.flashcopy.read_run(v, 0, TRACKS)) == self.current[v], v

    @invariant()
    def valid_versions_and_their_targets(self) -> None:
        with self.site.catalog.session() as s:
            vers = [v for v in pools.backups(s, "CP") if v.dasd_state == "RECOVERABLE"]
            pairs = {v.version: repo.pairs(s, v.id) for v in vers}
        assert sorted(v.version for v in vers) == sorted(self.versions)
        for number, ps in pairs.items():
            for p in ps:
                got = self.run(self.site.flashcopy.read_run(p.target, 0, TRACKS))
                assert got == self.versions[number][p.source], f"version {number} target {p.target}"


VersionMachine.TestCase.settings = settings(
    max_examples=400 if SOAK else 35,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestVersionsFRR = VersionMachine.TestCase


class RegularVersionMachine(VersionMachine):
    frr = False


RegularVersionMachine.TestCase.settings = VersionMachine.TestCase.settings
TestVersionsRegular = RegularVersionMachine.TestCase
