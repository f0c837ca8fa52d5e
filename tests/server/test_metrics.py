"""GET /metrics: the site for Prometheus, through a real server, as the scraper may see it: the
recovery point of each pool, versions by state, copies and tracks left, dump ages, alerts, request
latencies and commands by function and RC; parsed with prometheus-client's own parser."""

from __future__ import annotations

import http.client
import socket

from prometheus_client.parser import text_string_to_metric_families

from server import sockets
from tests.server.harness import Server, cli, make_site


def scrape_text(site) -> str:
    class Unix(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(str(sockets.socket_path(site)))

    conn = Unix("flashpool", timeout=30)
    conn.request("GET", "/metrics")
    answer = conn.getresponse()
    text = answer.read().decode()
    assert answer.status == 200 and answer.getheader("Content-Type", "").startswith("text/plain"), text
    return text


def scrape(site) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = scrape_text(site)
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_say_the_recovery_point_and_what_runs(tmp_path):
    site = make_site(tmp_path / "site")
    with Server(site, "--copy-rate", "20"):
        before = scrape(site)
        assert before[("flashpool_up", (("site", "site"),))] == 1
        assert before[("flashpool_pool_recoverable", (("pool", "PAY"),))] == 0
        assert ("flashpool_pool_recovery_point_age_seconds", (("pool", "PAY"),)) not in before
        assert cli(site, "hsm", "FRBACKUP COPYPOOL(PAY) EXECUTE DUMP").returncode == 0
        assert cli(site, "hsm", "FRBACKUP COPYPOOL(NOSUCH)").returncode > 4
        after = scrape(site)
        assert after[("flashpool_pool_recoverable", (("pool", "PAY"),))] == 1
        age = after[("flashpool_pool_recovery_point_age_seconds", (("pool", "PAY"),))]
        assert 0 <= age < 60
        assert after[("flashpool_pool_versions", (("pool", "PAY"), ("state", "RECOVERABLE")))] == 1
        assert after[("flashpool_pool_copies_running", (("pool", "PAY"),))] > 0  # throttled: still copying
        assert after[("flashpool_pool_tracks_left", (("pool", "PAY"),))] > 0
        ran = {k[1]: v for k, v in after.items() if k[0] == "flashpool_commands_total"}
        assert ran[(("function", "FRBACKUP"), ("rc", "0"))] == 1 and any(dict(labels)["rc"] != "0" for labels in ran), (
            ran
        )
        latencies = [v for k, v in after.items() if k[0] == "flashpool_request_seconds_count"]
        assert latencies and sum(latencies) >= 2
