"""Power loss keeps every promise: every write and flush the site makes is recorded below it (a
FUSE file system, tests/power/recordfs.py), and the disks a power cut could leave are built from
the record (tests/power/states.py): at every flush, at the answer and at the end, with none, all
or random subsets of the writes not yet flushed, whole or torn at 4 KB sectors. On each, the site opens, settles its intents,
and the independent model of tests/hsm/crash_points.py checks every promise; a command that was
answered is not lost. `make soak` tries every state of every scenario; FLASHPOOL_POWER_SEED
reproduces a run's random subsets (printed on failure)."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
from pathlib import Path

import pytest

from engine.api import LocalSite
from engine.messages import CommandResult
from engine.security.access import Access, Kind
from engine.security.changes import Change, SecurityChange
from engine.site import Site
from tests.hsm.crash_points import HOST_WRITES, Scenario
from tests.hsm.lies_site import SOURCES, track
from tests.hsm.test_crash_points import SCENARIOS, fresh, two
from tests.power.states import choices, problems_at, record

SOAK = bool(os.environ.get("FLASHPOOL_SOAK"))
SEED = int(os.environ.get("FLASHPOOL_POWER_SEED", "39"))
STATES = 10**6 if SOAK else 6


async def grant_and_permit(site: Site) -> CommandResult:
    """Two security changes by the site's owner; the second one's answer is the one recorded."""
    api = LocalSite(site)
    first = await api.change_security(SecurityChange(Change.GRANT, kind=Kind.USER, name="alice", role="monitor"))
    assert first.rc == 0, first.lines()
    await api.change_security(SecurityChange(Change.DEFINE, profile="STGADMIN.ARC.FRRECOV.TWO", uacc=Access.NONE))
    return await api.change_security(
        SecurityChange(Change.PERMIT, profile="STGADMIN.ARC.FRRECOV.TWO", kind=Kind.USER, name="alice")
    )


async def host_writes(site: Site) -> CommandResult:
    """A host writes tracks that two versions still read through (each a copy-on-write, held
    for the group commit), then flushes: its flush is the answer."""
    core, n = site.flashcopy.core, HOST_WRITE_TRACKS

    def write() -> None:
        for i in range(n):
            for v in SOURCES:
                core.write(v, i, track(v, HOST_WRITES, i))
        core.flush(SOURCES)

    await asyncio.to_thread(write)
    return CommandResult(f"host writes to {n} tracks of {', '.join(SOURCES)}, then a flush")


HOST_WRITE_TRACKS = 6

#: Beyond the fast replication commands of the crash points: configuration, holds and the
#: security setup, each with its audit entry (issue #39's coverage).
CONFIGURATION = [
    Scenario("setsys", "SETSYS FASTREPLICATION(DATASETRECOVERY(PREFERRED)) AUTODUMPSTART(0100 0300 0500)", fresh),
    Scenario("define-dumpcycle", "DEFINE DUMPCYCLE(NNNNNNY CYCLESTARTDATE(2026/11/29))", two),
    Scenario("hold", "HOLD FRBACKUP", two),
    Scenario("security", "(security changes)", fresh, action=grant_and_permit),
    Scenario("host-writes", "(host writes)", two, action=host_writes, host_writes=HOST_WRITE_TRACKS),
]
ALL = [*SCENARIOS, *CONFIGURATION]


@pytest.fixture(scope="module", autouse=True)
def fuse_available() -> None:
    """Not a skip: without FUSE this proof cannot run, and `make test` installs it (fuse3)."""
    assert os.path.exists("/dev/fuse"), "/dev/fuse is missing: the power-loss harness needs FUSE"
    assert shutil.which("fusermount3"), "fusermount3 is missing: `make test` installs Debian's fuse3"


def explore(tmp_path: Path, name: str, copiers: bool = False, durable: bool = True) -> tuple[int, list[str]]:
    scenario = next(s for s in ALL if s.name == name)
    run = record(tmp_path / "run", scenario, copiers=copiers, durable=durable)
    states = [(cut, label, keep) for cut in run.cuts() for label, keep in choices(SEED + cut, len(run.ops))]
    # answered, nothing more flushed; and the same instant with the unflushed writes torn
    must = [s for s in states if s[0] == run.ack + 1 and s[1] in ("none", "torn")]
    rest = [s for s in states if s not in must]
    random.Random(SEED).shuffle(rest)
    tried, problems = 0, []
    for cut, label, keep in (must + rest)[:STATES]:
        out = tmp_path / f"state-{cut}-{label}"
        out.mkdir()
        found = problems_at(run, cut, keep, out)
        problems += [f"cut {cut}/{len(run.ops)} ({label}, seed {SEED}): {p}" for p in found]
        shutil.rmtree(out)
        tried += 1
    print(f"{name}: {len(run.ops)} writes and flushes recorded, {tried} of {len(states)} power-cut states checked")
    return tried, problems


@pytest.mark.parametrize("name", [s.name for s in ALL])
def test_every_power_cut_state_keeps_the_promise(tmp_path, name: str) -> None:
    tried, problems = explore(tmp_path, name, copiers=SOAK)
    assert tried >= min(STATES, 4)
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("name", ["backup", "rolloff-force", "setsys", "define-dumpcycle", "hold", "security"])
def test_the_harness_finds_the_lies_of_a_site_without_durability(tmp_path, name: str) -> None:
    """The proof can fail: opened without durability (SQLite synchronous=NORMAL, FlashCopy not
    flushing targets before the bits), a power cut right after the answer loses what RC 0 said."""
    _, problems = explore(tmp_path, name, durable=False)
    assert any("the answered command is lost" in p for p in problems), problems


async def test_a_site_without_durability_says_so_in_list_and_status(tmp_path) -> None:
    """Only an administrator's --no-durable trades the promise, and the site then says it runs
    without it: LIST (FPL760W) and the status every client reads."""
    from engine.api import LocalSite
    from engine.site import Site
    from tests.hsm.lies_site import definition

    Site.create(tmp_path / "site", definition()).close_files()
    for durable in (True, False):
        site = Site.open(tmp_path / "site", durable=durable)
        try:
            listing = await site.hsm.execute("LIST COPYPOOL(TWO)")
            said = [m.id for m in listing.messages]
            assert ("FPL760W" in said) is not durable, said
            assert LocalSite(site).status().durable is durable
            assert site.flashcopy.core.options.durable is durable and site.catalog.durable is durable
        finally:
            await site.close()


def test_the_harness_finds_a_version_lying_after_host_writes_without_durability(tmp_path) -> None:
    """Without durability a copy-on-write does not wait for the old track to be durable before
    the host's new one is written: a power cut leaves a RECOVERABLE version that lies."""
    _, problems = explore(tmp_path, "host-writes", durable=False)
    assert any("is RECOVERABLE but" in p for p in problems), problems
