"""Every console screen on a big site: 2,000 volumes, 50 copy pools, 85 versions each.

50 pools of 20 source volumes, each with a backup group of 20 targets (2,000 volumes in all);
one real FRBACKUP per pool (1,000 FlashCopy relationships), 84 older versions per pool written
straight into the catalog (85 x 20 real targets per pool would need 85,000 volumes), and an
activity log of 4,250 commands. We time each screen from the key that opens it to the first
frame that shows all its rows.

Baseline, same run: the same screens on the demo site. Goal: every screen under 1 s.
"""

from __future__ import annotations

import asyncio
import json
import time

from bench._common import result, scratch
from bench._console import FrameClock, key_to_frame, rows_shown
from console.app import FlashpoolApp
from engine.api import LocalSite
from engine.catalog.models import ActivityRow, BackupVersionRow, CopyPoolRow, VersionPairRow
from engine.definition import parse_definition
from engine.site import Site
from tests.console.scenes import build_demo_site

POOLS, PER_POOL, VERSIONS = 50, 20, 85


def definition() -> dict:
    groups, pools = [], []
    for p in range(POOLS):
        groups.append(
            {
                "name": f"SG{p:02d}",
                "type": "POOL",
                "backup_group": f"BK{p:02d}",
                "tracks": 15,
                "track_size": 64,
                "volumes": [f"S{p:02d}{i:03d}" for i in range(PER_POOL)],
            }
        )
        groups.append(
            {
                "name": f"BK{p:02d}",
                "type": "COPYPOOLBACKUP",
                "tracks": 15,
                "track_size": 64,
                "volumes": [f"T{p:02d}{i:03d}" for i in range(PER_POOL)],
            }
        )
        # VERSIONS=1 passes the "backup group big enough" check; the catalog says 85 afterwards
        pools.append({"name": f"POOL{p:02d}", "storage_groups": [f"SG{p:02d}"], "versions": 1})
    return {"storage_group": groups, "copy_pool": pools}


async def build_big(path) -> None:
    site = Site.create(path, parse_definition(definition()))
    for p in range(POOLS):
        res = await site.hsm.execute(f"FRBACKUP COPYPOOL(POOL{p:02d}) TOKEN(NOW)")
        assert res.rc == 0, res.lines()
    msgs = json.dumps([{"id": "ARC1802I", "severity": "I", "text": "FAST REPLICATION BACKUP HAS COMPLETED"}])
    with site.catalog.session() as s:
        for p in range(POOLS):
            cp = f"POOL{p:02d}"
            s.get(CopyPoolRow, cp).versions = VERSIONS
            for n in range(1, VERSIONS):  # older than the real version (numbered 1: renumbered below)
                v = BackupVersionRow(
                    copy_pool=cp, version=n + 1, created_at=1.7e9 + n * 3600, token=b"OLD", backup_group=f"BK{p:02d}"
                )
                s.add(v)
                s.flush()
                s.add_all(
                    VersionPairRow(
                        version_id=v.id,
                        source=f"S{p:02d}{i:03d}",
                        target=f"T{p:02d}{i:03d}",
                        storage_group=f"SG{p:02d}",
                    )
                    for i in range(PER_POOL)
                )
                s.add(ActivityRow(at=1.7e9 + n * 3600, command=f"FRBACKUP COPYPOOL({cp})", copy_pool=cp, messages=msgs))
        s.commit()
    await site.close()


async def open_screens(path, expect_pools: int) -> dict[str, float]:
    """Seconds per screen, from its key to the frame showing its rows."""
    site = Site.open(path)
    app = FlashpoolApp(LocalSite(site), live=False, start_engine=False)
    times: dict[str, float] = {}
    started = time.perf_counter()
    async with app.run_test(size=(130, 40)) as pilot:
        clock = FrameClock(app)

        while not (type(app.screen).__name__ == "PoolsScreen" and app.screen.table.row_count >= expect_pools):
            await asyncio.sleep(0.001)
        times["start + copy pools"] = time.perf_counter() - started
        await pilot.pause()
        steps = [
            ("pool detail", "enter", "PoolDetailScreen"),
            ("back to copy pools", "escape", "PoolsScreen"),
            ("groups and volumes", "2", "GroupsScreen"),
            ("volume", "enter", "VolumeScreen"),
            ("relationships", "3", "RelationshipsScreen"),
            ("activity", "4", "ActivityScreen"),
            ("copy pools again", "1", "PoolsScreen"),
        ]
        for name, key, screen in steps:
            times[name] = await key_to_frame(app, clock, key, rows_shown(app, screen), timeout=30)
            await asyncio.sleep(0.05)
    await site.close()
    return times


def main() -> None:
    with scratch("console-scale") as root:
        asyncio.run(build_big(root / "big"))
        asyncio.run(build_demo_site(root / "demo"))
        small = asyncio.run(open_screens(root / "demo", 3))
        big = asyncio.run(open_screens(root / "big", POOLS))
    print(
        f"{POOLS * PER_POOL * 2:,} volumes, {POOLS} copy pools x {VERSIONS} versions, "
        f"{POOLS * PER_POOL:,} relationships, {POOLS * (VERSIONS - 1) + POOLS:,} activity entries"
    )
    for name in big:
        print(f"  {name:<20} {big[name] * 1000:7.1f} ms   (demo site {small[name] * 1000:6.1f} ms)")
    worst = max(big.values())
    result("console_scale_slowest_screen_ms", worst * 1000, "<", 1000, ".1f")
    result("console_scale_ratio_big_vs_demo", sum(big.values()) / sum(small.values()), "<", 20, ".2f")


if __name__ == "__main__":
    main()
