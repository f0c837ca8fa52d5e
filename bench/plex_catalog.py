"""The catalog on PostgreSQL against SQLite (issue 41): what one FlashCopy commit costs on each,
and the background copy of a 3390-1 with each as the site's catalog (goal: with PostgreSQL at
least 0.9x the throughput with SQLite: the copy commits once per 1,024-track chunk).

PostgreSQL runs durable here (fsync and synchronous commit on, unlike the tests' throw-away
cluster), in a cluster of its own on a Unix socket, as SQLite runs durable in the site."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

from bench._common import filled_volume, paired_ratio, result, scratch
from bench.persist import copy_time, on_site
from engine.definition import parse_definition
from engine.flashcopy import CopyMode, EstablishRequest
from engine.geometry import geometry_for
from engine.site import Site
from tests.pg import Cluster

ROUNDS = 4
COMMITS = 400


def commit_us(root: Path) -> float:
    """The median time of one FlashCopy commit (a relationship's row replaced), in microseconds."""

    async def run(site: Site) -> float:
        info = await site.flashcopy.establish(EstablishRequest("CSRC", "CT2", mode=CopyMode.NOCOPY))
        core = site.flashcopy.core
        rel = core.find(info.id)
        assert rel is not None

        def commits() -> list[float]:
            times = []
            for _ in range(COMMITS):
                started = time.perf_counter()
                core.journal.commit([rel], [], core.next_id)
                times.append(time.perf_counter() - started)
            return times

        times = await asyncio.to_thread(commits)
        await site.flashcopy.withdraw(info.id)
        return statistics.median(times) * 1e6

    return asyncio.run(on_site(root, run))


def main() -> None:
    g = geometry_for("3390-1")
    cluster = Cluster(settings=("max_connections=50",))
    cluster.start()
    try:
        with scratch("plex_catalog") as root:
            defn = parse_definition({"volume": [{"volser": v, "model": "3390-1"} for v in ("CSRC", "CT1", "CT2")]})
            url = cluster.url(cluster.create_database())
            sites = {"sqlite": root / "sqlite", "postgresql": root / "postgresql"}
            filled = filled_volume(root, "FILL", g)
            for name, catalog in (("sqlite", None), ("postgresql", url)):
                site = Site.create(sites[name] / "site", defn, catalog_url=catalog)
                filled.copy_tracks_to_sync(0, site.context.volume("CSRC"), 0, g.tracks)
                site.context.volume("CSRC").flush_sync()
                site.close_files()
            filled.close()
            us = {name: commit_us(path) for name, path in sites.items()}
            print(
                f"one FlashCopy commit (durable): SQLite {us['sqlite']:.0f} us, PostgreSQL {us['postgresql']:.0f} us "
                f"({us['postgresql'] / us['sqlite']:.1f}x)"
            )

            def copy_with(name: str) -> float:
                return asyncio.run(on_site(sites[name], lambda site: copy_time(site.flashcopy, "CSRC", "CT1")))

            copy_with("sqlite"), copy_with("postgresql")  # both targets allocated before the timed rounds
            ratio = paired_ratio(
                ROUNDS,
                lambda r: copy_with("sqlite"),
                lambda r: copy_with("postgresql"),
                "3390-1 copy, SQLite or PostgreSQL:",
            )
        result("plex_copy_pg_vs_sqlite", ratio, ">=", 0.9, ".2f")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
