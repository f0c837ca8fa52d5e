"""Issue "Nothing a user types ...": the cases it lists, each as a regression test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.command import CommandSyntaxError, parse_command
from engine.hsm.definition import parse_definition
from engine.site import Site

FLASHPOOL = [sys.executable, "-m", "console.cli"]
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str | bytes, cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([*FLASHPOOL, *args], cwd=cwd, input=stdin, capture_output=True, env=env, timeout=120)


def test_the_console_never_invents_a_site_where_one_is_missing(tmp_path):
    """Only `flashpool init` creates a site; a --site without a catalog is refused in one line."""
    real = tmp_path / "real"
    (real / "volumes").mkdir(parents=True)
    (real / "volumes" / "PAY001.img").write_bytes(b"\0" * 4096)  # a site whose catalog was lost
    for args in (["--site", str(real)], ["--site", str(real), "--read-only"], ["--site", str(tmp_path / "typo")]):
        out = run(*args, cwd=tmp_path)
        assert out.returncode == 2, out
        err = out.stderr.decode()
        assert "flashpool init --demo" in err and "Traceback" not in err
    assert sorted(p.name for p in real.iterdir()) == ["volumes"]  # nothing written next to the images
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("text", [
    "FRDELETE COPYPOOL(PAYROLL) VERSIONS(1,1,1)",
    "LIST COPYPOOL(PAYROLL) /* a comment that is never closed",
    "LIST COPYPOOL(PAY\udcffROLL)",  # argv's invalid UTF-8, as Python decodes it
])
def test_commands_that_were_accepted_but_meant_something_else(text):
    with pytest.raises(CommandSyntaxError) as err:
        parse_command(text)
    assert err.value.message_id.startswith("IKJ")


def test_invalid_utf8_in_argv_and_batch_is_a_syntax_error_and_the_batch_goes_on(tmp_path):
    site = tmp_path / "site"
    assert run("init", "--demo", str(site), cwd=tmp_path).returncode == 0
    out = run("--site", str(site), "hsm", b"LIST COPYPOOL(\xff)", cwd=tmp_path)
    assert out.returncode != 0 and b"IKJ" in out.stdout and b"Traceback" not in out.stderr
    batch = run("--site", str(site), "hsm", "-", cwd=tmp_path, stdin=b"LIST COPYPOOL(\xff)\nQUERY COPYPOOL(PAYROLL)\n")
    assert b"Traceback" not in batch.stderr
    assert b"IKJ" in batch.stdout and b"ARC" in batch.stdout.split(b"QUERY", 1)[-1]  # the next line ran


async def test_release_one_function_after_hold_all(tmp_path):
    site = Site.create(tmp_path / "s", parse_definition({"volume": [{"volser": "V1", "tracks": 4}]}))
    try:
        await site.command("HOLD ALL")
        res = await site.command("RELEASE FRBACKUP")
        assert res.rc == 0
        assert site.context.held("FRBACKUP") is None
        assert site.context.held("FRRECOV") == "FRRECOV"
        await site.command("RELEASE ALL")
        assert site.context.holds() == set()
    finally:
        await site.close()
