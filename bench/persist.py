"""What persistence costs: the same work on a Site (catalog journal, SQLite WAL) vs a bare
controller whose journal does nothing.

Background copy commits once per chunk (1,024 tracks), so its cost should vanish (goal: the
persisted copy at least 0.9x the throughput of the unpersisted one). A copy-on-write write must
commit before the source is overwritten; its cost per write is printed as well.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench._common import Timer, filled_volume, paired_ratio, result, scratch
from engine.definition import parse_definition
from engine.flashcopy import CopyMode, EstablishRequest, FlashCopyController
from engine.geometry import geometry_for
from engine.site import Site
from engine.storage import Volume

N_COW = 3000
ROUNDS = 4


async def copy_time(ctl: FlashCopyController, src: str, tgt: str) -> float:
    with Timer() as t:
        await ctl.establish(source=src, target=tgt)
        ctl.start()
        await ctl.wait_idle()
    await ctl.stop()
    return t.seconds


async def cow_time(ctl: FlashCopyController, src: str, tgt: str, data: bytes) -> float:
    rel = await ctl.establish(EstablishRequest(src, tgt, mode=CopyMode.NOCOPY))
    core = ctl.core
    with Timer() as t:
        await asyncio.to_thread(lambda: [core.write(src, k, data) for k in range(N_COW)])
    await ctl.withdraw(rel.id)
    return t.seconds


async def on_site(root: Path, work: Callable[[Site], Awaitable[float]]) -> float:
    site = Site.open(root / "site")  # one site per event loop
    try:
        return await work(site)
    finally:
        await site.close()


def main() -> None:
    g = geometry_for("3390-3")
    data = os.urandom(g.track_size)
    with scratch("persist") as root:
        vols = ("PSRC", "PT1", "PT3")
        site = Site.create(
            root / "site", parse_definition({"volume": [{"volser": v, "model": "3390-3"} for v in vols]})
        )
        bare = {v: Volume.create(root / f"{v}.img", v, g) for v in ("BT1", "BT3")}
        # the same source image serves both: fill it through the site's volume
        src = site.context.volume("PSRC")
        filled = filled_volume(root, "FILL", g)
        filled.copy_tracks_to_sync(0, src, 0, g.tracks)
        src.flush_sync()
        site.close_files()
        bare["PSRC"] = Volume.open(src.path, "PSRC", g)  # its own handle: the site closed its files
        # both flush each chunk's target (durable by default): the difference is the catalog's
        plain = FlashCopyController(bare)

        def without(r: int) -> float:
            return asyncio.run(copy_time(plain, "PSRC", "BT1"))

        def with_catalog(r: int) -> float:
            return asyncio.run(on_site(root, lambda site: copy_time(site.flashcopy, "PSRC", "PT1")))

        without(0), with_catalog(0)  # both targets allocated before the timed rounds
        ratio = paired_ratio(ROUNDS, without, with_catalog, "3390-3 copy, catalog or not:")
        cs = asyncio.run(on_site(root, lambda site: cow_time(site.flashcopy, "PSRC", "PT3", data)))
        cb = asyncio.run(cow_time(plain, "PSRC", "BT3", data))
        print(
            f"copy-on-write write (durable): {cs / N_COW * 1e6:.0f} us with catalog, {cb / N_COW * 1e6:.0f} us "
            f"without ({cs / cb:.2f}x)"
        )
        for v in bare.values():
            v.close()
        result("persist_copy_ratio", ratio, ">=", 0.9, ".2f")


if __name__ == "__main__":
    main()
