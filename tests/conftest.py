"""Shared fixtures: tiny volumes in a temporary directory."""

from __future__ import annotations

import os

# Before any engine import: a catalog query on a live site's event loop raises (engine.catalog.store).
os.environ["FLASHPOOL_STRICT_LOOP"] = "1"

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.flashcopy import FlashCopyCore, FlashCopyOptions
from engine.geometry import custom_geometry
from engine.storage import Volume
from tests import catalogs
from tests.catalogs import SQLITE
from tests.pg import Cluster, ClusterUnavailable

SMALL_TRACK = 64


class VolumeFactory:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.volumes: dict[str, Volume] = {}

    def __call__(self, volser: str, tracks: int = 16, track_size: int = SMALL_TRACK) -> Volume:
        vol = Volume.create(self.root / f"{volser}.img", volser, custom_geometry(tracks, track_size))
        self.volumes[vol.volser] = vol
        return vol

    def close(self) -> None:
        for v in self.volumes.values():
            v.close()


@pytest.fixture
def make_volume(tmp_path: Path) -> Iterator[VolumeFactory]:
    factory = VolumeFactory(tmp_path)
    yield factory
    factory.close()


@pytest.fixture
def core(make_volume: VolumeFactory) -> FlashCopyCore:
    """A core over volumes A, B, C, D (16 tracks each) and BIG (32 tracks)."""
    for v in ("A", "B", "C", "D"):
        make_volume(v)
    make_volume("BIG", 32)
    return FlashCopyCore(make_volume.volumes, FlashCopyOptions())


def pytest_configure(config: pytest.Config) -> None:
    catalogs.register(config)


#: the tests that take 15 s and more (pytest --durations): run first, so that the three workers
#: of `make test` never start one of them near the end while the others sit idle
LONG_FIRST = (
    "tests/hsm/test_agreement.py::test_checks_and_impact_agree_with_the_command",
    "tests/hsm/test_races.py::",
    "tests/hsm/test_versions_model.py::",
    "tests/catalog/test_crash.py::test_sigkill_at_random_moments",
    "tests/console/test_console_truth.py::",
    "tests/test_wheel.py::",
    "tests/server/test_console_truth_served.py::",
    "tests/engine/test_flashcopy_model.py::",
    "tests/cli/test_thin.py::test_the_site_tools_take_the_thin_path",
    "tests/security/test_route_matrix.py::",
    "tests/hsm/test_full_disk.py::",
    "tests/console/test_random_keys.py::",
    "tests/walkthroughs/test_recovery.py::test_w6_after_w1",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(LONG_FIRST))  # stable: otherwise as collected


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    catalogs.parametrize(metafunc)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throw-away PostgreSQL cluster per test process, started when a test first needs it."""
    cluster: Cluster | None = None
    try:
        cluster = Cluster()
        cluster.start()
    except (ClusterUnavailable, OSError) as exc:
        if cluster is not None:
            cluster.stop()
        pytest.fail(f"no PostgreSQL cluster for the catalog tests: {exc}", pytrace=False)
    yield cluster
    cluster.stop()


@pytest.fixture
def catalog_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The catalog a test's site is created on: None (the embedded SQLite catalog, unless the test
    is parametrized with tests.catalogs.both_catalogs) or the URL of a new PostgreSQL database."""
    if getattr(request, "param", SQLITE) == SQLITE:
        yield None
        return
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    name = cluster.create_database()
    yield cluster.url(name)
    cluster.drop_database(name)


def track(text: str, size: int = SMALL_TRACK) -> bytes:
    return text.encode().ljust(size, b".")


def pytest_terminal_summary(terminalreporter) -> None:
    """Operator effort is a figure we track: the keys each walkthrough test pressed."""
    from tests.walkthroughs.conftest import KEY_COUNTS

    if KEY_COUNTS:
        terminalreporter.write_line(
            "walkthrough keys, first screen to verified summary: "
            + ", ".join(f"{k}={v}" for k, v in sorted(KEY_COUNTS.items()))
        )
