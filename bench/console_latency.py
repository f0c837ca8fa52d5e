"""Keypress-to-render latency of the console while 64 FlashCopy relationships copy.

A copy pool of 64 source volumes (400 written tracks each) is backed up, so 64 relationships copy
in the background (throttled so the copy outlasts the measurement) while the console runs live
on the relationships screen (one reload per second, progress events from the engine). We send
j/k keys as a terminal would and time each until the frame that shows the cursor moved.

Baseline, same run: the same keys on the same screen and relationships with the copy not running.
Goal: p95 under 50 ms under load with the copy in the console's own process (embedded), and under
30 ms the way the console runs now: attached to the site's server, which copies in its process.
"""

from __future__ import annotations

import asyncio
import random

from bench._common import result, scratch
from bench._console import FrameClock, cursor_moved, key_to_frame, p95, reloads_idle, up_and_down
from bench._server import serving
from console.app import FlashpoolApp
from engine.api import LocalSite
from engine.definition import parse_definition
from engine.flashcopy.controller import CopierSettings
from engine.site import Site
from server.client import RemoteSite

VOLUMES, WRITTEN, PRESSES = 64, 400, 150
TRACKS = 600


def definition() -> dict:
    return {
        "storage_group": [
            {
                "name": "LOADSG",
                "type": "POOL",
                "backup_group": "LOADBK",
                "tracks": TRACKS,
                "volumes": [f"LD{i:04d}" for i in range(VOLUMES)],
            },
            {
                "name": "LOADBK",
                "type": "COPYPOOLBACKUP",
                "tracks": TRACKS,
                "volumes": [f"LB{i:04d}" for i in range(VOLUMES)],
            },
        ],
        "copy_pool": [{"name": "LOAD", "storage_groups": ["LOADSG"], "versions": 1}],
    }


async def build(root) -> None:
    site = Site.create(root / "site", parse_definition(definition()))
    size = site.context.volume("LD0000").geometry.track_size
    for i in range(VOLUMES):
        vol = f"LD{i:04d}"
        await site.flashcopy.write_run(vol, 0, [f"{vol} {k}".encode().ljust(size, b"x") for k in range(WRITTEN)])
    res = await site.hsm.execute("FRBACKUP COPYPOOL(LOAD) EXECUTE")  # 64 relationships, none copied yet
    assert res.rc == 0, res.lines()
    await site.close()


async def presses(app: FlashpoolApp) -> tuple[list[float], int, int]:
    """j/k on the relationships screen at an operator's rhythm: each key to the frame showing the
    cursor moved; then the relationships still copying and the tracks copied meanwhile."""
    api = app.site
    rng = random.Random(7)
    latencies: list[float] = []
    async with app.run_test(size=(130, 40)) as pilot:
        clock = FrameClock(app)
        await pilot.press("3")
        while not reloads_idle(app) or app.screen.table.row_count < VOLUMES:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
        table = app.screen.table
        before = (await asyncio.to_thread(api.status)).out_of_sync
        for n in range(PRESSES):
            key = up_and_down(table, n, 10)  # down ten rows, up ten rows
            latencies.append(await key_to_frame(app, clock, key, cursor_moved(table)))
            await asyncio.sleep(rng.uniform(0.02, 0.06))  # an operator's typing rhythm, not a flood
        st = await asyncio.to_thread(api.status)
    return latencies, st.copies, before - st.out_of_sync


async def measure(root, loaded: bool) -> tuple[list[float], int, int]:
    """The console with the site in its own process (embedded), the copy running or not."""
    # 2 copiers x 1,000 tracks/s: 64 x 600 tracks take ~19 s, longer than the presses
    copier = CopierSettings(concurrency=2, chunk_tracks=50, tracks_per_second=1000)
    site = Site.open(root / "site", copier=copier)
    out = await presses(FlashpoolApp(LocalSite(site), refresh_interval=1.0, start_engine=loaded))
    await site.close()
    return out


async def backed_up_anew(root) -> None:
    """A new version (it replaces the only one): every track to copy again. The embedded runs
    copied part of the first, and on a slow machine the server finished the rest before the
    presses did, so the list emptied and a key had nothing to move."""
    site = Site.open(root / "site")
    res = await site.hsm.execute("FRBACKUP COPYPOOL(LOAD) EXECUTE")
    assert res.rc == 0, res.lines()
    await site.close()


async def measure_attached(root) -> tuple[list[float], int, int]:
    """The console as `make run` opens it: a client of `flashpool serve`, which copies."""
    await backed_up_anew(root)
    with serving(root / "site", copy_rate=1000):
        api = RemoteSite(root / "site")
        try:
            return await presses(FlashpoolApp(api, refresh_interval=1.0))
        finally:
            await api.close()


def main() -> None:
    with scratch("console-latency") as root:
        asyncio.run(build(root))
        idle, _, _ = asyncio.run(measure(root, loaded=False))
        loaded, still, moved = asyncio.run(measure(root, loaded=True))
        attached, a_still, a_moved = asyncio.run(measure_attached(root))
    lp, ip = p95(loaded) * 1000, p95(idle) * 1000
    print(
        f"{PRESSES} j/k presses on the relationships screen: idle p95 {ip:.1f} ms (max {max(idle) * 1000:.1f}); "
        f"with {VOLUMES} relationships copying p95 {lp:.1f} ms (max {max(loaded) * 1000:.1f}); "
        f"{moved:,} tracks copied during the presses, {still} relationships still copying at the end"
    )
    ap = p95(attached) * 1000
    print(
        f"attached to the site's server (the copy in its process): p95 {ap:.1f} ms (max {max(attached) * 1000:.1f}); "
        f"{a_moved:,} tracks copied during the presses, {a_still} relationships still copying at the end"
    )
    result("console_key_p95_attached_ms", ap, "<", 30, ".1f")
    result("console_attached_copies_still_running_at_end", a_still, ">=", 1, "d")
    result("console_key_p95_loaded_ms", lp, "<", 50, ".1f")
    result("console_key_p95_ratio_loaded_vs_idle", lp / max(ip, 1e-6), "<", 5, ".2f")
    result("console_copies_still_running_at_end", still, ">=", 1, "d")
    result("console_tracks_copied_during_presses", moved, ">", 0, "d")


if __name__ == "__main__":
    main()
