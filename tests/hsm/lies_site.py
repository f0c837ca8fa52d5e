"""A small site for the "no backup that lies" tests: two source volumes, sixteen targets, dump
classes ONSITE (REQUIRED) and OFFSITE (OPTIONAL, stack = 2), and one copy pool per behaviour."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.definition import Definition, parse_definition

TRACKS, TS = 30, 512
SOURCES = ["SRC001", "SRC002"]
TARGETS = [f"TGT{i:03d}" for i in range(16)]


def definition(**pool_overrides: object) -> Definition:
    return parse_definition(
        {
            "dump_class": [
                {"name": "ONSITE", "fast_replication_dump": "REQUIRED"},
                {"name": "OFFSITE", "fast_replication_dump": "OPTIONAL", "stack": 2},
            ],
            "storage_group": [
                {
                    "name": "SRC",
                    "type": "POOL",
                    "backup_group": "BK",
                    "tracks": TRACKS,
                    "track_size": TS,
                    "volumes": SOURCES,
                },
                {"name": "BK", "type": "COPYPOOLBACKUP", "tracks": TRACKS, "track_size": TS, "volumes": TARGETS},
            ],
            "copy_pool": [
                {
                    "name": "ZERO",
                    "storage_groups": ["SRC"],
                    "versions": 0,
                    "dump_classes": [{"name": "ONSITE"}, {"name": "OFFSITE"}],
                },
                {
                    "name": "ZEROFRR",
                    "storage_groups": ["SRC"],
                    "versions": 0,
                    "fast_reverse_restore": True,
                    "dump_classes": [{"name": "ONSITE"}, {"name": "OFFSITE"}],
                },
                {
                    "name": "FRR",
                    "storage_groups": ["SRC"],
                    "versions": 2,
                    "fast_reverse_restore": True,
                    "auto_dump": True,
                    "dump_classes": [{"name": "ONSITE"}, {"name": "OFFSITE"}],
                },
                {
                    "name": "TWO",
                    "storage_groups": ["SRC"],
                    "versions": 2,
                    "dump_classes": [{"name": "ONSITE"}, {"name": "OFFSITE"}],
                },
                {"name": "INC", "storage_groups": ["SRC"], "versions": 1},
            ],
            **pool_overrides,
        }
    )


def track(volser: str, generation: int, i: int) -> bytes:
    return f"{volser}:{generation}:{i}".encode().ljust(TS, b".")


def generation(volser: str, g: int) -> list[bytes]:
    return [track(volser, g, i) for i in range(TRACKS)]


@contextmanager
def copy_of(base: Path) -> Iterator[Path]:
    """A fresh copy of a site made once (property tests run one example per copy), removed after."""
    work = Path(tempfile.mkdtemp(dir=base.parent))
    try:
        shutil.copytree(base, work / "site")
        yield work / "site"
    finally:
        shutil.rmtree(work, ignore_errors=True)
