"""Server processes a failed test left behind are killed, so none outlives the suite."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.server.harness import Server


@pytest.fixture(autouse=True)
def no_server_left() -> Iterator[None]:
    yield
    for srv in list(Server.running):
        srv.stop(signal.SIGKILL)
