"""Real Unix users and groups for a test (CI runs as root): made, and removed after."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def can_make_users() -> bool:
    return os.geteuid() == 0 and all(shutil.which(t) for t in ("useradd", "groupadd", "gpasswd", "runuser", "curl"))


needs_users = pytest.mark.skipif(
    not can_make_users(), reason="creating users needs root, useradd, groupadd, gpasswd, runuser and curl"
)


class Users:
    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:5]
        self._undo: list[list[str]] = []

    def group(self, name: str) -> str:
        full = f"fpl{name}{self.tag}"
        subprocess.run(["groupadd", full], check=True)
        self._undo.append(["groupdel", full])
        return full

    def user(self, name: str, *groups: str) -> str:
        full = f"fpl{name}{self.tag}"
        subprocess.run(["useradd", "-M", "-N", *(["-G", ",".join(groups)] if groups else []), full], check=True)
        self._undo.insert(0, ["userdel", full])
        return full

    def run(self, user: str, *cmd: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["runuser", "-u", user, "--", *cmd], input=stdin, capture_output=True, timeout=60)

    def python(self, user: str) -> str:
        """A Python this user may run (this test's own may live where other users cannot)."""
        for candidate in (os.path.realpath(sys.executable), "/usr/bin/python3", shutil.which("python3") or ""):
            if candidate and self.run(user, candidate, "-c", "pass").returncode == 0:
                return candidate
        pytest.skip(f"no Python that user {user} may run")

    def cleanup(self) -> None:
        for cmd in self._undo:
            subprocess.run(cmd, check=False, capture_output=True)


@contextlib.contextmanager
def users() -> Iterator[Users]:
    made = Users()
    try:
        yield made
    finally:
        made.cleanup()


@contextlib.contextmanager
def open_folder() -> Iterator[Path]:
    """A folder other users may pass through (a test's tmp_path is root's alone)."""
    base = Path(tempfile.mkdtemp(prefix="fpl-users-", dir="/tmp"))
    os.chmod(base, 0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


__all__ = ["Users", "can_make_users", "needs_users", "open_folder", "users"]
