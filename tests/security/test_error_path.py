"""One error path through the server: a command that is not text gets the in-process IKJ56702I and
return code and is logged and audited; a full disk says the disk is full, never that an intact
catalog is damaged; a log that cannot be written costs one line, never logging's traceback."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from engine import logs
from engine.catalog.store import CatalogCorrupt, unusable
from engine.messages import resource_problem
from tests.server.harness import ROOT, Server, cli, env, make_site

NOT_TEXT = b"LIST COPYPOOL(PAY\xff)\n"


def _hsm_stdin(site: Path, data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "cli", "hsm", "-", "--site", str(site)],
        input=data,
        capture_output=True,
        env=env(),
        cwd=ROOT,
        timeout=120,
    )


def test_a_command_that_is_not_text_gets_the_same_answer_through_the_server(tmp_path):
    site = make_site(tmp_path / "site")
    alone = _hsm_stdin(site, NOT_TEXT)
    assert alone.returncode == 12 and b"IKJ56702I byte X'FF' is not text" in alone.stdout, alone
    with Server(site):
        served = _hsm_stdin(site, NOT_TEXT)
    assert (served.returncode, served.stdout) == (alone.returncode, alone.stdout), served
    with contextlib.closing(sqlite3.connect(site / "catalog.db")) as c:
        rows = c.execute("SELECT origin, action, decision, return_code FROM audit WHERE action LIKE 'LIST%'").fetchall()
    assert rows == [("CLI", "LIST COPYPOOL(PAY\\xff)", "REJECTED", 12)] * 2, rows
    log = (site / "flashpool.log").read_text()
    assert log.count("IKJ56702I") == 2 and "LIST COPYPOOL(PAY\\xff)" in log


def test_a_full_file_system_is_named_as_such_never_as_damage(tmp_path, monkeypatch):
    """SQLite says only "disk I/O error" when it cannot grow its journal on a full disk."""
    from sqlalchemy.exc import OperationalError

    from engine import diskspace

    io = OperationalError("COMMIT", {}, sqlite3.OperationalError("disk I/O error"))
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    monkeypatch.setattr(diskspace, "free_bytes", lambda path: 0)
    assert "full (ENOSPC" in str(unusable(url, io)) and "no space left" in resource_problem(io, tmp_path)
    monkeypatch.setattr(diskspace, "free_bytes", lambda path: 10 << 30)
    said = unusable(url, io)
    assert not isinstance(said, CatalogCorrupt) and "I/O error" in str(said) and "restore" not in str(said)
    assert "damaged" not in resource_problem(io, tmp_path)
    assert isinstance(unusable(url, sqlite3.DatabaseError("file is not a database")), CatalogCorrupt)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="mounting a small tmpfs needs root")
def test_a_real_full_disk_through_the_server_and_in_process():
    mount = Path(tempfile.mkdtemp(prefix="fpl-full-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8M", "tmpfs", str(mount)], check=True)
    try:
        site = make_site(mount / "site")
        with Server(site):
            with contextlib.suppress(OSError), open(mount / "filler", "wb") as f:  # closing flushes: ENOSPC too
                while True:
                    f.write(b"\0" * (1 << 16))
            for text in ("FRBACKUP COPYPOOL(PAY)", "HOLD FRBACKUP"):
                out = cli(site, "hsm", text)
                said = out.stdout + out.stderr
                assert out.returncode == 12 and "no space left" in said and "(ENOSPC)" in said, said
                assert "damaged" not in said and "restore it" not in said and "Traceback" not in said, said
        out = cli(site, "hsm", "LIST COPYPOOL(PAY)")
        said = out.stdout + out.stderr  # in-process: a LIST still answers, and says what it could not log
        assert "full" in said or "no space left" in said, said
        assert "damaged" not in said and "restore it" not in said and "Traceback" not in said, said
        (mount / "filler").unlink()
        assert cli(site, "audit", "verify").returncode == 0  # intact, as it said
    finally:
        subprocess.run(["umount", str(mount)], check=False)
        shutil.rmtree(mount, ignore_errors=True)


def test_a_log_that_cannot_be_written_costs_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    site = make_site(tmp_path / "site")
    handler = logs.to_site(site)
    log = logging.getLogger("flashpool.test")
    target = handler.target  # type: ignore[attr-defined]

    def full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(target, "shouldRollover", full)
    try:
        for n in range(5):
            log.warning("line %d", n)
    finally:
        logs.detach(handler)
    err = capsys.readouterr().err
    assert err.count("cannot be written (No space left on device)") == 1, err
    assert "Traceback" not in err and "Logging error" not in err
