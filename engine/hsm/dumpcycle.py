"""Automatic dump as DFSMShsm schedules it, on the site's clock.

* `DEFINE DUMPCYCLE(YNNNNNN CYCLESTARTDATE(yyyy/mm/dd))`: the days of a cycle of up to 31 days
  on which automatic dump runs (Y). Without a cycle automatic dump never runs.
* `SETSYS AUTODUMPSTART(hhmm1 hhmm2 hhmm3)`: it starts at hhmm1 (0: never), not after hhmm2 (0:
  any time until midnight; smaller than hhmm1: the window crosses midnight), and starts no new
  copy pool after hhmm3 (0: until everything due is dumped). A window belongs to the day it
  opened on: that day must be a Y day of the cycle.
* A dump class is due for a copy pool when the class has no DAY or the window's cycle day is
  its DAY, and its FREQUENCY has passed since the pool was last dumped to it (a pool never
  dumped to it is due), and the pool's newest DASD version has no COMPLETE copy in it yet.
* Copy pools with AUTODUMP get their newest DASD version dumped to their due classes. HOLD
  DUMP, HOLD DUMP(AUTO) and HOLD ALL stop it (HOLD FRBACKUP does not).

Dump cleanup (expiry) runs on every day, Y or N, as IBM's does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, insert, select
from sqlmodel import Session, col

from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, DumpCopyRow, SiteSettingRow
from engine.hsm.setsys import SetsysValues
from engine.states import DasdState, DumpCopyState

CYCLE_KEY, START_KEY, RAN_KEY = "dumpcycle", "dumpcycle.start", "autodump.started"
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class DumpCycle:
    days: str  # Y and N, 1 to 31 of them
    start: dt.date  # CYCLESTARTDATE: the cycle's first day

    def day_of(self, when: dt.date) -> int:
        """The day of the cycle `when` is (1-based)."""
        return (when - self.start).days % len(self.days) + 1

    def dumps_on(self, when: dt.date) -> bool:
        return self.days[self.day_of(when) - 1] == "Y"


def problem(days: str, start: dt.date | None, today: dt.date) -> str | None:
    """Why a cycle cannot be defined (IBM's rules), or None."""
    if not 1 <= len(days) <= 31 or set(days) - {"Y", "N"}:
        return f"DUMPCYCLE({days}) is 1 to 31 days of Y and N"
    if start is not None and start > today:
        return f"CYCLESTARTDATE({start:%Y/%m/%d}) is in the future: the cycle must have started"
    return None


def day_problem(cycle: DumpCycle | None, day: int | None) -> str | None:
    """Why a dump class cannot dump on this DAY of the dump cycle (a Y day of it), or None."""
    if day is None or cycle is None:
        return None
    if day > len(cycle.days):
        return f"DAY({day}) is past the {len(cycle.days)}-day dump cycle"
    if cycle.days[day - 1] != "Y":
        return f"DAY({day}) is an N day of the dump cycle {cycle.days}"
    return None


def _get(c: Connection, key: str) -> str | None:
    value = c.execute(select(SiteSettingRow.value).where(col(SiteSettingRow.key) == key)).scalar()  # type: ignore[call-overload]
    return None if value is None else str(value)


def _put(c: Connection, key: str, value: str | None) -> None:
    c.execute(delete(SiteSettingRow).where(col(SiteSettingRow.key) == key))
    if value is not None:
        c.execute(insert(SiteSettingRow), [{"key": key, "value": value}])


def read(c: Connection) -> DumpCycle | None:
    days, start = _get(c, CYCLE_KEY), _get(c, START_KEY)
    if not days or not start:
        return None
    try:
        return DumpCycle(days, dt.date.fromisoformat(start))
    except ValueError:
        return None


def write(c: Connection, days: str, start: dt.date | None, today: dt.date) -> DumpCycle:
    """DEFINE DUMPCYCLE: without a start date, the one stored is kept if the cycle's length did
    not change, else today starts it."""
    old = read(c)
    if start is None:
        start = old.start if old is not None and len(old.days) == len(days) else today
    _put(c, CYCLE_KEY, days)
    _put(c, START_KEY, start.isoformat())
    return DumpCycle(days, start)


@dataclass(frozen=True, slots=True)
class Window:
    """Where `now` falls in the day's automatic dump window."""

    opened: dt.date  # the day the window opened on (the cycle day that counts)
    may_start: bool  # before the latest start time
    may_continue: bool  # before the quiesce time


def window(values: SetsysValues, now: dt.datetime) -> Window | None:
    """None when AUTODUMPSTART's first time is zero (automatic dump does not start)."""
    s, latest, quiesce = values.autodump_start
    if s == 0:
        return None

    def minutes(hhmm: int) -> int:
        return hhmm // 100 * 60 + hhmm % 100

    since = (now.hour * 60 + now.minute - minutes(s)) % 1440  # minutes since the window opened
    last_start = (minutes(latest) - minutes(s)) % 1440 if latest else 1440
    stop = (minutes(quiesce) - minutes(s)) % 1440 if quiesce else 1440
    opened = (now - dt.timedelta(minutes=since)).date()
    return Window(opened, since <= last_start, since < stop)


@dataclass(frozen=True, slots=True)
class Due:
    pool: str
    version_id: int
    classes: tuple[str, ...]


def due(s: Session, cycle_day: int, now: float) -> list[Due]:
    """Each AUTODUMP copy pool's newest DASD version and the classes due for it."""
    out = []
    last_dump: dict[tuple[str, str], float] = {
        (pool, cls): at
        for pool, cls, at in s.exec(
            select(BackupVersionRow.copy_pool, DumpCopyRow.dump_class, func.max(DumpCopyRow.created_at))  # type: ignore[call-overload]
            .join(BackupVersionRow, col(BackupVersionRow.id) == col(DumpCopyRow.version_id))
            .group_by(BackupVersionRow.copy_pool, DumpCopyRow.dump_class)
        ).all()
    }
    classes = {c.name: c for c in repo.dump_classes(s)}
    for pool in repo.copy_pools(s):
        if not pool.auto_dump:
            continue
        newest = next((v for v in repo.versions(s, pool.name) if DasdState(v.dasd_state).dumpable), None)
        if newest is None:
            continue
        done = {c.dump_class for c in repo.dump_copies(s, newest.key) if c.state == DumpCopyState.COMPLETE}
        wanted = []
        for link in repo.pool_dump_classes(s, pool.name):
            dc = classes.get(link.dump_class)
            if dc is None or link.dump_class in done:
                continue
            if dc.day and dc.day != cycle_day:
                continue
            last = last_dump.get((pool.name, dc.name))
            if last is not None and now - last < dc.frequency * DAY:
                continue
            wanted.append(dc.name)
        if wanted:
            out.append(Due(pool.name, newest.key, tuple(wanted)))
    return out


def started_on(c: Connection) -> dt.date | None:
    text = _get(c, RAN_KEY)
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def mark_started(c: Connection, day: dt.date) -> None:
    _put(c, RAN_KEY, day.isoformat())


__all__ = [
    "DAY",
    "Due",
    "DumpCycle",
    "Window",
    "due",
    "mark_started",
    "problem",
    "read",
    "started_on",
    "window",
    "write",
]
