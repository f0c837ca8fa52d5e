"""The CLI as scripts use it, through a running server (issue #40):

- `flashpool hsm 'QUERY COPYPOOL(...)'` as a fresh process: < 80 ms, and at most 6x the same
  interpreter's bare `python -c pass` measured in the same run (the thin path, cli/thin.py);
- 200 QUERY commands as one batch (`flashpool hsm -`) vs 200 separate processes: both reported,
  the batch < 2 s;
- `flashpool status` and `flashpool volume checksum` as fresh processes (cli/tools.py through the
  socket), reported beside the QUERY, with their ratio to the bare interpreter.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from bench._common import result, scratch
from bench._server import serving
from engine.definition import parse_definition
from engine.site import Site

RUNS, BATCH = 15, 200
POOLS = [f"CP{i}" for i in range(4)]


def definition() -> dict[str, object]:
    return {
        "storage_group": [
            {"name": "SG", "type": "POOL", "backup_group": "BK", "tracks": 150, "volumes": ["SRC001", "SRC002"]},
            {"name": "BK", "type": "COPYPOOLBACKUP", "tracks": 150, "volumes": [f"BK{i:04d}" for i in range(16)]},
        ],
        "copy_pool": [{"name": p, "storage_groups": ["SG"], "versions": 2} for p in POOLS],
    }


def seconds(cmd: list[str], stdin: str | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, done
    return elapsed


def main() -> None:
    with scratch("cli") as root:
        site = root / "site"
        Site.create(site, parse_definition(definition())).close_files()
        flashpool = [sys.executable, "-m", "cli", "--site", str(site)]
        with serving(site, copy_rate=1000):
            query = [*flashpool, "hsm", f"QUERY COPYPOOL({POOLS[0]})"]
            seconds(query)  # warm the file cache
            bare = statistics.median(seconds([sys.executable, "-c", "pass"]) for _ in range(RUNS))
            one = statistics.median(seconds(query) for _ in range(RUNS))
            status = statistics.median(seconds([*flashpool, "status"]) for _ in range(RUNS))
            digest = statistics.median(seconds([*flashpool, "volume", "checksum", "SRC001"]) for _ in range(RUNS))
            batch_text = "".join(f"QUERY COPYPOOL({POOLS[i % len(POOLS)]})\n" for i in range(BATCH))
            batch = seconds([*flashpool, "hsm", "-", "--quiet"], stdin=batch_text)
            separate = sum(
                seconds([*flashpool, "hsm", f"QUERY COPYPOOL({POOLS[i % len(POOLS)]})"]) for i in range(BATCH)
            )
    print(f"bare python -c pass {bare * 1e3:.1f} ms; flashpool hsm QUERY through the server {one * 1e3:.1f} ms")
    print(
        f"flashpool status {status * 1e3:.1f} ms ({status / bare:.1f}x), flashpool volume checksum of a "
        f"150-track volume {digest * 1e3:.1f} ms ({digest / bare:.1f}x)"
    )
    print(f"{BATCH} QUERY commands: one batch {batch:.2f} s, {BATCH} processes {separate:.2f} s")
    result("cli_query_fresh_process_ms", one * 1e3, "<", 80, ".1f")
    result("cli_query_vs_bare_python", one / bare, "<=", 6, ".2f")
    result("cli_batch_200_queries_s", batch, "<", 2, ".2f")
    result("cli_status_vs_bare_python", status / bare, "<=", 6, ".2f")


if __name__ == "__main__":
    main()
