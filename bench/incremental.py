"""Change 1% of a volume's tracks, flush them (as a host does), refresh: tracks moved must equal
tracks changed, and the refresh + copy must cost at most 0.03x the full copy of the same
relationship. The host's flush is timed apart: since host writes wait in a write cache for the
host's flush (#39), a refresh without it first makes them durable itself, and measured that."""

from __future__ import annotations

import asyncio
import os
import random

from bench._common import Timer, filled_volume, result, scratch
from engine.flashcopy import EstablishRequest, FlashCopyController
from engine.geometry import geometry_for
from engine.storage import Volume


async def run(src: Volume, tgt: Volume) -> tuple[float, float, int, int]:
    ctl = FlashCopyController({src.volser: src, tgt.volser: tgt})
    core = ctl.core
    with Timer() as full:
        rel = await ctl.establish(EstablishRequest(src.volser, tgt.volser, incremental=True))
        ctl.start()
        await ctl.wait_idle()
    rng = random.Random(7)
    changed = rng.sample(range(src.tracks), src.tracks // 100)
    data = os.urandom(src.geometry.track_size)
    for k in changed:
        await ctl.write(src.volser, k, data)
    # the host's flush: its writes' durability is the writes' cost, not the refresh's (a refresh
    # would otherwise pay it first, as a new point in time includes every acknowledged write)
    with Timer() as flushed:
        await asyncio.to_thread(core.flush, [src.volser])
    before = core.tracks_moved
    with Timer() as inc:
        await ctl.refresh(rel.id)
        await ctl.wait_idle()
    await ctl.stop()
    print(
        f"the host's flush of the {len(changed):,} changed tracks before the refresh: {flushed.seconds * 1000:.0f} ms"
    )
    return full.seconds, inc.seconds, len(changed), core.tracks_moved - before


def main() -> None:
    g = geometry_for("3390-3")
    with scratch("incremental") as root:
        src = filled_volume(root, "SRC001", g)
        tgt = Volume.create(root / "TGT.img", "TGT001", g)
        full, inc, changed, moved = asyncio.run(run(src, tgt))
        assert tgt.read_tracks_sync(0, 64) == src.read_tracks_sync(0, 64)
        print(
            f"{g.describe()}: full copy {full:.2f} s; 1% changed ({changed:,} tracks), refresh + copy {inc * 1000:.0f} ms"
        )
        print(f"tracks moved by the refresh: {moved:,}; tracks changed: {changed:,}")
        result("incremental_moved_minus_changed", moved - changed, "==", 0, "d")
        result("incremental_time_ratio", inc / full, "<=", 0.03, ".4f")


if __name__ == "__main__":
    main()
