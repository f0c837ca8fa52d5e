"""What the power-loss promise costs (docs/ATOMICITY.md), measured on a real site.

* Background copy of a 3390-3's worth of written tracks on a durable site (each copy chunk's
  target flushed before the catalog commit that clears its bits, SQLite synchronous=FULL) vs
  os.copy_file_range of the same bytes followed by one fdatasync, the least any durable copy
  does. Goal: at least 0.8x.
* A host write that copies on write, on the same site opened with and without durability
  (reported: the old track must be durable on the target before the source's new one can be).
"""

from __future__ import annotations

import asyncio
import os

from bench._common import Timer, filled_volume, result, scratch
from engine.definition import parse_definition
from engine.flashcopy import CopyMode, EstablishRequest
from engine.geometry import geometry_for
from engine.site import Site
from engine.storage import Volume

N_COW = 2000


def baseline(src: Volume, dst: Volume) -> float:
    size, off = src.geometry.image_size, 0
    with open(src.path, "rb") as fs, open(dst.path, "r+b") as fd, Timer() as t:
        while off < size:
            off += os.copy_file_range(fs.fileno(), fd.fileno(), min(64 << 20, size - off), off, off)
        os.fdatasync(fd.fileno())
    return t.seconds


async def site_copy(site: Site, src: str, tgt: str) -> float:
    with Timer() as t:
        await site.flashcopy.establish(source=src, target=tgt)
        site.flashcopy.start()
        await site.flashcopy.wait_idle()
    return t.seconds


async def cow(site: Site, src: str, tgt: str, data: bytes) -> float:
    rel = await site.flashcopy.establish(EstablishRequest(src, tgt, mode=CopyMode.NOCOPY))
    core = site.flashcopy.core
    with Timer() as t:
        await asyncio.to_thread(lambda: [core.write(src, k, data) for k in range(N_COW)])
    await site.flashcopy.withdraw(rel.id)
    return t.seconds


async def measure(root, data: bytes) -> tuple[float, float, float, float]:
    """(best copy_file_range + fdatasync, best durable background copy, copy-on-write durable,
    copy-on-write without durability), seconds."""
    g = geometry_for("3390-3")
    site = Site.open(root / "site")
    filled = filled_volume(root, "FILL", g)
    filled.copy_tracks_to_sync(0, site.context.volume("DSRC"), 0, g.tracks)
    site.context.volume("DSRC").flush_sync()
    gb = g.tracks * g.track_size / 1e9
    best_base = best_site = float("inf")
    try:
        for round_, tgt in enumerate(("DT1", "DT2")):
            b = Volume.create(root / f"B{round_}.img", f"BASE{round_}", g)
            os.sync()
            tb = await asyncio.to_thread(baseline, site.context.volume("DSRC"), b)
            os.sync()
            ts = await site_copy(site, "DSRC", tgt)
            best_base, best_site = min(best_base, tb), min(best_site, ts)
            print(
                f"round {round_ + 1}: copy_file_range + fdatasync {gb / tb:.2f} GB/s, "
                f"durable background copy {gb / ts:.2f} GB/s"
            )
            b.close()
            os.unlink(b.path)
        on = await cow(site, "DSRC", "DT3", data)
    finally:
        await site.close()
    site = Site.open(root / "site", durable=False)
    try:
        off = await cow(site, "DSRC", "DT4", data)
    finally:
        await site.close()
    return best_base, best_site, on, off


def main() -> None:
    g = geometry_for("3390-3")
    data = os.urandom(g.track_size)
    with scratch("durable") as root:
        vols = ("DSRC", "DT1", "DT2", "DT3", "DT4")
        Site.create(
            root / "site", parse_definition({"volume": [{"volser": v, "model": "3390-3"} for v in vols]})
        ).close_files()
        base, ours, on, off = asyncio.run(measure(root, data))
    print(
        f"copy-on-write host write: {on / N_COW * 1e6:.0f} us durable, {off / N_COW * 1e6:.0f} us without "
        f"durability ({on / off:.2f}x)"
    )
    result("durable_copy_ratio", base / ours, ">=", 0.8, ".2f")


if __name__ == "__main__":
    main()
