"""The 20,012-volume site of `bench.sites` with its catalog on PostgreSQL (issue 41): LIST COPYPOOL
of the largest pool (85 versions x 1,024 volumes) under 50 ms, and every console screen switch,
the console attached to the site's server while thousands of copies run, under 500 ms, as on
SQLite. The site is built on SQLite and moved with `flashpool catalog migrate` (which this also
times); the same LIST on the SQLite catalog, before the move, is the baseline of the same run.
PostgreSQL runs durable, in a cluster of its own on a Unix socket."""

from __future__ import annotations

import asyncio

from bench import sites
from bench._common import Timer, result, scratch
from bench._server import serving
from bench.big_site import in_process
from bench.console_big import session
from bench.console_switch import STEPS
from engine.site import Site
from tests.pg import Cluster


def main() -> None:
    cluster = Cluster(settings=("max_connections=50",))
    cluster.start()
    try:
        with scratch("plex-big") as root:
            path = root / "big"
            asyncio.run(sites.build(path))
            _, on_sqlite, _ = asyncio.run(in_process(path))
            with Timer() as moved:
                counts = Site.migrate_catalog(path, cluster.url(cluster.create_database()))
            opened, on_postgresql, small = asyncio.run(in_process(path))
            with serving(path, copy_rate=20):  # tracks a second per copier: copies run throughout
                times = asyncio.run(session(path, sites.POOLS))
        switches = [t for name, _, _ in STEPS for t in times[name]]
        print(
            f"{sites.volume_count():,} volumes moved to PostgreSQL in {moved.seconds:.1f} s "
            f"({sum(counts.values()):,} rows); opened in {opened:.2f} s"
        )
        print(
            f"LIST COPYPOOL({sites.LARGEST}): PostgreSQL {on_postgresql * 1000:.1f} ms, SQLite {on_sqlite * 1000:.1f} ms "
            f"({on_postgresql / on_sqlite:.2f}x); a one-version pool {small * 1000:.1f} ms"
        )
        print(f"screen switches on PostgreSQL: max {max(switches) * 1000:.0f} ms over {len(switches)}")
        result("plex_pg_big_list_largest_ms", on_postgresql * 1000, "<", 50, ".1f")
        result("plex_pg_big_switch_max_ms", max(switches) * 1000, "<", 500, ".0f")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
