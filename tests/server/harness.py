"""A small site and a real `flashpool serve` process on it, and the CLI as a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

from engine.api import SecurityChange
from engine.definition import parse_definition
from engine.messages import CommandResult
from engine.site import Site
from server import sockets

TRACKS, TS = 200, 1024
PAY = ["PAY001", "PAY002"]
HR = ["HR0001"]
TARGETS = [f"BK{i:04d}" for i in range(12)]
ROOT = Path(__file__).resolve().parents[2]

DEFINITION = {
    "dump_class": [{"name": "ONSITE", "fast_replication_dump": "REQUIRED"}],
    "storage_group": [
        {"name": "PAYSG", "type": "POOL", "backup_group": "BK", "tracks": TRACKS, "track_size": TS, "volumes": PAY},
        {"name": "HRSG", "type": "POOL", "backup_group": "BK", "tracks": TRACKS, "track_size": TS, "volumes": HR},
        {"name": "BK", "type": "COPYPOOLBACKUP", "tracks": TRACKS, "track_size": TS, "volumes": TARGETS},
    ],
    "copy_pool": [
        {"name": "PAY", "storage_groups": ["PAYSG"], "versions": 2, "dump_classes": [{"name": "ONSITE"}]},
        {"name": "HR", "storage_groups": ["HRSG"], "versions": 2},
    ],
}


def data(volser: str, generation: int) -> list[bytes]:
    return [f"{volser} g{generation} t{i}".encode().ljust(TS, b".") for i in range(TRACKS)]


def make_site(path: Path, catalog_url: str | None = None, **extra: object) -> Path:
    site = Site.create(path, parse_definition({**DEFINITION, **extra}), catalog_url=catalog_url)

    async def fill() -> None:
        for v in PAY + HR:
            await site.flashcopy.write_run(v, 0, data(v, 0))

    try:
        asyncio.run(fill())
    finally:
        site.close_files()
    return path


def env(system: str | None = None) -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT)
    e.pop("FLASHPOOL_STRICT_LOOP", None)
    e.pop("FLASHPOOL_SYSTEM", None)
    if system is not None:
        e["FLASHPOOL_SYSTEM"] = system
    return e


def cli(
    site: Path, *args: str, check: bool = False, user: str | None = None, system: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI as a process; `system`: through that host of the plex (FLASHPOOL_SYSTEM)."""
    cmd = [sys.executable, "-m", "cli", *args, "--site", str(site)]
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env(system), cwd=ROOT, timeout=120)
    if check:
        assert out.returncode == 0, out
    return out


class Server:
    """`flashpool serve` as a child process (one a test left running is killed after it:
    tests/server/conftest.py)."""

    running: ClassVar[set[Server]] = set()

    def __init__(self, site: Path, *args: str) -> None:
        self.site = site
        self.args = args
        self.proc: subprocess.Popen[str] | None = None
        self.log = site.parent / f"{site.name}-server.log"

    def start(self, timeout: float = 30.0) -> Server:
        f = open(self.log, "a")  # noqa: SIM115 - the child writes it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--site", str(self.site), "--no-auto-dump", *self.args],
            stdout=f,
            stderr=f,
            env=env(),
            cwd=ROOT,
            text=True,
        )
        f.close()
        Server.running.add(self)
        deadline = time.monotonic() + timeout
        while not sockets.listening(self.site):
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited {self.proc.returncode}: {self.log.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the server did not listen: {self.log.read_text()}")
            time.sleep(0.05)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        self.proc = None
        Server.running.discard(self)
        return rc

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.stop()


def tls_files(folder: Path) -> dict[str, Path]:
    """A CA, and a certificate and key for 127.0.0.1 it signed, as PEM files in `folder`."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = {k: folder / f"{k}.pem" for k in ("ca", "cert", "key")}
    ca.cert_pem.write_to_path(paths["ca"])
    cert.private_key_pem.write_to_path(paths["key"])
    with open(paths["cert"], "wb") as f:
        for pem in cert.cert_chain_pems:
            f.write(pem.bytes())
    return paths


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def as_owner(site: Path, *changes: SecurityChange) -> list[CommandResult]:
    """Security changes by the site's owner (its first security administrator) through its server."""
    from server.client import RemoteSite

    owner = RemoteSite(site)
    try:
        out = []
        for c in changes:
            res = await owner.change_security(c)
            assert res.rc == 0, res.lines()
            out.append(res)
        return out
    finally:
        await owner.close()


def plex_of_two(site: Path, *first_args: str, lease: float | None = None) -> tuple[Server, Server]:
    """Host SYS1 driving the site (with `first_args`) and SYS2 standing by and forwarding to it,
    each with its own log; both started and ready."""
    leased = ("--lease", str(lease)) if lease is not None else ()
    first = Server(site, "--system", "SYS1", *leased, *first_args).start()
    deadline = time.monotonic() + 30
    while "FPL771I" not in first.output():
        assert time.monotonic() < deadline, first.output()
        time.sleep(0.05)
    second = Server(site, "--system", "SYS2", *leased)
    second.log = site.parent / f"{site.name}-sys2.log"
    second.start()
    while "FORWARDS WHAT ITS CLIENTS ASK" not in second.output():
        assert time.monotonic() < deadline, second.output()
        time.sleep(0.05)
    return first, second
