"""`make bench`: run every benchmark; each prints `RESULT <metric> <value> <op> <goal>`."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = [
    "copy",
    "establish",
    "cow",
    "incremental",
    "latency",
    "persist",
    "durable",
    "frbackup",
    "growth",
    "big_site",
    "list",
    "dump",
    "console_latency",
    "console_scale",
    "console_switch",
    "console_big",
    "event_loop",
    "server",
    "cli",
    "wait",
    "plex_catalog",
    "plex_big",
    "plex_takeover",
    "plex_throughput",
]


def main() -> int:
    names = sys.argv[1:] or BENCHMARKS
    for name in names:
        print(f"== bench.{name}", flush=True)
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
