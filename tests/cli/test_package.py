"""The `flashpool` command is the package cli/: `python -m cli` runs it, and only opening the
console loads the console (Textual); every other command runs without it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_python_m_cli_is_the_flashpool_command(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "cli", "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and out.stdout.startswith("usage: flashpool"), out


def test_commands_other_than_the_console_do_not_load_textual(tmp_path):
    site = tmp_path / "site"
    out = _python(
        "import sys\n"
        "from cli.main import main\n"
        f"assert main(['init', {str(site)!r}, '--quiet']) == 0\n"
        f"assert main(['--site', {str(site)!r}, 'hsm', 'LIST COPYPOOL', '--quiet']) == 0\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'console'))\n"
        "print(loaded)\n",
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
