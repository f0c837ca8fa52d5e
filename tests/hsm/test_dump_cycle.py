"""Automatic dump as DFSMShsm schedules it, driven through simulated days on the site's clock:
the dump cycle's Y days, the AUTODUMPSTART window (start, latest start, quiesce), each class's
FREQUENCY and DAY; HOLD DUMP(AUTO) stops automatic dumps and not backups."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.catalog import constructs as repo
from engine.definition import parse_definition
from engine.site import Site
from tests.hsm.conftest import DEFINITION, fill

MONDAY = dt.datetime(2027, 1, 4)  # local time, as the site's clock is read


class Clock:
    """The site's clock, set by the test; each reading a second later, so times stay ordered."""

    def __init__(self) -> None:
        self.now = MONDAY.timestamp()

    def at(self, day: int, hhmm: int) -> None:
        self.now = (MONDAY + dt.timedelta(days=day, hours=hhmm // 100, minutes=hhmm % 100)).timestamp()

    def __call__(self) -> float:
        self.now += 1
        return self.now


@pytest.fixture
async def site(tmp_path):
    clock = Clock()
    Site.create(tmp_path / "site", parse_definition(DEFINITION)).close_files()
    s = Site.open(tmp_path / "site", clock=clock)
    s.clock = clock  # type: ignore[attr-defined]
    for cmd in (
        "DEFINE DUMPCYCLE(YNNNNNY CYCLESTARTDATE(2027/01/04))",  # Mondays and Sundays
        "DEFINE DUMPCLASS(ONSITE FREQUENCY(1))",
        "DEFINE DUMPCLASS(OFFSITE FREQUENCY(0) DAY(7))",  # Sundays only
        "SETSYS AUTODUMPSTART(0200 0300 0400)",
    ):
        res = await s.hsm.execute(cmd)
        assert res.rc == 0, res.lines()
    yield s
    await s.close()


def _dumped(site: Site) -> list[tuple[int, str]]:
    """(day the dumped version was taken, class) for every dump copy of ARCHIVE's first volume."""
    out = []
    with site.catalog.session() as s:
        for v in repo.versions(s, "ARCHIVE"):
            for c in repo.dump_copies(s, v.key):
                if c.source == "ARC001":
                    out.append(((dt.datetime.fromtimestamp(v.created_at) - MONDAY).days, c.dump_class))
    return sorted(out)


async def _night(site: Site, day: int, ticks: tuple[int, ...] = (130, 210, 330)) -> None:
    clock = site.clock  # type: ignore[attr-defined]
    clock.at(day, 100)
    await fill(site, "ARC001", f"d{day}")
    res = await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) FORCE")
    assert res.rc == 0, res.lines()
    for hhmm in ticks:
        clock.at(day, hhmm)
        await site.hsm.auto_dump(scheduled=True)


async def test_a_week_of_automatic_dumps(site):
    taken: set[tuple[int, str]] = set()
    for day in range(8):  # Monday to the next Monday (ONSITE keeps its copies 7 days)
        await _night(site, day)
        taken |= set(_dumped(site))
    assert sorted(taken) == [(0, "ONSITE"), (6, "OFFSITE"), (6, "ONSITE"), (7, "ONSITE")]


async def test_the_window_latest_start_and_frequency(site):
    clock = site.clock  # type: ignore[attr-defined]
    await _night(site, 0, ticks=(130,))  # the window has not opened yet
    assert _dumped(site) == []
    clock.at(0, 330)  # first look after the latest start: no automatic dump this day
    await site.hsm.auto_dump(scheduled=True)
    assert _dumped(site) == []
    await _night(site, 6, ticks=(210,))  # Sunday: both classes due
    assert _dumped(site) == [(6, "OFFSITE"), (6, "ONSITE")]
    clock.at(6, 215)  # a second backup in the same window: ONSITE's frequency (1 day) has not passed
    await fill(site, "ARC001", "again")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) FORCE")).rc == 0
    clock.at(6, 230)
    await site.hsm.auto_dump(scheduled=True)
    assert [c for d, c in _dumped(site) if d == 6] == ["OFFSITE", "OFFSITE", "ONSITE"]  # OFFSITE: FREQUENCY(0)
    clock.at(6, 430)  # after the quiesce time nothing new starts
    await fill(site, "ARC001", "late")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) FORCE")).rc == 0
    clock.at(6, 435)
    await site.hsm.auto_dump(scheduled=True)
    assert len(_dumped(site)) == 3


async def test_hold_dump_auto_stops_automatic_dumps_and_not_backups(site):
    clock = site.clock  # type: ignore[attr-defined]
    assert (await site.hsm.execute("HOLD DUMP(AUTO)")).rc == 0
    await _night(site, 0, ticks=(210,))  # the backup runs; its automatic dump does not
    assert _dumped(site) == []
    held = await site.hsm.execute("QUERY SETSYS")
    assert held.rc == 0
    assert (await site.hsm.execute("RELEASE DUMP(AUTO)")).rc == 0
    clock.at(0, 220)  # released within the window: automatic dump starts
    await site.hsm.auto_dump(scheduled=True)
    assert _dumped(site) == [(0, "ONSITE")]
    assert (await site.hsm.execute("HOLD DUMP(FRBACKUP)")).rc == 0
    backup_only = await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) FORCE")
    dumping = await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) DUMP FORCE")
    assert backup_only.rc == 0 and dumping.rc == 50, dumping.lines()
    assert any("RELEASE DUMP(FRBACKUP)" in m.text for m in dumping.messages)


async def test_define_refuses_what_ibm_refuses(site):
    for text, why in (
        ("DEFINE DUMPCYCLE(YN CYCLESTARTDATE(2099/01/01))", "IS IN THE FUTURE"),
        ("DEFINE DUMPCLASS(ONSITE DAY(3))", "IS AN N DAY"),
        ("DEFINE DUMPCLASS(ONSITE DAY(9))", "PAST THE 7-DAY"),
    ):
        res = await site.hsm.execute(text)
        assert res.rc == 8 and why in res.messages[0].text, res.lines()
    res = await site.hsm.execute("DEFINE DUMPCLASS(NEWONE RETENTIONPERIOD(30) STACK(3))")
    assert res.rc == 0 and "NEWONE FREQUENCY(7) DAY(0) RETENTIONPERIOD(30) STACK(3)" in res.messages[0].text


async def test_a_held_nowait_request_is_queued_by_a_server_and_runs_at_release(site):
    assert (await site.hsm.execute("HOLD FRBACKUP")).rc == 0
    alone = await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) NOWAIT")
    assert alone.rc == 50 and "QUEUED ONLY BY THE SITE'S SERVER" in alone.messages[-1].text, alone.lines()
    site.hsm.queueing = True  # as `flashpool serve` does
    queued = await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) NOWAIT")
    waited = await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) WAIT")
    assert queued.rc == 0 and queued.messages[0].id == "FPL180I", queued.lines()
    assert waited.rc == 50  # a held WAIT request is not kept
    with site.catalog.session() as s:
        assert repo.versions(s, "ARCHIVE") == []
    assert (await site.hsm.execute("RELEASE FRBACKUP")).rc == 0
    await site.hsm.settle()
    with site.catalog.session() as s:
        assert [v.dasd_state for v in repo.versions(s, "ARCHIVE")] == ["RECOVERABLE"]
    runs = [a for a in site.views.activity(10) if a.command == "FRBACKUP COPYPOOL(ARCHIVE) NOWAIT"]
    assert [a.return_code for a in runs][:2] == [0, 0] and "FPL180I" in [m for m, _ in runs[1].messages]
