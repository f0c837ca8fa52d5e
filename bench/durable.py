"""What the power-loss promise costs (docs/ATOMICITY.md), measured on a real site.

* Background copy of a 3390-3's worth of written tracks on a durable site (each copy chunk's
  target flushed before the catalog commit that clears its bits, SQLite synchronous=FULL) vs
  os.copy_file_range of the same bytes followed by one fdatasync, the least any durable copy
  does, in rounds that alternate which side goes first, over images both allocated beforehand
  (bench._common.paired_ratio). Goal: at least 0.8x.
* A host write that copies on write, then the host's flush, on the same site opened with and
  without durability (reported), and against a write to a qcow2 external overlay with its
  metadata (qemu-io, writeback, one flush at the end). Durability follows the host's flush:
  the write is held until a group commit makes the old track and the bits durable (goal: at
  most 1.5x the qcow2 write).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

from bench._common import Timer, filled_volume, paired_ratio, result, scratch
from bench.copy import baseline
from engine.definition import parse_definition
from engine.flashcopy import CopyMode, EstablishRequest
from engine.geometry import geometry_for
from engine.site import Site
from engine.storage import Volume

N_COW = 2000
ROUNDS = 4


async def site_copy(site: Site, src: str, tgt: str) -> float:
    with Timer() as t:
        await site.flashcopy.establish(source=src, target=tgt)
        site.flashcopy.start()
        await site.flashcopy.wait_idle()
    return t.seconds


async def cow(site: Site, src: str, tgt: str, data: bytes) -> float:
    """N_COW host writes that each copy on write, then the host's flush (the group commit and
    the source made durable), as qemu-io's close flushes its image."""
    rel = await site.flashcopy.establish(EstablishRequest(src, tgt, mode=CopyMode.NOCOPY))
    core = site.flashcopy.core

    def writes() -> None:
        for k in range(N_COW):
            core.write(src, k, data)
        core.flush([src])

    with Timer() as t:
        await asyncio.to_thread(writes)
    await site.flashcopy.withdraw(rel.id)
    return t.seconds


def qcow2_write(root: Path, slot: int) -> float | None:
    """Seconds a write to a qcow2 external overlay takes, with its metadata (cluster allocation,
    L2 and refcount updates), writeback cache and one flush at the end: N_COW writes in one
    qemu-io, less the same qemu-io with one write (its start and close). None without qemu-io."""
    if shutil.which("qemu-io") is None or shutil.which("qemu-img") is None:
        return None
    base, overlay = root / "base.raw", root / "overlay.qcow2"

    def run(n: int) -> float:
        for f in (base, overlay):
            f.unlink(missing_ok=True)
        subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(base), str(N_COW * slot)], check=True)
        subprocess.run(
            ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "raw", str(overlay)], check=True
        )
        args = ["qemu-io", "-t", "writeback", "-f", "qcow2", str(overlay)]
        for k in range(n):
            args += ["-c", f"write -P 0xab {k * slot} {slot}"]
        with Timer() as t:
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        return t.seconds

    return min((run(N_COW) - run(1)) / (N_COW - 1) for _ in range(2))


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
    baseline(src, b, flush=True)
    asyncio.run(_copy_once(root))

    def base(r: int) -> float:
        return baseline(src, b, flush=True)

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
        qcow2 = qcow2_write(root, g.slot_size)
    print(
        f"copy-on-write host write, then the host's flush: {on / N_COW * 1e6:.0f} us durable, "
        f"{off / N_COW * 1e6:.0f} us without durability ({on / off:.2f}x)"
    )
    result("durable_copy_ratio", ratio, ">=", 0.8, ".2f")
    if qcow2 is None:
        print("qemu-io is missing (make bench installs Debian's qemu-utils): the qcow2 baseline was not measured")
        return
    print(f"qcow2 external overlay write (qemu-io, writeback, one flush at the end): {qcow2 * 1e6:.0f} us")
    result("cow_host_write_vs_qcow2_overlay", on / N_COW / qcow2, "<=", 1.5, ".2f")


if __name__ == "__main__":
    main()
