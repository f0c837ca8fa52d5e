"""The site server under load (a real `flashpool serve` process, its Unix socket):

- what the server adds to a LIST over the same command in this process: <= 1 ms at p50 and
  <= 3 ms at p99 (#40; it was a ratio, <= 1.5x, when a LIST took 3-5 ms in-process), one client
  after the other through the lightest client (cli.thin), the console's own client reported beside;
- 50 clients at once issuing LIST/QUERY while 64 relationships copy (p95 < 100 ms);
- 20 consoles attached while 64 relationships copy: keypress-to-frame p95 of each (< 50 ms), and
  the server's event fan-out keeps up (its largest client backlog stays small, not growing).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from pathlib import Path

import aiohttp

from bench._common import result, scratch
from bench._console import FrameClock, cursor_moved, key_to_frame, p95, quantile, reloads_idle, up_and_down
from bench._server import serving
from engine.api import LocalSite
from engine.definition import parse_definition
from engine.site import Site
from server import sockets
from server.client import RemoteSite

POOLS, PER_POOL, TRACKS, TS = 8, 8, 1500, 1024
CONSOLES, PRESSES, CLIENTS, REQUESTS = 20, 12, 50, 10
LISTS = 200  # timed LISTs each way (after 10 to warm)


def definition() -> dict:
    groups, pools = [], []
    for p in range(POOLS):
        groups.append(
            {
                "name": f"SG{p}",
                "type": "POOL",
                "backup_group": "BK",
                "tracks": TRACKS,
                "track_size": TS,
                "volumes": [f"P{p}V{v:03d}" for v in range(PER_POOL)],
            }
        )
        pools.append({"name": f"POOL{p}", "storage_groups": [f"SG{p}"], "versions": 1})
    groups.append(
        {
            "name": "BK",
            "type": "COPYPOOLBACKUP",
            "tracks": TRACKS,
            "track_size": TS,
            "volumes": [f"BK{i:04d}" for i in range(POOLS * PER_POOL)],
        }
    )
    return {"storage_group": groups, "copy_pool": pools}


async def build_and_list_in_process(root: Path) -> list[float]:
    """The site, every pool backed up (64 relationships left to copy), and the in-process LIST."""
    site = Site.create(root / "site", parse_definition(definition()))
    try:
        for p in range(POOLS):
            for v in range(PER_POOL):
                vol = f"P{p}V{v:03d}"
                await site.flashcopy.write_run(vol, 0, [f"{vol} {k}".encode().ljust(TS, b"x") for k in range(TRACKS)])
            assert (await site.hsm.execute(f"FRBACKUP COPYPOOL(POOL{p})")).rc == 0
        api = LocalSite(site)
        return await _list_times(api)
    finally:
        site.close_files()


async def _list_times(api) -> list[float]:
    times = []
    for n in range(LISTS + 10):
        started = time.perf_counter()
        res = await api.command("LIST COPYPOOL(POOL0) ALLVOLS")
        if n >= 10:  # warmed
            times.append(time.perf_counter() - started)
        assert res.rc == 0, res.lines()
    return times


def thin_list_times(site: Path) -> list[float]:
    """The same LISTs through the lightest client there is (cli.thin: one kept-alive socket, HTTP
    by hand): what the server adds, without an HTTP client library's own time."""
    from cli.thin import ThinSite

    api = ThinSite(site)
    times = []
    try:
        for n in range(LISTS + 10):
            started = time.perf_counter()
            res = api.command("LIST COPYPOOL(POOL0) ALLVOLS")
            if n >= 10:
                times.append(time.perf_counter() - started)
            assert res.rc == 0, res.lines()
    finally:
        api.close()
    return times


