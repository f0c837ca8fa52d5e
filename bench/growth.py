"""How the command path grows with the copy pool: FRBACKUP, LIST COPYPOOL ALLVOLS and a fast
reverse restore (FRRECOV) of copy pools of 64, 256 and 1,024 x 3390-54 volumes, each the whole
command path in-process (parse, authorization, catalog, target choice, establish as one point in
time, version rows, activity log and audit trail).

Goals (#17): FRBACKUP of 1,024 volumes < 1 s and within 1.2x of 16 x the 64-volume figure; the
fast reverse restore of the same pool < 1 s to the point where host reads see the recovered data;
LIST grows no faster than the pool. Also the catalog bytes one version of the 1,024-volume pool
adds (its relationships' bitmaps stored compressed).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from pathlib import Path

from bench._common import Timer, result, scratch
from engine.definition import parse_definition
from engine.site import Site

SIZES = (64, 256, 1024)
ROUNDS = 3
SENTINEL = 7  # the track each source is written on after the backup, and read back after FRRECOV


def definition(n: int) -> dict:
    return {
        "storage_group": [
            {
                "name": "SRCE",
                "type": "POOL",
                "backup_group": "BKUP",
                "model": "3390-54",
                "volumes": [f"S{i:05d}" for i in range(n)],
            },
            {"name": "BKUP", "type": "COPYPOOLBACKUP", "model": "3390-54", "volumes": [f"T{i:05d}" for i in range(n)]},
        ],
        "copy_pool": [{"name": "CP", "storage_groups": ["SRCE"], "versions": 1, "fast_reverse_restore": True}],
    }


def _catalog_bytes(root: Path) -> int:
    """Bytes the catalog's pages hold (its log checkpointed first; free pages not counted)."""
    with contextlib.closing(sqlite3.connect(root / "catalog.db")) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = db.execute("PRAGMA page_count").fetchone()[0] - db.execute("PRAGMA freelist_count").fetchone()[0]
        return int(pages * db.execute("PRAGMA page_size").fetchone()[0])


async def measure(root: Path, n: int) -> dict[str, float]:
    """Best of ROUNDS for each command (no copier runs: the relationships stay in place, as
    the fast reverse restore needs)."""
    site = Site.create(root, parse_definition(definition(n)))
    best = {"frbackup": float("inf"), "list": float("inf"), "frrecov": float("inf"), "version_bytes": 0.0}
    try:
        size = site.context.volume("S00000").geometry.track_size
        for i in range(n):
            await site.flashcopy.write(f"S{i:05d}", SENTINEL, f"S{i:05d} at the backup".encode().ljust(size, b"."))
        after = b"changed after the backup".ljust(size, b"!")
        for _ in range(ROUNDS):
            empty = _catalog_bytes(root)
            with Timer() as t:
                res = await site.hsm.execute("FRBACKUP COPYPOOL(CP)")
            assert res.rc == 0, res.lines()
            best["frbackup"] = min(best["frbackup"], t.seconds)
            best["version_bytes"] = max(best["version_bytes"], _catalog_bytes(root) - empty)
            with Timer() as t:
                res = await site.hsm.execute("LIST COPYPOOL(CP) ALLVOLS")
            assert res.rc == 0 and sum(line.count(" - ") for line in res.listing) >= n, res.lines()
            best["list"] = min(best["list"], t.seconds)
            for i in range(n):  # host writes: copy-on-write preserves the backup's tracks
                await site.flashcopy.write(f"S{i:05d}", SENTINEL, after)
            with Timer() as t:
                res = await site.hsm.execute("FRRECOV COPYPOOL(CP)")
                assert res.rc == 0, res.lines()
                back = [await site.flashcopy.read(f"S{i:05d}", SENTINEL) for i in range(n)]
            want = [f"S{i:05d} at the backup".encode().ljust(size, b".") for i in range(n)]
            assert back == want, "a host read after FRRECOV does not see the backup's data"
            best["frrecov"] = min(best["frrecov"], t.seconds)
            await site.flashcopy.drain()  # the reversed relationships' changed tracks, then they end
            res = await site.hsm.execute("FRDELETE COPYPOOL(CP) ALL")
            assert res.rc == 0, res.lines()
    finally:
        await site.close()
    return best


def main() -> None:
    figures: dict[int, dict[str, float]] = {}
    with scratch("growth") as root:
        for n in SIZES:
            figures[n] = asyncio.run(measure(root / f"site{n}", n))
            f = figures[n]
            print(
                f"{n:>5} x 3390-54: FRBACKUP {f['frbackup'] * 1000:7.1f} ms, LIST ALLVOLS {f['list'] * 1000:6.1f} ms, "
                f"FRRECOV (fast reverse restore, host reads checked) {f['frrecov'] * 1000:7.1f} ms; "
                f"catalog per version {f['version_bytes'] / 1024:,.0f} KiB",
                flush=True,
            )
            os.sync()
    small, big = figures[SIZES[0]], figures[SIZES[-1]]
    scale = SIZES[-1] / SIZES[0]
    result("frbackup_1024_ms", big["frbackup"] * 1000, "<", 1000, ".0f")
    result("frbackup_1024_vs_16x_64", big["frbackup"] / (scale * small["frbackup"]), "<=", 1.2, ".2f")
    result("frrecov_frr_1024_ms", big["frrecov"] * 1000, "<", 1000, ".0f")
    result("list_allvols_1024_vs_16x_64", big["list"] / (scale * small["list"]), "<=", 1.2, ".2f")
    result("catalog_bytes_per_version_1024", big["version_bytes"], ">", 0, ".0f")


if __name__ == "__main__":
    main()
