"""Security fixtures: a TLS certificate for the server's TCP port, and no server left running."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.harness import Server, tls_files


@pytest.fixture(autouse=True)
def no_server_left() -> Iterator[None]:
    yield
    for srv in list(Server.running):
        srv.stop(signal.SIGKILL)


@pytest.fixture
def tls(tmp_path: Path) -> dict[str, Path]:
    return tls_files(tmp_path)
