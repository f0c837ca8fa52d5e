"""--json is data (issue "A release people can install and script"): every command's JSON output
validates against its schema in schemas/, and the data says what the catalog says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from cli.main import main

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"

#: which schema the data of each HSM command follows, by the start of its text (a pattern; the
#: others return no data)
HSM = {
    "LIST COPYPOOL": "list-copypool",
    "LIST PVOL": "list-pvol",
    "LIST COPYPOOLBACKUPSTORAGEGROUP": "list-cpbsg",
    "QUERY COPYPOOL": "query-copypool",
    "QUERY SETSYS": "query-setsys",
    r"FRBACKUP COPYPOOL\(\S+\) EXECUTE": "frbackup-execute",
}


def schema(name: str) -> dict:
    doc = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(doc)
    return doc


def valid(doc: object, name: str) -> None:
    jsonschema.validate(doc, schema(name), cls=jsonschema.Draft202012Validator)


def run(capsys, *argv: str) -> tuple[int, list[dict]]:
    rc = main(list(argv))
    out = capsys.readouterr().out
    return rc, [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("json") / "site"
    assert main(["init", "--demo", "--json", "--quiet", str(path)]) == 0
    return path


HSM_COMMANDS = [
    "LIST COPYPOOL(PAYROLL) ALLVOLS(ALLVERS)",
    "LIST COPYPOOL",
    "LIST COPYPOOL(DSN$DB0A$DB) DATASETS",
    "LIST COPYPOOL(PAYROLL) SELECT(DUMPSTATE(ALLCOMPLETE)) DUMPVOLS",
    "LIST PVOL(PAY001)",
    "LIST COPYPOOLBACKUPSTORAGEGROUP(PAYBK)",
    "QUERY COPYPOOL(DSN$DB0A$DB)",
    "QUERY SETSYS",
    "FRBACKUP COPYPOOL(HRNIGHT) PREPARE",
    "FRBACKUP COPYPOOL(PAYROLL) EXECUTE",
    "HOLD FRBACKUP",
    "RELEASE FRBACKUP",
    "LIST COPYPOOL(NOSUCH)",
    "FRRECOV COPYPOOL(",
]


@pytest.mark.parametrize("command", HSM_COMMANDS)
def test_every_hsm_result_validates_against_its_schema(demo, capsys, command):
    rc, [doc] = run(capsys, "hsm", "--site", str(demo), "--json", command)
    valid(doc, "hsm-result")
    assert doc["rc"] == rc
    kind = next((HSM[k] for k in sorted(HSM, key=len, reverse=True) if re.match(k, doc["command"])), None)
    if kind and rc == 0:
        valid(doc["data"], kind)
    elif rc == 0:
        assert doc["data"] is None
    elif rc != 0:
        assert doc["messages"] and doc["data"] is None


def test_list_data_is_what_the_catalog_holds(demo, capsys):
    from engine.catalog import constructs as repo
    from engine.hsm import pool as pools
    from engine.site import Site

    _, [doc] = run(capsys, "--site", str(demo), "hsm", "--json", "LIST COPYPOOL(PAYROLL) ALLVOLS(ALLVERS)")
    [pool] = doc["data"]["copy_pools"]
    site = Site.open(demo)
    try:
        with site.catalog.session() as s:
            want = [
                (v.version, v.dasd_state, v.dump_state, sorted((p.source, p.target) for p in repo.pairs(s, v.id)))
                for v in pools.backups(s, "PAYROLL")
            ]
    finally:
        site.close_files()
    got = [
        (v["version"], v["state"], v["dump_state"], sorted((p["source"], p["target"]) for p in v.get("pairs", [])))
        for v in pool["versions"]
    ]
    assert got == want and got
    _, [query] = run(capsys, "--site", str(demo), "hsm", "--json", "QUERY COPYPOOL(PAYROLL)")
    assert all(0 <= r["percent_complete"] <= 100 for v in query["data"]["versions"] for r in v["relationships"])


def test_the_cli_tools_answer_in_json_and_check_a_data_set_recovery_from_outside(demo, capsys):
    rc, [listing] = run(capsys, "dataset", "list", "PAY.**", "--site", str(demo), "--json")
    valid(listing, "cli-dataset-list")
    assert rc == 0 and {d["name"] for d in listing["datasets"]} == {"PAY.MASTER.FILE", "PAY.HISTORY.G0001V00"}
    _, [before] = run(capsys, "dataset", "checksum", "PAY.MASTER.FILE", "--site", str(demo), "--json")
    valid(before, "cli-dataset-checksum")
    _, [damage] = run(capsys, "dataset", "damage", "PAY.MASTER.FILE", "--site", str(demo), "--json")
    valid(damage, "cli-dataset-damage")
    _, [hurt] = run(capsys, "dataset", "checksum", "PAY.MASTER.FILE", "--site", str(demo), "--json")
    assert hurt["sha256"] != before["sha256"]
    rc, [rec] = run(capsys, "hsm", "--site", str(demo), "--json", "FRRECOV DSNAME(PAY.MASTER.FILE) REPLACE")
    assert rc == 0, rec
    _, [after] = run(capsys, "dataset", "checksum", "PAY.MASTER.FILE", "--site", str(demo), "--json")
    assert after == before  # the recovery brought back exactly the backed-up bytes

    _, [vol] = run(capsys, "volume", "checksum", "PAY002", "--site", str(demo), "--json")
    valid(vol, "cli-volume-checksum")
    _, [dmg] = run(capsys, "volume", "damage", "PAY002", "--tracks", "3-4", "--site", str(demo), "--json")
    valid(dmg, "cli-volume-damage")
    _, [wl] = run(
        capsys,
        "workload",
        "--copypool",
        "PAYROLL",
        "--seconds",
        "0.2",
        "--rate",
        "20",
        "--seed",
        "1",
        "--site",
        str(demo),
        "--json",
    )
    valid(wl, "cli-workload")


def test_init_json_and_one_site_option_for_every_command(tmp_path, capsys):
    rc, [doc] = run(capsys, "init", "--json", "--definition", str(_definition(tmp_path)), str(tmp_path / "s"))
    valid(doc, "cli-init")
    assert rc == 0 and doc["volumes"] == 2 and doc["demo"] is False
    # --site before or after the command, the same option everywhere
    for argv in (
        ["--site", str(tmp_path / "s"), "volume", "checksum", "V1", "--json"],
        ["volume", "checksum", "V1", "--site", str(tmp_path / "s"), "--json"],
    ):
        rc, [doc] = run(capsys, *argv)
        assert rc == 0 and doc["volser"] == "V1"
    with pytest.raises(SystemExit) as usage:
        main(["volume", "checksum", "V1", "--no-such-option"])
    assert usage.value.code == 2


def _definition(tmp_path: Path) -> Path:
    p = tmp_path / "site.toml"
    p.write_text('[[volume]]\nvolser = "V1"\ntracks = 4\n[[volume]]\nvolser = "V2"\ntracks = 4\n')
    return p


def test_the_engine_logs_to_a_rotating_file_inside_the_site(tmp_path, capsys):
    """Commands and background work go to `flashpool.log` in the site (owner-only like the rest),
    at the level --log-level asks for."""
    import stat

    site = tmp_path / "s"
    assert main(["init", "--quiet", "--definition", str(_definition(tmp_path)), str(site)]) == 0
    assert not (site / "flashpool.log").exists()
    assert main(["--site", str(site), "--log-level", "WARNING", "hsm", "QUERY SETSYS"]) == 0
    assert not (site / "flashpool.log").exists()  # nothing at WARNING or above: no file
    assert main(["--site", str(site), "hsm", "QUERY SETSYS"]) == 0
    assert main(["hsm", "LIST COPYPOOL(NOSUCH)", "--site", str(site), "--log-level", "WARNING"]) == 22
    log = (site / "flashpool.log").read_text()
    assert "INFO flashpool.hsm: CLI QUERY SETSYS RC=0" in log
    assert "WARNING flashpool.hsm: CLI LIST COPYPOOL(NOSUCH) RC=22: ARC1806E" in log
    assert stat.S_IMODE((site / "flashpool.log").stat().st_mode) == 0o600
    capsys.readouterr()


def test_a_command_that_creates_the_site_logs_from_then_on(tmp_path, capsys):
    """`init --demo` seeds the demo with real commands: they are in the new site's log, and a
    refused path gets no log file (nothing is written outside a site)."""
    site = tmp_path / "demo"
    assert main(["init", "--quiet", "--demo", str(site)]) == 0
    log = (site / "flashpool.log").read_text()
    assert "flashpool.hsm:" in log and "FRBACKUP COPYPOOL(" in log
    missing = tmp_path / "nosite"
    missing.mkdir()
    assert main(["--site", str(missing), "hsm", "QUERY SETSYS"]) != 0
    assert list(missing.iterdir()) == []
    capsys.readouterr()
