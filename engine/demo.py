"""The demo site: a DB2 production pool (fast reverse restore), a payroll pool, an incremental
pool, their backup groups, small 3390 volumes with data, a few versions and a copy still running.

Volumes are 3390s of 10 cylinders (150 tracks, 8.5 MB each, sparse) so the demo stays small.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from engine.catalog import constructs as repo
from engine.definition import Definition, parse_definition
from engine.flashcopy.controller import CopierSettings
from engine.site import Site
from engine.states import Origin

CYL = 10
TRACKS = CYL * 15


def _group(name: str, kind: str, vols: list[str], backup: str | None = None) -> dict[str, Any]:
    g = {"name": name, "type": kind, "tracks": TRACKS, "volumes": vols}
    if backup:
        g["backup_group"] = backup
    return g


DEMO: dict[str, Any] = {
    "dump_class": [
        {"name": "ONSITE", "fast_replication_dump": "REQUIRED", "retention_days": 14},
        {"name": "OFFSITE", "fast_replication_dump": "OPTIONAL", "retention_days": 90, "stack": 4},
    ],
    "storage_group": [
        _group("DB0ADATA", "POOL", ["DB0A01", "DB0A02", "DB0A03"], "DB0ABK"),
        _group("DB0ALOG", "POOL", ["DB0L01"], "DB0ABK"),
        _group("DB0ABK", "COPYPOOLBACKUP", [f"BK0A{i:02d}" for i in range(1, 17)]),
        _group("PAYDATA", "POOL", ["PAY001", "PAY002"], "PAYBK"),
        _group("PAYBK", "COPYPOOLBACKUP", [f"PBK{i:03d}" for i in range(1, 7)]),
        _group("HRDATA", "POOL", ["HR0001", "HR0002"], "HRBK"),
        _group("HRBK", "COPYPOOLBACKUP", ["HRB001", "HRB002"]),
    ],
    "copy_pool": [
        {
            "name": "DSN$DB0A$DB",
            "storage_groups": ["DB0ADATA", "DB0ALOG"],
            "versions": 3,
            "fast_reverse_restore": True,
            "catalog_capture": "P",
            "description": "DB2 DB0A production: data and logs",
        },
        {
            "name": "PAYROLL",
            "storage_groups": ["PAYDATA"],
            "versions": 2,
            "dump_classes": [{"name": "ONSITE"}, {"name": "OFFSITE"}],
            "description": "Payroll batch",
        },
        {"name": "HRNIGHT", "storage_groups": ["HRDATA"], "versions": 1, "description": "HR, nightly incremental"},
    ],
}


def demo_definition() -> Definition:
    return parse_definition(DEMO)


async def seed_demo(site: Site) -> None:
    """Mark the site a demo, fill volumes with data and take a few backups; leave the newest DB2
    copy running."""

    def mark() -> None:
        with site.catalog.session() as s:
            repo.mark_demo(s)
            s.commit()

    await asyncio.to_thread(mark)
    site.demo = True  # this open of the site is a demo now, not only the next one (the console paces it)
    rng = random.Random(1)
    fc = site.flashcopy
    size = site.context.volume("DB0A01").geometry.track_size

    async def write_some(vol: str, n: int, tag: str) -> None:
        """Raw tracks outside any data set, as a database's own space would hold."""
        free = [k for e in await asyncio.to_thread(ds.free_extents, vol) for k in range(e.first, e.first + e.tracks)]
        for k in sorted(rng.sample(free, min(n, len(free)))):
            await fc.write(vol, k, f"{vol} track {k} {tag} ".encode().ljust(size, b"."))

    sources = ["DB0A01", "DB0A02", "DB0A03", "DB0L01", "PAY001", "PAY002", "HR0001", "HR0002"]
    ds = site.datasets
    for name, vols, tracks in [
        ("DB0A.DSNDBC.PAYROLL.TS01.I0001.A001", ["DB0A01"], 20),
        ("DB0A.DSNDBC.PAYROLL.TS02.I0001.A001", ["DB0A01", "DB0A02"], 60),
        ("DB0A.DSNDBC.HR.TS01.I0001.A001", ["DB0A03"], 15),
        ("DB0A.LOGCOPY1.DS01", ["DB0L01"], 40),
        ("PAY.MASTER.FILE", ["PAY001"], 10),
        ("PAY.HISTORY.G0001V00", ["PAY001", "PAY002"], 30),
        ("HR.STAFF.DATA", ["HR0001"], 8),
    ]:
        await ds.allocate(name, tracks, vols)
        await ds.write(name, (f"{name} record ".encode() * 4000)[: tracks * size // 2])
    for vol in sources:
        await write_some(vol, 40, "day 1")
    for cmd in (
        "FRBACKUP COPYPOOL(DSN$DB0A$DB) TOKEN(DAY1)",
        "FRBACKUP COPYPOOL(PAYROLL) DUMP TOKEN(MONTHEND)",
        "FRBACKUP COPYPOOL(HRNIGHT) FCINCREMENTAL TOKEN(NIGHTLY)",
    ):
        await site.hsm.execute(cmd, origin=Origin.DEMO)
    await fc.drain()
    for vol in sources:
        await write_some(vol, 30, "day 2")
    await site.hsm.execute("FRBACKUP COPYPOOL(DSN$DB0A$DB) TOKEN(DAY2)", origin=Origin.DEMO)
    await site.hsm.execute("FRBACKUP COPYPOOL(HRNIGHT) FCINCREMENTAL TOKEN(NIGHTLY)", origin=Origin.DEMO)
    await fc.drain()
    for vol in ("DB0A01", "DB0A02", "DB0A03", "DB0L01"):
        await write_some(vol, 20, "day 3")
    # the newest DB2 version is left copying: the console shows it live
    await site.hsm.execute("FRBACKUP COPYPOOL(DSN$DB0A$DB) TOKEN(DAY3)", origin=Origin.DEMO)


#: a demo site copies at a watchable pace: its 150-track volumes would otherwise finish before the
#: console's first screen, and walkthrough 1 (fast reverse restore while the copy runs) needs it
#: running. Two copiers at one track a second each: the demo's 600 tracks take about five minutes.
DEMO_COPIER = CopierSettings(concurrency=2, chunk_tracks=1, tracks_per_second=1.0)


def pace_demo(site: Site) -> None:
    """Whoever runs a demo site's background copies (the server, an embedded console) paces them."""
    if site.demo:
        site.flashcopy.settings = DEMO_COPIER
