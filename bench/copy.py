"""Background copy of a 3390-3's worth of written tracks vs os.copy_file_range of the same bytes.

The copier's own speed, with durability off on both sides (bench.durable measures the durable
copy against copy_file_range + fdatasync). Goal: at least 0.9x the kernel's copy of the same
image, in rounds that alternate which side goes first (bench._common.paired_ratio).
"""

from __future__ import annotations

import asyncio
import os

from bench._common import Timer, filled_volume, paired_ratio, result, scratch
from engine.flashcopy import CopierSettings, FlashCopyController, FlashCopyOptions
from engine.geometry import geometry_for
from engine.storage import Volume

ROUNDS = 4


def baseline(src: Volume, dst: Volume, flush: bool = False) -> float:
    """Seconds for the kernel's copy of the whole image (and one fdatasync, with `flush`)."""
    size, off = src.geometry.image_size, 0
    with open(src.path, "rb") as fs, open(dst.path, "r+b") as fd, Timer() as t:
        while off < size:
            off += os.copy_file_range(fs.fileno(), fd.fileno(), min(64 << 20, size - off), off, off)
        if flush:
            os.fdatasync(fd.fileno())
    return t.seconds


async def ours(src: Volume, dst: Volume) -> float:
    ctl = FlashCopyController(
        {src.volser: src, dst.volser: dst},
        copier=CopierSettings(concurrency=2),
        options=FlashCopyOptions(durable=False),
    )
    with Timer() as t:
        await ctl.establish(source=src.volser, target=dst.volser)
        ctl.start()
        await ctl.wait_idle()
    await ctl.stop()
    return t.seconds


def main() -> None:
    g = geometry_for("3390-3")
    with scratch("copy") as root:
        src = filled_volume(root, "SRC001", g)
        gb = g.tracks * g.track_size / 1e9
        print(f"source: {g.describe()}, {gb:.2f} GB of written tracks (in the page cache)")

        def base(r: int) -> float:
            b = Volume.create(root / f"B{r}.img", f"BASE{r}", g)
            seconds = baseline(src, b)
            b.close()
            os.unlink(b.path)
            return seconds

        def copier(r: int) -> float:
            o = Volume.create(root / f"O{r}.img", f"OURS{r}", g)
            seconds = asyncio.run(ours(src, o))
            assert o.read_track_sync(g.tracks - 1) == src.read_track_sync(g.tracks - 1)
            o.close()
            os.unlink(o.path)
            return seconds

        ratio = paired_ratio(ROUNDS, base, copier, f"{gb:.2f} GB:")
        result("copy_ratio", ratio, ">=", 0.9, ".2f")


if __name__ == "__main__":
    main()
