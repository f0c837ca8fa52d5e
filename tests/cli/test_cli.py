"""The `flashpool` command line: init, hsm (one, batch, JSON, wait), volume checksum/damage."""

from __future__ import annotations

import io
import json

import pytest

from cli.main import main
from engine.definition import DefinitionError


@pytest.fixture
def demo(tmp_path, capsys):
    path = str(tmp_path / "site")
    assert main(["init", path, "--demo"]) == 0
    capsys.readouterr()
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_drill_backup_damage_recover_verify_by_checksum(demo, capsys):
    rc, out, _ = run(capsys, "hsm", "FRBACKUP COPYPOOL(HRNIGHT) FCINCREMENTAL", "--site", demo, "--wait")
    assert rc == 0 and "ARC1802I" in out
    _, before, _ = run(capsys, "volume", "checksum", "HR0001", "--site", demo)
    assert run(capsys, "volume", "damage", "HR0001", "--tracks", "10-20", "--site", demo)[0] == 0
    _, damaged, _ = run(capsys, "volume", "checksum", "HR0001", "--site", demo)
    assert damaged != before
    rc, out, _ = run(capsys, "hsm", "FRRECOV COPYPOOL(HRNIGHT)", "--site", demo, "--wait")
    assert rc == 0, out
    assert run(capsys, "volume", "checksum", "HR0001", "--site", demo)[1] == before


def test_json_and_batch_from_stdin(demo, capsys, monkeypatch):
    rc, out, _ = run(capsys, "hsm", "QUERY COPYPOOL(DSN$DB0A$DB)", "--json", "--site", demo)
    doc = json.loads(out)
    assert rc == 0 and doc["messages"][0]["id"] == "ARC1820I" and doc["rc"] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("LIST COPYPOOL -\n  (PAYROLL)\n* comment\n\nFRB CP(NOSUCH)\n"))
    rc, out, _ = run(capsys, "hsm", "-", "--site", demo)
    assert rc == 22 and "COPYPOOL=PAYROLL" in out and "copy pool NOSUCH is not defined" in out


def test_a_batch_whose_last_command_promises_a_continuation_does_not_run_it(demo, capsys, monkeypatch):
    """TSO's `-` at the end of the input: the command is incomplete, refused (IKJ56702I), never
    run as far as it got (here an FRBACKUP, which would have made a version)."""

    def versions() -> object:
        listed = json.loads(run(capsys, "hsm", "LIST COPYPOOL(PAYROLL)", "--json", "--site", demo)[1])
        return listed["data"]["copy_pools"]

    before = versions()
    monkeypatch.setattr("sys.stdin", io.StringIO("QUERY COPYPOOL(PAYROLL)\nFRBACKUP COPYPOOL(PAYROLL) -\n"))
    rc, out, _ = run(capsys, "hsm", "-", "--site", demo)
    assert rc == 12 and "IKJ56702I" in out and "no line follows" in out and "ARC1805I" not in out, out
    assert versions() == before


def test_errors_are_messages_not_tracebacks(tmp_path, capsys):
    rc, _, err = run(capsys, "hsm", "LIST COPYPOOL", "--site", str(tmp_path / "none"))
    assert rc == 12 and "not a flashpool site" in err and "Traceback" not in err
    rc, _, err = run(capsys, "hsm", "FRBACKUP COPYPOOL(", "--site", str(tmp_path / "none"))
    assert rc == 12
    bad = tmp_path / "bad.toml"
    bad.write_text('[[copy_pool]]\nname = "9BAD"\nversions = 86\nstorage_groups = ["NOPE"]\n')
    rc, _out, err = run(capsys, "init", str(tmp_path / "x"), "--definition", str(bad))
    assert rc == 12 and "3 problems" in err and "VERSIONS is 0 to 85" in err
    assert not (tmp_path / "x").exists()


def test_damage_and_checksum_refusals(demo, capsys):
    rc, _, err = run(capsys, "volume", "damage", "HR0001", "--tracks", "x-y", "--site", demo)
    assert rc == 12 and "--tracks takes" in err
    rc, _, err = run(capsys, "volume", "damage", "HR0001", "--tracks", "140-160", "--site", demo)
    assert rc == 12 and "outside" in err
    rc, _, err = run(capsys, "volume", "checksum", "BAD-1", "--site", demo)
    assert rc == 12 and "invalid volser" in err


