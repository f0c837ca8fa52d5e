"""What the power-loss promise costs (docs/ATOMICITY.md), measured on a real site.

* Background copy of a 3390-3's worth of written tracks on a durable site (each copy chunk's
  target flushed before the catalog commit that clears its bits, SQLite synchronous=FULL) vs
  os.copy_file_range of the same bytes followed by one fdatasync, the least any durable copy
  does, in rounds that alternate which side goes first, over images both allocated beforehand
  (bench._common.paired_ratio). Goal: at least 0.8x.
* A host write that copies on write, on the same site opened with and without durability
  (reported: the old track must be durable on the target before the source's new one can be).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from bench._common import Timer, filled_volume, paired_ratio, result, scratch
from engine.definition import parse_definition
from engine.flashcopy import CopyMode, EstablishRequest
from engine.geometry import geometry_for
from engine.site import Site
from engine.storage import Volume

N_COW = 2000
ROUNDS = 4


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


async def _copy_once(root: Path) -> float:
    site = Site.open(root / "site")  # one site per event loop
    try:
        return await site_copy(site, "DSRC", "DT1")
    finally:
        await site.close()


def copy_ratio(root: Path) -> float:
    """The durable background copy vs copy_file_range + one fdatasync, in paired rounds; each
    side writes over its own image every round (allocated once, in round 1)."""
    g = geometry_for("3390-3")
    with_site = Site.open(root / "site")
    filled = filled_volume(root, "FILL", g)
    filled.copy_tracks_to_sync(0, with_site.context.volume("DSRC"), 0, g.tracks)
    src = with_site.context.volume("DSRC")
    src.flush_sync()
    asyncio.run(with_site.close())
    b = Volume.create(root / "B.img", "BASE", g)
    gb = g.tracks * g.track_size / 1e9
    # both images allocated before the timed rounds (a first write into a sparse image also
    # allocates its blocks, and this machine's disk bursts: whoever allocated first won by 4x)
    baseline(src, b)
    asyncio.run(_copy_once(root))

    def base(r: int) -> float:
        return baseline(src, b)

    def ours(r: int) -> float:
        return asyncio.run(_copy_once(root))

    return paired_ratio(ROUNDS, base, ours, f"{gb:.2f} GB, durable:")


async def cow_costs(root: Path, data: bytes) -> tuple[float, float]:
    """A copy-on-write host write's seconds on the site with and without durability."""
    site = Site.open(root / "site")
    try:
        on = await cow(site, "DSRC", "DT3", data)
    finally:
        await site.close()
    site = Site.open(root / "site", durable=False)
    try:
        off = await cow(site, "DSRC", "DT4", data)
    finally:
        await site.close()
    return on, off


def main() -> None:
    g = geometry_for("3390-3")
    data = os.urandom(g.track_size)
    with scratch("durable") as root:
        vols = ("DSRC", "DT1", "DT3", "DT4")
        Site.create(
            root / "site", parse_definition({"volume": [{"volser": v, "model": "3390-3"} for v in vols]})
        ).close_files()
        ratio = copy_ratio(root)
        on, off = asyncio.run(cow_costs(root, data))
    print(
        f"copy-on-write host write: {on / N_COW * 1e6:.0f} us durable, {off / N_COW * 1e6:.0f} us without "
        f"durability ({on / off:.2f}x)"
    )
    result("durable_copy_ratio", ratio, ">=", 0.8, ".2f")


if __name__ == "__main__":
    main()
