"""Throughput of the plex (issue 41): the same workload, FRBACKUP ... FORCE of two copy pools by two clients
at once (a batch step each), against one host, then with the second client on a second host.

Today one host drives the site and the others stand by and forward to it, so the second host adds
forwarding, not capacity: this measures what that costs, against the goal the issue sets for
hosts that each drive their own pools (>= 1.6x, not built yet; the RESULT line says so when missed).
Both runs on PostgreSQL, durable, in a cluster of its own. It reports the cores the servers,
PostgreSQL and the clients kept busy in each run: the most any number of hosts could give on the
machine, at the same CPU per command, is its cores over those of the one-host run."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench._common import result, scratch
from tests.pg import Cluster
from tests.server.harness import ROOT, env, make_site, plex_of_two

COMMANDS = 40  # FRBACKUPs per client


TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its children it reaped and its live children, all the way down."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):  # it ended meanwhile
        return 0.0
    own = sum(int(t) for t in fields[11:15]) / TICK  # utime, stime, cutime, cstime
    children = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p) == pid]
    return own + sum(tree_cpu(c) for c in children)


def _parent(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return None


def cpu_seconds(pids: list[int]) -> float:
    """What the servers and the database used, and the clients this process waited for."""
    clients = resource.getrusage(resource.RUSAGE_CHILDREN)
    return sum(tree_cpu(p) for p in pids) + clients.ru_utime + clients.ru_stime


def clients(site: Path, systems: tuple[str | None, str | None], pids: list[int]) -> tuple[float, float]:
    """Seconds for both clients' batches, run at once (each client backs up its own pool), and the
    cores that the servers (`pids`), PostgreSQL and the clients kept busy meanwhile."""
    used = cpu_seconds(pids)
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
    took = time.perf_counter() - started
    return took, (cpu_seconds(pids) - used) / took


def main() -> None:
    cluster = Cluster(settings=("max_connections=50",))
    cluster.start()
    try:
        with scratch("plex-throughput") as root:
            site = make_site(root / "site", catalog_url=cluster.url(cluster.create_database()))
            first, second = plex_of_two(site)
            postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
            pids = [first.pid, second.pid, postmaster]
            clients(site, (None, None), pids)  # warm
            one, cores_one = min(clients(site, (None, None), pids) for _ in range(2))
            two, cores_two = min(clients(site, (None, "SYS2"), pids) for _ in range(2))
            second.stop()
            first.stop()
        rate_one, rate_two = 2 * COMMANDS / one, 2 * COMMANDS / two
        cores = len(os.sched_getaffinity(0))  # the cores this process may use
        print(
            f"2 x {COMMANDS} FRBACKUPs: one host {rate_one:.1f} commands/s; the second client through a standby "
            f"host {rate_two:.1f} commands/s (one host drives the site; the other forwards)"
        )
        print(
            f"the servers, PostgreSQL and the clients kept {cores_one:.2f} of the machine's {cores} cores busy in the "
            f"one-host run, {cores_two:.2f} in the other: at the same CPU per command, no number of hosts could give "
            f"more than {cores / cores_one:.2f}x on this machine"
        )
        result("plex_two_hosts_throughput_ratio", rate_two / rate_one, ">=", 1.6, ".2f")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
