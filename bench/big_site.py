"""The 20,000-volume site of `bench.sites` (500 copy pools, 85 versions of the largest, 10,006
FlashCopy relationships still to copy): how long it takes to build and to open, LIST COPYPOOL
of the largest pool in-process and through a running server, and the server's memory while its
copies run.

Goals (#17): LIST COPYPOOL < 50 ms; the server's RSS with the site open and >= 256 copies
running < 1 GB. Baseline, same run: LIST of a one-version pool on the same site.
Goal (#40): a Prometheus scrape of `/metrics` < 100 ms, with its ratio to a `/v1/status` read of
the same server in the same run.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import statistics
from pathlib import Path

from bench import sites
from bench._common import Timer, result, scratch
from bench._server import serving
from engine.api import LocalSite, SiteAPI
from engine.site import Site
from server import sockets
from server.client import RemoteSite

RUNS = 20


async def _median(api: SiteAPI, text: str) -> float:
    times = []
    for n in range(RUNS + 3):
        with Timer() as t:
            res = await api.command(text)
        assert res.rc == 0, res.lines()
        if n >= 3:
            times.append(t.seconds)
    return statistics.median(times)


async def in_process(path: Path) -> tuple[float, float, float]:
    """(open seconds, LIST of the largest pool, LIST of a small one)."""
    with Timer() as opened:
        site = Site.open(path)
    try:
        api = LocalSite(site)
        return (
            opened.seconds,
            await _median(api, f"LIST COPYPOOL({sites.LARGEST})"),
            await _median(api, f"LIST COPYPOOL({sites.pool_name(1)})"),
        )
    finally:
        site.close_files()


class _UnixHTTP(http.client.HTTPConnection):
    """A plain HTTP client on the site's socket: what a Prometheus scraper (through a local
    exporter or socket proxy) sends, without this process's API client in the way."""

    def __init__(self, path: str) -> None:
        super().__init__("flashpool")
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def scrape_ms(site: Path, route: str) -> float:
    """The median time to GET `route` (whole body read) over one kept-alive connection."""
    with sockets.short_path(sockets.socket_path(site)) as name:
        conn = _UnixHTTP(name)
        times = []
        for n in range(RUNS + 3):
            with Timer() as t:
                conn.request("GET", route)
                answer = conn.getresponse()
                body = answer.read()
            assert answer.status == 200 and body, (answer.status, body[:200])
            if n >= 3:
                times.append(t.seconds)
        conn.close()
    return statistics.median(times) * 1000


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def main() -> None:
    with scratch("big-site") as root:
        path = root / "site"
        with Timer() as built:
            asyncio.run(sites.build(path))
        opened, big, small = asyncio.run(in_process(path))
        with serving(path, copy_rate=2000) as server:
            api = RemoteSite(path)
            try:
                remote = asyncio.run(_median(api, f"LIST COPYPOOL({sites.LARGEST})"))
                # host writes land on the largest pool while the copies run: every relationship
                # they touch (and each one the copiers start) has real track maps from now on
                load = asyncio.run(api.workload(sites.LARGEST, rate=200, seconds=10, seed=17))
                status = api.status()
                rss = rss_mb(server.pid)
                metrics, baseline = scrape_ms(path, "/metrics"), scrape_ms(path, "/v1/status")
            finally:
                api.close_now()
    print(
        f"{sites.volume_count():,} volumes, {sites.POOLS} copy pools: built in {built.seconds:.1f} s, "
        f"opened in {opened:.2f} s; LIST COPYPOOL({sites.LARGEST}) ({sites.VERSIONS} versions x {sites.LARGE:,} "
        f"volumes) {big * 1000:.1f} ms in-process, {remote * 1000:.1f} ms through the server "
        f"(a one-version pool: {small * 1000:.1f} ms); server RSS {rss:,.0f} MB with {status.copies:,} copies running "
        f"after {load.allocated + load.updated + load.deleted} host data set operations on {sites.LARGEST}"
    )
    result("big_site_list_largest_ms", big * 1000, "<", 50, ".1f")
    result("big_site_list_largest_through_server_ms", remote * 1000, "<", 50, ".1f")
    result("big_site_server_rss_mb", rss, "<", 1024, ".0f")
    result("big_site_copies_running", status.copies, ">=", 256, "d")
    print(
        f"GET /metrics (500 pools, their versions, the alerts) {metrics:.1f} ms, GET /v1/status {baseline:.1f} ms "
        f"(ratio {metrics / baseline:.1f}), copies running"
    )
    result("big_site_metrics_scrape_ms", metrics, "<", 100, ".1f")


if __name__ == "__main__":
    main()
