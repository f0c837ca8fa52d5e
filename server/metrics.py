"""`GET /metrics`: the site for Prometheus, in its own exposition format (prometheus-client).

What a scrape reads is asked of the API as the scraper (so it sees only the copy pools its
profiles let it LIST, as every route does): the status, the pools' summaries, every version (in one
read), and the alerts. What only the server knows — request latencies, commands by function and return
code — it counts itself; commands per copy pool, so that a scraper is told only of those on copy
pools it may LIST. The recovery point objective is a gauge: the age of the newest
recoverable version of each pool, and of the newest COMPLETE dump copy of each dump class.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from engine.api import SiteAPI
from engine.command import CommandSyntaxError, parse_command
from engine.security.guard import command_check
from engine.states import ClassState
from engine.visibility import Visibility

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class ServerCounts:
    """What the server counts across scrapes (one registry per server: tests run several)."""

    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry(auto_describe=True))

    def __post_init__(self) -> None:
        self.requests = Histogram(
            "flashpool_request_seconds",
            "Time to answer an API request, by route",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
        )
        #: (function, return code, the copy pool the command names) -> commands run
        self.commands: dict[tuple[str, str, str | None], int] = {}

    def command(self, text: str, rc: int) -> None:
        key = ((text.split() or ["?"])[0].upper(), str(rc), _pool_named(text))
        self.commands[key] = self.commands.get(key, 0) + 1

    def commands_seen(self, seen: Visibility) -> CounterMetricFamily:
        """The commands run on copy pools `seen` shows, by function and return code. A scraper
        that may not LIST every copy pool is not told of commands on none (what a data set's or a
        volume's recovery, or the site's own commands, reach only the catalog knows)."""
        totals: dict[tuple[str, str], int] = {}
        for (function, rc, pool), n in list(self.commands.items()):  # a copy: the loop counts on
            if seen.everything or (pool is not None and seen.pool(pool)):
                totals[function, rc] = totals.get((function, rc), 0) + n
        family = CounterMetricFamily(
            "flashpool_commands",
            "HSM commands run through the server, by function and return code",
            labels=["function", "rc"],
        )
        for labels, n in sorted(totals.items()):
            family.add_metric(list(labels), n)
        return family


def _pool_named(text: str) -> str | None:
    """The copy pool a command names, as its profile check takes it (None: it names none, a
    volume's copy pool is the catalog's word, or the text is no command)."""
    try:
        return command_check(parse_command(text), lambda _volser: None).copy_pool
    except CommandSyntaxError:
        return None


class SiteCollector(Collector):
    """The site's state at the moment of the scrape, as one caller may see it."""

    def __init__(self, api: SiteAPI) -> None:
        self.api = api

    def collect(self) -> Iterator[Metric]:  # blocking: the scrape runs it in a worker thread
        api = self.api
        st = api.status()
        now = st.clock
        up = GaugeMetricFamily("flashpool_up", "1 while the site's server answers", labels=["site"])
        up.add_metric([st.site], 1)
        yield up
        yield _gauge(
            "flashpool_durable", "1 when every promise is kept through a power cut", [], [([], int(st.durable))]
        )
        yield _gauge("flashpool_server_start_time_seconds", "When the server started", [], [([], st.started_at)])
        yield _gauge("flashpool_clients", "Clients attached to the event stream", [], [([], st.clients)])
        yield _gauge("flashpool_copies_parked", "Background copies parked on an error", [], [([], len(st.parked))])
        yield _gauge("flashpool_background_dumps", "Background dumps still running", [], [([], st.background)])
        pools = api.pools()
        yield _gauge(
            "flashpool_pool_copies_running",
            "Relationships of the pool still copying",
            ["pool"],
            [([p.name], p.copying) for p in pools],
        )
        yield _gauge(
            "flashpool_pool_tracks_left",
            "Tracks the pool's background copies have left",
            ["pool"],
            [([p.name], p.out_of_sync) for p in pools],
        )
        by_state: dict[tuple[str, str], int] = {}
        newest: dict[str, float] = {}
        dumped: dict[str, float] = {}
        for v in api.every_version():
            if not v.is_backup:
                continue
            key = (v.copy_pool, v.dasd_state.value)
            by_state[key] = by_state.get(key, 0) + 1
            if v.recoverable:
                newest[v.copy_pool] = max(newest.get(v.copy_pool, 0.0), v.created_at)
            for dump_class, state in v.dump_copies:
                if state is ClassState.COMPLETE:
                    dumped[dump_class] = max(dumped.get(dump_class, 0.0), v.created_at)
        yield _gauge(
            "flashpool_pool_versions",
            "Versions of the pool by DASD state",
            ["pool", "state"],
            [(list(k), n) for k, n in sorted(by_state.items())],
        )
        yield _gauge(
            "flashpool_pool_recovery_point_age_seconds",
            "Age of the pool's newest recoverable version (its recovery point)",
            ["pool"],
            [([name], now - at) for name, at in sorted(newest.items())],
        )
        yield _gauge(
            "flashpool_pool_recoverable",
            "1 when the pool has a recoverable version",
            ["pool"],
            [([p.name], int(p.name in newest)) for p in pools],
        )
        yield _gauge(
            "flashpool_dump_class_newest_complete_age_seconds",
            "Age of the point in time of the newest COMPLETE dump copy of the dump class",
            ["dump_class"],
            [([name], now - at) for name, at in sorted(dumped.items())],
        )
        unacknowledged: dict[str, int] = {}
        for a in api.alerts():
            if a.acknowledged_at is None:
                unacknowledged[a.severity.value] = unacknowledged.get(a.severity.value, 0) + 1
        yield _gauge(
            "flashpool_alerts_unacknowledged",
            "Alerts no one has acknowledged, by severity",
            ["severity"],
            [([sev], n) for sev, n in sorted(unacknowledged.items())],
        )


def _gauge(name: str, doc: str, labels: list[str], samples: list[tuple[list[str], float]]) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, doc, labels=labels)
    for values, value in samples:
        g.add_metric(values, value)
    return g


class _Made(Collector):
    """Metric families made for one scrape."""

    def __init__(self, *families: Metric) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


def render(api: SiteAPI, counts: ServerCounts, seen: Visibility) -> bytes:
    """The exposition text for this caller (`seen`: what it may see): the site as it may see it,
    and the server's counts."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SiteCollector(api))
    started = time.perf_counter()
    site = generate_latest(registry)
    took = time.perf_counter() - started
    scrape = (
        "# HELP flashpool_scrape_seconds Time to read the site for this scrape\n"
        "# TYPE flashpool_scrape_seconds gauge\n"
        f"flashpool_scrape_seconds {took:.6f}\n"
    ).encode()
    commands = CollectorRegistry(auto_describe=False)
    commands.register(_Made(counts.commands_seen(seen)))
    return site + scrape + generate_latest(counts.registry) + generate_latest(commands)


__all__ = ["CONTENT_TYPE", "ServerCounts", "render"]