def test_definition_errors_list_every_problem():
    from engine.definition import parse_definition

    with pytest.raises(DefinitionError) as info:
        parse_definition(
            {
                "storage_group": [
                    {"name": "P1", "type": "POOL", "tracks": 15, "volumes": ["V1", "V2"]},
                    {"name": "P2", "type": "POOL", "backup_group": "B1", "tracks": 15, "volumes": ["V2"]},
                    {"name": "B1", "type": "COPYPOOLBACKUP", "tracks": 30, "volumes": ["T1"]},
                ],
                "copy_pool": [{"name": "CP", "storage_groups": ["P1", "UNKNOWN"], "versions": 86}],
            }
        )
    text = str(info.value)
    for expected in (
        "P1 is a POOL group without a backup_group",
        "volume V2 is in P1 and P2",
        "names storage group UNKNOWN",
        "VERSIONS is 0 to 85",
    ):
        assert expected in text


def test_backup_group_too_small():
    from engine.definition import parse_definition

    with pytest.raises(DefinitionError, match="too small: it needs 4 volumes of 15 tracks"):
        parse_definition(
            {
                "storage_group": [
                    {"name": "P1", "type": "POOL", "backup_group": "B1", "tracks": 15, "volumes": ["V1", "V2"]},
                    {"name": "B1", "type": "COPYPOOLBACKUP", "tracks": 15, "volumes": ["T1", "T2", "T3"]},
                ],
                "copy_pool": [{"name": "CP", "storage_groups": ["P1"], "versions": 2}],
            }
        )


def test_workload_changes_data_sets_on_the_pool(demo, capsys):
    rc, out, _ = run(
        capsys, "workload", "--copypool", "HRNIGHT", "--seconds", "0.5", "--rate", "40", "--seed", "3", "--site", demo
    )
    assert rc == 0 and "allocated" in out
    rc, out, err = run(capsys, "workload", "--copypool", "NOPE", "--seconds", "0.1", "--site", demo)
    assert rc == 12 and "copy pool NOPE is not defined" in err


def test_demo_has_data_sets_a_dumped_version_and_a_running_copy(demo, capsys):
    rc, out, _ = run(capsys, "hsm", "LIST COPYPOOL(DSN$DB0A$DB) DATASETS", "--site", demo)
    assert rc == 0
    assert "DATASETS CAPTURED=00004" in out and "DB0A.LOGCOPY1.DS01" in out
    rc, out, _ = run(capsys, "hsm", "LIST COPYPOOL(PAYROLL) DUMPVOLS", "--site", demo)
    assert "DUMPCLASS=ONSITE   REQUIRED=Y DUMPSTATE=COMPLETE" in out
    _rc, out, _ = run(capsys, "hsm", "QUERY COPYPOOL(DSN$DB0A$DB)", "--site", demo)
    assert "ARC1820I" in out and "PCT-COMP=000" in out


def test_a_data_set_filter_a_recovery_would_refuse_is_refused_by_the_listing_too(demo, capsys):
    """One rule for names and filters: `dataset list 'bad..x'` listed 0 data sets with RC 0,
    while FRRECOV DSNAME(bad..x) refused the filter."""
    rc, _, err = run(capsys, "dataset", "list", "bad..x", "--site", demo)
    assert rc == 12 and "'BAD..X' is not a data set name or filter" in err, err
    rc, out, _ = run(capsys, "hsm", "FRRECOV DSNAME(bad..x)", "--site", demo)
    assert rc == 12 and "'BAD..X' is not a data set name or filter" in out, out
    rc, out, _ = run(capsys, "dataset", "list", "PAY.**", "--site", demo)
    assert rc == 0 and "PAY." in out


def test_usage_errors_of_init_and_a_batch(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        run(capsys, "hsm", "-", "--stop-on", "-1", "--site", str(tmp_path))
    assert stop.value.code == 2 and "is not a return code" in capsys.readouterr().err
    rc, _, err = run(capsys, "init", str(tmp_path / "a"), "--site", str(tmp_path / "b"))
    assert rc == 12 and "names the new site twice" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    rc, _, err = run(capsys, "init", str(tmp_path / "c"), "--site", str(tmp_path / "c"))
    assert rc == 0 and (tmp_path / "c").is_dir()
