"""Throughput of the plex (issue 41): the same workload, FRBACKUP ... FORCE of two copy pools by two clients
at once (a batch step each), against one host, then with the second client on a second host.

Today one host drives the site and the others stand by and forward to it, so the second host adds
forwarding, not capacity: this measures what that costs, against the goal the issue sets for
hosts that each drive their own pools (>= 1.6x, not built yet; the RESULT line says so when missed).
Both runs on PostgreSQL, durable, in a cluster of its own."""

from __future__ import annotations

import subprocess
import sys
import time

from bench._common import result, scratch
from tests.pg import Cluster
from tests.server.harness import ROOT, env, make_site, plex_of_two

COMMANDS = 40  # FRBACKUPs per client


def clients(site, systems: tuple[str | None, str | None]) -> float:
    """Seconds for both clients' batches, run at once; each client backs up its own pool."""
    started = time.perf_counter()
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "cli", "hsm", "-", "--quiet", "--site", str(site)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env(system),
            cwd=ROOT,
            text=True,
        )
        for system in systems
    ]
    for run, pool in zip(runs, ("PAY", "HR"), strict=True):
        assert run.stdin is not None
        run.stdin.write(f"FRBACKUP COPYPOOL({pool}) FORCE\n" * COMMANDS)  # rolls off a version still copying
        run.stdin.flush()
    for run in runs:
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, (out[-2000:], err[-2000:])
    return time.perf_counter() - started


def main() -> None:
    cluster = Cluster(settings=("max_connections=50",))
    cluster.start()
    try:
        with scratch("plex-throughput") as root:
            site = make_site(root / "site", catalog_url=cluster.url(cluster.create_database()))
            first, second = plex_of_two(site)
            clients(site, (None, None))  # warm
            one = min(clients(site, (None, None)) for _ in range(2))
            two = min(clients(site, (None, "SYS2")) for _ in range(2))
            second.stop()
            first.stop()
        rate_one, rate_two = 2 * COMMANDS / one, 2 * COMMANDS / two
        print(
            f"2 x {COMMANDS} FRBACKUPs: one host {rate_one:.1f} commands/s; the second client through a standby "
            f"host {rate_two:.1f} commands/s (one host drives the site; the other forwards)"
        )
        result("plex_two_hosts_throughput_ratio", rate_two / rate_one, ">=", 1.6, ".2f")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
