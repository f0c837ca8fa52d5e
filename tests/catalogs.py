"""Which catalog databases a test runs on: marked `both_catalogs` (a test, or a module's
pytestmark), every test of it that uses the `catalog_url` fixture (tests/conftest.py) - itself or
through a fixture such as tests/hsm's `site` - runs on the embedded SQLite catalog and on a fresh
PostgreSQL database; unmarked, on SQLite only. Tests of the marked module that use no catalog run
once, as before."""

from __future__ import annotations

import pytest

SQLITE, POSTGRESQL = "sqlite", "postgresql"
MARKER = "catalogs"

both_catalogs = getattr(pytest.mark, MARKER)(SQLITE, POSTGRESQL)
postgresql_only = getattr(pytest.mark, MARKER)(POSTGRESQL)


def parametrize(metafunc: pytest.Metafunc) -> None:
    """pytest_generate_tests: the marked test's catalog_url over the databases its marker names."""
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is not None and "catalog_url" in metafunc.fixturenames:
        metafunc.parametrize("catalog_url", marker.args, indirect=True)


def register(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(*databases): run on these catalog databases (tests/catalogs.py)")
