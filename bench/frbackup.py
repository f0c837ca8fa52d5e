"""FRBACKUP of a copy pool of 64 x 3390-54 volumes, through the whole command path (parse,
catalog, target selection, 64 establishes as one point in time, version records, activity log).

Goal: under 0.5 s, and the cost does not grow with the data written on the sources.
"""

from __future__ import annotations

import asyncio

from bench._common import Timer, result, scratch
from engine.definition import parse_definition
from engine.site import Site

N = 64


def definition() -> dict:
    return {
        "storage_group": [
            {
                "name": "SRCE",
                "type": "POOL",
                "backup_group": "BKUP",
                "model": "3390-54",
                "volumes": [f"S{i:05d}" for i in range(N)],
            },
            {
                "name": "WRIT",
                "type": "POOL",
                "backup_group": "BKUP",
                "model": "3390-54",
                "volumes": [f"W{i:05d}" for i in range(N)],
            },
            {
                "name": "BKUP",
                "type": "COPYPOOLBACKUP",
                "model": "3390-54",
                "volumes": [f"T{i:05d}" for i in range(2 * N)],
            },
        ],
        "copy_pool": [
            {"name": "EMPTY", "storage_groups": ["SRCE"], "versions": 1},
            {"name": "WRITTEN", "storage_groups": ["WRIT"], "versions": 1},
        ],
    }


async def run(root) -> tuple[float, float, int]:
    site = Site.create(root / "site", parse_definition(definition()))
    try:
        g = site.context.volume("W00000").geometry
        data = bytes(g.track_size)
        written = 0
        for i in range(N):  # 500 written tracks on each "written" source
            for k in range(0, g.tracks, g.tracks // 500):
                site.context.volume(f"W{i:05d}").write_track_sync(k, data)
                written += 1
        best = {"EMPTY": float("inf"), "WRITTEN": float("inf")}
        for _ in range(3):
            for pool in best:
                with Timer() as t:
                    res = await site.hsm.execute(f"FRBACKUP COPYPOOL({pool})")
                assert res.rc == 0, res.lines()
                best[pool] = min(best[pool], t.seconds)
                assert (await site.hsm.execute(f"FRDELETE COPYPOOL({pool}) ALL")).rc == 0
        return best["EMPTY"], best["WRITTEN"], written
    finally:
        await site.close()


def main() -> None:
    with scratch("frbackup") as root:
        empty, written, tracks = asyncio.run(run(root))
    print(
        f"FRBACKUP of {N} x 3390-54: {empty * 1000:.0f} ms with empty sources, "
        f"{written * 1000:.0f} ms with {tracks:,} written tracks"
    )
    # the site is durable (the default): every commit of the command flushed before its answer
    result("frbackup_64_durable_ms", max(empty, written) * 1000, "<", 200, ".0f")
    result("frbackup_written_vs_empty", written / empty, "<=", 1.5, ".2f")


if __name__ == "__main__":
    main()
