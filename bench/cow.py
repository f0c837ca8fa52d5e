"""A host write to a source track that still has a dependent vs a plain track write.

Goal: at most 3x. Both measured through the FlashCopy core (same code path, same volume size).
"""

from __future__ import annotations

import os

from bench._common import Timer, result, scratch
from engine.flashcopy import CopyMode, EstablishRequest, FlashCopyCore
from engine.geometry import geometry_for
from engine.storage import Volume

N = 5000


def main() -> None:
    g = geometry_for("3390-1")
    data = os.urandom(g.track_size)
    with scratch("cow") as root:
        vols = {v: Volume.create(root / f"{v}.img", v, g) for v in ("SRC", "TGT", "PLAIN")}
        for v in vols.values():  # warm both files so neither side pays for first allocation
            v.write_tracks_sync(0, [data] * 64)
            for k in range(0, N, 64):
                v.write_tracks_sync(k, [data] * 64)
        core = FlashCopyCore(vols)
        core.establish(EstablishRequest("SRC", "TGT", mode=CopyMode.NOCOPY))
        best_plain = best_cow = float("inf")
        for round_ in range(3):
            with Timer() as plain:
                for k in range(N):
                    core.write("PLAIN", k, data)
            rel = (
                core.establish(EstablishRequest("SRC", "TGT", mode=CopyMode.NOCOPY))
                if round_
                else core.relationships()[0]
            )
            with Timer() as cow:
                for k in range(N):
                    core.write("SRC", k, data)
            assert core.tracks_moved == N * (round_ + 1)
            core.withdraw(rel.id)
            best_plain, best_cow = min(best_plain, plain.seconds), min(best_cow, cow.seconds)
        print(
            f"plain write {best_plain / N * 1e6:.1f} us/track, write with copy-on-write {best_cow / N * 1e6:.1f} us/track"
        )
        for v in vols.values():
            v.close()
        result("cow_ratio", best_cow / best_plain, "<=", 3.0, ".2f")


if __name__ == "__main__":
    main()
