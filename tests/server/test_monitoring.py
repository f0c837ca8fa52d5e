"""The example monitoring in deploy/: the Prometheus alert rules pass `promtool check rules` and
their unit tests (`promtool test rules`), the Grafana dashboard is one Grafana's own dashboard
model reads whole and every query of it parses, and every flashpool metric either of them names
is one a real server exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.server.harness import ROOT, Server, cli, make_site
from tests.server.test_metrics import scrape_text

RULES = ROOT / "deploy" / "prometheus" / "flashpool-rules.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "flashpool-rules.test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "flashpool-dashboard.json"


@pytest.fixture(scope="module")
def promtool() -> str:
    """Not a skip: `make test` installs Debian's prometheus package, which has promtool."""
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: `make test` installs Debian's prometheus package (promtool)"
    return tool


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=RULES.parent)


def test_the_alert_rules_check_and_pass_their_unit_tests(promtool):
    checked = run(promtool, "check", "rules", str(RULES))
    assert checked.returncode == 0 and "7 rules found" in checked.stdout, checked
    tested = run(promtool, "test", "rules", str(RULE_TESTS))
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    assert board["title"] and board["uid"] and isinstance(board["schemaVersion"], int)
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    queries = []
    for p in board["panels"]:
        assert p["type"] in ("timeseries", "stat") and set(p["gridPos"]) == {"x", "y", "w", "h"}, p
        assert p["targets"], p["title"]
        queries += [t["expr"] for t in p["targets"]]
    return queries


def test_the_dashboard_is_one_grafanas_own_model_reads_whole():
    """Through Grafana's dashboard model (grafana-foundation-sdk, generated from Grafana's schema)
    and back: every key and value survives, so none is misspelt or misplaced for a dashboard, a
    timeseries or a stat panel (the model adds its defaults, which are left out here; the
    structure test below checks the shapes it does not)."""
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models.dashboard import Dashboard

    register_default_plugins()  # the panel types' options and field configs
    board = json.loads(DASHBOARD.read_text())
    back = json.loads(JSONEncoder().encode(Dashboard.from_json(board)))
    lost: list[str] = []

    def kept(ours: object, theirs: object, where: str) -> None:
        if isinstance(ours, dict) and isinstance(theirs, dict):
            for key, value in ours.items():
                if key not in theirs:
                    lost.append(f"{where}/{key}")
                else:
                    kept(value, theirs[key], f"{where}/{key}")
        elif isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
            for n, (a, b) in enumerate(zip(ours, theirs, strict=True)):
                kept(a, b, f"{where}[{n}]")
        elif ours != theirs:
            lost.append(f"{where}: {ours!r} read as {theirs!r}")

    kept(board, back, "")
    assert not lost, lost


def test_every_dashboard_query_parses(promtool, tmp_path):
    records = [{"record": f"flashpool:dashboard:{n}", "expr": expr} for n, expr in enumerate(dashboard_queries())]
    rules = tmp_path / "dashboard-rules.yml"
    rules.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": records}]}))  # JSON is YAML
    checked = run(promtool, "check", "rules", str(rules))
    assert checked.returncode == 0, checked


def test_every_metric_the_rules_and_the_dashboard_name_is_exported(tmp_path):
    site = make_site(tmp_path / "site")
    with Server(site):
        assert cli(site, "hsm", "QUERY COPYPOOL(PAY)").returncode == 0  # a command, and requests, counted
        text = scrape_text(site)
    exported = set()
    for family in text_string_to_metric_families(text):
        exported |= {s.name for s in family.samples} | {family.name}
    named = set(re.findall(r"\bflashpool_[a-z_]+", RULES.read_text() + " ".join(dashboard_queries())))
    assert named and not named - exported, named - exported
