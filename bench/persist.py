"""What persistence costs: the same work on a Site (catalog journal, SQLite WAL) vs a bare
controller whose journal does nothing.

Background copy commits once per chunk (1,024 tracks), so its cost should vanish (goal: the
persisted copy at least 0.9x the throughput of the unpersisted one). A copy-on-write write must
commit before the source is overwritten; its cost per write is printed as well.
"""

from __future__ import annotations

import asyncio
import os

from bench._common import Timer, filled_volume, result, scratch
from engine.definition import parse_definition
from engine.flashcopy import CopyMode, EstablishRequest, FlashCopyController
from engine.geometry import geometry_for
from engine.site import Site
from engine.storage import Volume

N_COW = 3000


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


def main() -> None:
    g = geometry_for("3390-3")
    data = os.urandom(g.track_size)
    with scratch("persist") as root:
        site = Site.create(
            root / "site",
            parse_definition({"volume": [{"volser": v, "model": "3390-3"} for v in ("PSRC", "PT1", "PT2", "PT3")]}),
        )
        bare = {v: Volume.create(root / f"{v}.img", v, g) for v in ("BT1", "BT2", "BT3")}
        # the same source image serves both: fill it through the site's volume
        src = site.context.volume("PSRC")
        filled = filled_volume(root, "FILL", g)
        filled.copy_tracks_to_sync(0, src, 0, g.tracks)
        bare["PSRC"] = src
        plain = FlashCopyController(bare)
        best_site = best_bare = float("inf")
        for i, (st, bt) in enumerate((("PT1", "BT1"), ("PT2", "BT2"))):
            os.sync()
            tb = asyncio.run(copy_time(plain, "PSRC", bt))
            os.sync()
            ts = asyncio.run(copy_time(site.flashcopy, "PSRC", st))
            best_site, best_bare = min(best_site, ts), min(best_bare, tb)
            print(f"round {i + 1}: copy with catalog {ts:.2f} s, without {tb:.2f} s")
        commits = site.flashcopy.core.journal.commits
        cs = asyncio.run(cow_time(site.flashcopy, "PSRC", "PT3", data))
        cb = asyncio.run(cow_time(plain, "PSRC", "BT3", data))
        print(
            f"copy-on-write write: {cs / N_COW * 1e6:.0f} us with catalog, {cb / N_COW * 1e6:.0f} us without "
            f"({cs / cb:.2f}x); catalog commits during the copies: {commits}"
        )
        asyncio.run(site.close())
        for v in bare.values():
            v.close()
        result("persist_copy_ratio", best_bare / best_site, ">=", 0.9, ".2f")


if __name__ == "__main__":
    main()
