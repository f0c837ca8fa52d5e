"""Real Unix users for the tests that check who the kernel says a client is: made for one test
(root, useradd, groupadd, runuser and curl; CI runs as root) and removed after it. Their client
is curl, run as the user: the tests' Python lives where other users cannot run it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

TOOLS = ("useradd", "groupadd", "runuser", "curl")

needs_users = pytest.mark.skipif(
    not (os.geteuid() == 0 and all(shutil.which(t) for t in TOOLS)),
    reason="creating users needs root, useradd, groupadd, runuser and curl (CI runs as root)",
)


@contextlib.contextmanager
def unix_users(group: str, users: dict[str, bool]) -> Iterator[Path]:
    """`group` and each user (True: a member of it), and a folder other users may enter, for
    the site; all removed at the end."""
    base = Path(tempfile.mkdtemp(prefix="fpl-users-", dir="/tmp"))
    made: list[list[str]] = []
    try:
        subprocess.run(["groupadd", group], check=True)
        made.append(["groupdel", group])
        for user, member in users.items():
            subprocess.run(["useradd", "-M", "-N", *(["-G", group] if member else []), user], check=True)
            made.insert(0, ["userdel", user])
        os.chmod(base, 0o755)
        yield base
    finally:
        for cmd in made:
            subprocess.run(cmd, check=False)
        shutil.rmtree(base, ignore_errors=True)


def curl(user: str, sock: Path | str, method: str, path: str, body: object = None) -> subprocess.CompletedProcess[str]:
    """One request to the server's socket as `user`."""
    cmd = ["runuser", "-u", user, "--", "curl", "-s", "--unix-socket", str(sock), "-X", method]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    return subprocess.run([*cmd, f"http://flashpool{path}"], capture_output=True, text=True)


def curl_json(user: str, sock: Path | str, method: str, path: str, body: object = None) -> object:
    """The JSON answer of one request as `user` (curl itself must succeed)."""
    out = curl(user, sock, method, path, body)
    out.check_returncode()
    return json.loads(out.stdout)
