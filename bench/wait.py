"""`flashpool hsm 'FRBACKUP ...' --wait` through a running server vs the copy alone (#40): the
backup of a 3390-3 with 50,085 written tracks, waited for by the CLI (which follows the server's
event stream), against the same site's durable background copy of the same bytes in-process,
in paired rounds (bench._common.paired_ratio). Goal: at most 1.2x the copy plus a bare
`python -c pass` (the process start).
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time

from bench._common import filled_volume, paired_ratio, result, scratch
from bench._server import serving
from bench.durable import site_copy
from engine.definition import parse_definition
from engine.geometry import geometry_for
from engine.site import Site

ROUNDS = 4


def definition() -> dict[str, object]:
    return {
        "storage_group": [
            {"name": "SG", "type": "POOL", "backup_group": "BK", "model": "3390-3", "volumes": ["SRC001"]},
            {"name": "BK", "type": "COPYPOOLBACKUP", "model": "3390-3", "volumes": ["BK0001"]},
        ],
        "volume": [{"volser": "ALONE1", "model": "3390-3"}],
        "copy_pool": [{"name": "BIG", "storage_groups": ["SG"], "versions": 1}],
    }


def main() -> None:
    g = geometry_for("3390-3")
    with scratch("wait") as root:
        path = root / "site"
        site = Site.create(path, parse_definition(definition()))
        filled_volume(root, "FILL", g).copy_tracks_to_sync(0, site.context.volume("SRC001"), 0, g.tracks)
        site.context.volume("SRC001").flush_sync()
        site.close_files()
        flashpool = [sys.executable, "-m", "cli", "--site", str(path)]
        bare = statistics.median(
            _timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True)) for _ in range(9)
        )

        def alone(r: int) -> float:
            async def copy() -> float:
                opened = Site.open(path)
                try:
                    return await site_copy(opened, "SRC001", "ALONE1")
                finally:
                    await opened.close()

            return asyncio.run(copy())

        def waited(r: int) -> float:
            with serving(path, copy_rate=None):
                return _timed(
                    lambda: subprocess.run([*flashpool, "hsm", "FRBACKUP COPYPOOL(BIG) EXECUTE", "--wait"], check=True)
                )

        alone(0), waited(0)  # both targets allocated before the timed rounds
        ratio = paired_ratio(ROUNDS, lambda r: alone(r) + bare, waited, "3390-3, copy alone + start vs --wait:")
    print(f"process start (bare python -c pass): {bare * 1000:.1f} ms")
    result("frbackup_wait_vs_copy_plus_start", 1 / ratio, "<=", 1.2, ".2f")


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
