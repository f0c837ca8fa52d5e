"""GET /metrics: the site for Prometheus, through a real server, as the scraper may see it: the
recovery point of each pool, versions by state, copies and tracks left, dump ages, alerts, request
latencies and commands by function and RC; parsed with prometheus-client's own parser."""

from __future__ import annotations

import asyncio
import http.client
import socket
import ssl
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from engine.api import Change, SecurityChange
from engine.security import Access
from server import sockets
from tests.security.test_route_matrix import _tokens
from tests.server.harness import Server, as_owner, cli, free_port, make_site, tls_files


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


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parsed(text: str) -> Samples:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def scrape(site) -> Samples:
    return parsed(scrape_text(site))


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


def scrape_as(port: int, token: str, ca: Path) -> Samples:
    """A scrape as Prometheus makes it: over TLS, with a user's API token."""
    conn = http.client.HTTPSConnection(
        "127.0.0.1", port, context=ssl.create_default_context(cafile=str(ca)), timeout=30
    )
    try:
        conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {token}"})
        answer = conn.getresponse()
        text = answer.read().decode()
    finally:
        conn.close()
    assert answer.status == 200, text
    return parsed(text)


def test_commands_are_counted_only_for_a_scraper_that_may_list_their_copy_pool(tmp_path):
    """A scraper refused LIST of HR is not told of commands on HR; one that may LIST no copy pool,
    nor of commands on no copy pool (a data set's, a volume's, the site's), is told of none."""
    site, tls, port = make_site(tmp_path / "site"), tls_files(tmp_path), free_port()
    with Server(site, "--listen", f"127.0.0.1:{port}", "--tls-cert", str(tls["cert"]), "--tls-key", str(tls["key"])):
        tokens = _tokens(site, {"ivan": "monitor", "rita": "monitor", "bob": "monitor"})
        asyncio.run(
            as_owner(
                site,
                *[
                    change
                    for profile, refused in (
                        ("STGADMIN.ARC.LIST.*", ["bob"]),
                        ("STGADMIN.ARC.LIST.HR", ["bob", "rita"]),
                    )
                    for change in (
                        SecurityChange(Change.DEFINE, profile=profile),  # UACC(NONE)
                        SecurityChange(Change.PERMIT, profile=profile, name="*", access=Access.READ),
                        *[SecurityChange(Change.PERMIT, profile=profile, name=u, access=Access.NONE) for u in refused],
                    )
                ],
            )
        )
        for text in ("FRBACKUP COPYPOOL(HR)", "FRBACKUP COPYPOOL(PAY)", "QUERY SETSYS"):
            assert cli(site, "hsm", text).returncode == 0, text

        def commands(user: str) -> dict[tuple[str, str], float]:
            scraped = scrape_as(port, tokens[user], tls["ca"])
            return {
                (dict(labels)["function"], dict(labels)["rc"]): value
                for (name, labels), value in scraped.items()
                if name == "flashpool_commands_total"
            }

        assert commands("ivan") == {("FRBACKUP", "0"): 2, ("QUERY", "0"): 1}
        assert commands("rita") == {("FRBACKUP", "0"): 1}  # PAY's
        assert commands("bob") == {}
