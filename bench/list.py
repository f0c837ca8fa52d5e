"""LIST COPYPOOL of a pool with 85 versions x 256 volumes.

The versions are written straight into the catalog (85 x 256 real FlashCopy targets would need
21,760 volumes; LIST reads only the catalog). Goal: under 100 ms. The baseline printed with it
is a bare SQLite read of the same rows in the same run.
"""

from __future__ import annotations

import asyncio
import sqlite3

from bench._common import Timer, result, scratch
from engine.catalog.models import BackupVersionRow, VersionPairRow
from engine.definition import parse_definition
from engine.site import Site

SOURCES, VERSIONS = 256, 85


async def run(root) -> tuple[float, float, float]:
    defn = {
        "storage_group": [
            {
                "name": "BIGPOOL",
                "type": "POOL",
                "backup_group": "BIGBK",
                "tracks": 15,
                "track_size": 64,
                "volumes": [f"S{i:05d}" for i in range(SOURCES)],
            },
            {
                "name": "BIGBK",
                "type": "COPYPOOLBACKUP",
                "tracks": 15,
                "track_size": 64,
                "volumes": [f"T{i:05d}" for i in range(SOURCES)],
            },
        ],
        "copy_pool": [{"name": "HUGE", "storage_groups": ["BIGPOOL"], "versions": 1}],
    }
    site = Site.create(root / "site", parse_definition(defn))
    try:
        with site.catalog.session() as s:
            for n in range(1, VERSIONS + 1):
                v = BackupVersionRow(copy_pool="HUGE", version=n, created_at=1.7e9 + n * 3600, token=b"NIGHTLY")
                s.add(v)
                s.flush()
                s.add_all(
                    VersionPairRow(
                        version_id=v.id, source=f"S{i:05d}", target=f"X{n:02d}{i:03d}", storage_group="BIGPOOL"
                    )
                    for i in range(SOURCES)
                )
            s.commit()
        times = {}
        for cmd in ("LIST COPYPOOL(HUGE)", "LIST COPYPOOL(HUGE) ALLVOLS(ALLVERS)"):
            best = float("inf")
            for _ in range(5):
                with Timer() as t:
                    res = await site.hsm.execute(cmd)
                best = min(best, t.seconds)
            assert res.rc == 0
            times[cmd] = best
        con = sqlite3.connect(root / "site" / "catalog.db")
        base = float("inf")
        for _ in range(5):
            with Timer() as t:
                con.execute("select * from backup_version where copy_pool='HUGE'").fetchall()
                con.execute("select * from version_pair").fetchall()
            base = min(base, t.seconds)
        con.close()
        return times["LIST COPYPOOL(HUGE)"], times["LIST COPYPOOL(HUGE) ALLVOLS(ALLVERS)"], base
    finally:
        await site.close()


def main() -> None:
    with scratch("list") as root:
        default, allvers, base = asyncio.run(run(root))
    print(
        f"LIST COPYPOOL, {VERSIONS} versions x {SOURCES} volumes: {default * 1000:.1f} ms "
        f"(ALLVOLS(ALLVERS), every pair printed: {allvers * 1000:.1f} ms); "
        f"bare SQLite read of the same rows {base * 1000:.1f} ms"
    )
    result("list_85x256_ms", default * 1000, "<", 100, ".1f")
    result("list_85x256_allvers_ms", allvers * 1000, "<", 100, ".1f")


if __name__ == "__main__":
    main()
