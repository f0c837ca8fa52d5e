"""A real `flashpool serve` for the benchmarks: started on a site, stopped (SIGTERM) after."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from server import sockets

ROOT = Path(__file__).resolve().parents[1]
SERVE = (sys.executable, "-m", "cli", "serve")


@contextmanager
def serving(site: Path, copy_rate: float | None) -> Iterator[subprocess.Popen[bytes]]:
    """The site's server, copying at `copy_rate` tracks a second per copier (None: as fast as the
    disk goes); its log beside the site."""
    log_path = site.parent / "server.log"
    rate = ["--copy-rate", str(copy_rate)] if copy_rate is not None else []
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [*SERVE, "--site", str(site), "--no-auto-dump", *rate],
            stdout=log,
            stderr=log,
            cwd=ROOT,
        )
        try:
            while not sockets.listening(site):
                assert proc.poll() is None, log_path.read_text()
                time.sleep(0.05)
            yield proc
        finally:
            proc.terminate()
            proc.wait(60)