async def many_clients(site: Path) -> list[float]:
    """CLIENTS connections at once, each a LIST or QUERY after the other."""
    latencies: list[float] = []
    with sockets.short_path(sockets.socket_path(site)) as name:

        async def client(n: int) -> None:
            async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=name)) as s:
                for k in range(REQUESTS):
                    text = f"LIST COPYPOOL(POOL{(n + k) % POOLS})" if k % 2 else f"QUERY COPYPOOL(POOL{n % POOLS})"
                    started = time.perf_counter()
                    async with s.post("http://flashpool/v1/commands", json={"text": text}) as r:
                        body = await r.json()
                    latencies.append(time.perf_counter() - started)
                    assert body["rc"] == 0, body

        await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    return latencies


async def consoles(site: Path) -> tuple[list[float], list[int], int]:
    from console.app import FlashpoolApp

    apis = [RemoteSite(site) for _ in range(CONSOLES)]
    apps = [FlashpoolApp(api, refresh_interval=1.0, warm=False) for api in apis]
    backlog: list[int] = []
    latencies: list[float] = []
    async with contextlib.AsyncExitStack() as stack:
        pilots = [await stack.enter_async_context(app.run_test(size=(130, 40))) for app in apps]
        clocks = [FrameClock(app) for app in apps]
        for app in apps:
            while not reloads_idle(app) or app.screen.table.row_count < POOLS:
                await asyncio.sleep(0.02)
        await asyncio.sleep(1.0)
        for n in range(PRESSES):
            for app, clock in zip(apps, clocks, strict=True):
                table = app.screen.table
                key = up_and_down(table, n, 4)
                latencies.append(await key_to_frame(app, clock, key, cursor_moved(table)))
                await asyncio.sleep(0.01)
            backlog.append((await asyncio.to_thread(apis[0].status)).backlog)
        copying = (await asyncio.to_thread(apis[0].status)).copies
        del pilots
    for api in apis:
        await api.close()
    return latencies, backlog, copying


def main() -> None:
    with scratch("server") as root:
        inproc = asyncio.run(build_and_list_in_process(root))
        site = root / "site"
        with serving(site, copy_rate=40):
            api = RemoteSite(site)
            remote = asyncio.run(_list_times(api))
            api.close_now()
            thin = thin_list_times(site)
            clients = asyncio.run(many_clients(site))
            lat, backlog, copying = asyncio.run(consoles(site))
    added_p50 = statistics.median(thin) - statistics.median(inproc)
    added_p99 = quantile(thin, 0.99) - quantile(inproc, 0.99)
    print(
        f"LIST COPYPOOL ALLVOLS of 8 volumes, {LISTS} each: in-process p50 {statistics.median(inproc) * 1000:.2f} ms "
        f"p99 {quantile(inproc, 0.99) * 1000:.2f} ms, through the server (cli.thin's socket) p50 "
        f"{statistics.median(thin) * 1000:.2f} ms p99 {quantile(thin, 0.99) * 1000:.2f} ms (the console's client, "
        f"aiohttp on its own loop: p50 {statistics.median(remote) * 1000:.2f} ms p99 {quantile(remote, 0.99) * 1000:.2f} "
        f"ms); {CLIENTS} clients x {REQUESTS} LIST/QUERY at once: "
        f"p95 {p95(clients) * 1000:.1f} ms (max {max(clients) * 1000:.1f}); {CONSOLES} consoles x {PRESSES} presses "
        f"with {copying} relationships copying: p95 {p95(lat) * 1000:.1f} ms (max {max(lat) * 1000:.1f}); "
        f"event backlog samples {backlog}"
    )
    # what the server adds to a request, in absolute terms (#40 restated the 1.5x ratio, set when
    # a LIST took 3-5 ms in-process and not 0.9)
    result("server_adds_to_a_list_p50_ms", added_p50 * 1000, "<=", 1, ".2f")
    result("server_adds_to_a_list_p99_ms", added_p99 * 1000, "<=", 3, ".2f")
    result("server_50_clients_list_query_p95_ms", p95(clients) * 1000, "<", 100, ".1f")
    result("server_20_consoles_key_p95_ms", p95(lat) * 1000, "<", 50, ".1f")
    result("server_event_backlog_max", max(backlog), "<", 200, "d")
    result("server_copies_running_during_consoles", copying, ">=", 1, "d")


if __name__ == "__main__":
    main()
