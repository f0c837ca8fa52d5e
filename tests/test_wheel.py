"""The release as a user gets it (issue "A release people can install and script"): the wheel is
built from the committed files, installed non-editable into a fresh virtual environment with
its dependencies from the package index, and run from outside the checkout: `--version`, `init
--demo`, an HSM command, and the console headless for a few frames (its stylesheet must be in
the wheel)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONSOLE = """
import asyncio, sys
from console.app import FlashpoolApp
from engine.api import LocalSite
from engine.site import Site

async def main() -> None:
    site = Site.open(sys.argv[1])
    app = FlashpoolApp(LocalSite(site))
    async with app.run_test(size=(120, 40)) as pilot:
        for key in ("2", "3", "4", "1"):
            await pilot.press(key)
            await pilot.pause()
        print("screens:", type(app.screen).__name__, len(app.stylesheet.rules) > 0)

asyncio.run(main())
"""


def _committed_tree(dest: Path) -> None:
    """The files git knows (what a clean clone holds), so the build leaves the checkout alone."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, names.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def test_the_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    src = tmp_path / "src"
    _committed_tree(src)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"), str(src)],
        check=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    [wheel] = (tmp_path / "dist").glob("flashpool-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "console/styles/app.tcss" in names
    assert not [n for n in names if n.startswith("tests/") or n.endswith(("scenes.py", "screenshots.py"))]

    venv.create(tmp_path / "venv", with_pip=True)
    bin_ = tmp_path / "venv" / "bin"
    subprocess.run(
        [str(bin_ / "python"), "-m", "pip", "install", "-q", str(wheel)], check=True, env=env, cwd=tmp_path, timeout=600
    )

    def run(*args: str) -> str:
        out = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out
        return out.stdout

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert run(str(bin_ / "flashpool"), "--version").strip() == f"flashpool {version}"
    run(str(bin_ / "flashpool"), "init", "--demo", "site")
    assert "COPYPOOL=PAYROLL" in run(str(bin_ / "flashpool"), "--site", "site", "hsm", "LIST COPYPOOL(PAYROLL)")
    where = run(str(bin_ / "python"), "-c", "import console, engine; print(console.__file__, engine.__file__)")
    assert str(ROOT) not in where and "site-packages" in where  # the installed copy, not the checkout
    assert "screens:" in run(str(bin_ / "python"), "-c", CONSOLE, "site")
