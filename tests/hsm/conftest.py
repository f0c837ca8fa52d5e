"""A small site with copy pools for fast replication scenarios (tiny tracks, real bytes)."""

from __future__ import annotations

import pytest

from engine.definition import parse_definition
from engine.site import Site

TRACKS, TS = 30, 512

DEFINITION = {
    "dump_class": [
        {"name": "ONSITE", "fast_replication_dump": "REQUIRED", "retention_days": 7},
        {"name": "OFFSITE", "fast_replication_dump": "OPTIONAL", "stack": 2, "available_for_mount": False},
    ],
    "storage_group": [
        {
            "name": "ARCDATA",
            "type": "POOL",
            "backup_group": "ARCBK",
            "tracks": TRACKS,
            "track_size": TS,
            "volumes": ["ARC001", "ARC002"],
        },
        {
            "name": "ARCBK",
            "type": "COPYPOOLBACKUP",
            "tracks": TRACKS,
            "track_size": TS,
            "volumes": [f"AB{i:04d}" for i in range(6)],
        },
        {
            "name": "DB0ADATA",
            "type": "POOL",
            "backup_group": "DB0ABK",
            "tracks": TRACKS,
            "track_size": TS,
            "volumes": ["DB0A01", "DB0A02"],
        },
        {
            "name": "DB0ALOG",
            "type": "POOL",
            "backup_group": "DB0ABK",
            "tracks": TRACKS,
            "track_size": TS,
            "volumes": ["DB0L01"],
        },
        {
            "name": "DB0ABK",
            "type": "COPYPOOLBACKUP",
            "tracks": TRACKS,
            "track_size": TS,
            "volumes": [f"BK{i:04d}" for i in range(12)],
        },
        {
            "name": "PAYDATA",
            "type": "POOL",
            "backup_group": "PAYBK",
            "tracks": TRACKS,
            "track_size": TS,
            "volumes": ["PAY001", "PAY002"],
        },
        {
            "name": "PAYBK",
            "type": "COPYPOOLBACKUP",
            "tracks": TRACKS,
            "track_size": TS,
            "volumes": [f"PB{i:04d}" for i in range(6)],
        },
    ],
    "copy_pool": [
        {"name": "DSN$DB0A$DB", "storage_groups": ["DB0ADATA", "DB0ALOG"], "versions": 3, "fast_reverse_restore": True},
        {"name": "PAYROLL", "storage_groups": ["PAYDATA"], "versions": 2},
        {"name": "PAYINC", "storage_groups": ["PAYDATA"], "versions": 1},
        {
            "name": "ARCHIVE",
            "storage_groups": ["ARCDATA"],
            "versions": 2,
            "auto_dump": True,
            "dump_classes": [{"name": "ONSITE"}, {"name": "OFFSITE"}],
        },
        {
            "name": "ARCZERO",
            "storage_groups": ["ARCDATA"],
            "versions": 0,
            "fast_reverse_restore": True,
            "dump_classes": [{"name": "ONSITE"}],
        },
    ],
}


def t(text: str) -> bytes:
    return text.encode().ljust(TS, b".")


@pytest.fixture
async def site(tmp_path, catalog_url):
    """The site on SQLite, or on both catalogs in modules marked with tests.catalogs.both_catalogs."""
    clock = iter(range(1_800_000_000, 1_900_000_000, 60))
    s = Site.create(tmp_path / "site", parse_definition(DEFINITION), catalog_url=catalog_url)
    await s.close()
    s = Site.open(tmp_path / "site", clock=lambda: next(clock))
    yield s
    await s.close()


async def fill(site: Site, vol: str, prefix: str) -> list[bytes]:
    data = [t(f"{prefix}{i}") for i in range(TRACKS)]
    await site.flashcopy.write_run(vol, 0, data)
    return data


async def content(site: Site, vol: str) -> list[bytes]:
    return await site.flashcopy.read_run(vol, 0, TRACKS)
