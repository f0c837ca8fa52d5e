"""A cataloged data set as a value (its extents, size, migration): what `flashpool dataset` and
the console show, without the catalog's code (engine.datasets.manager builds them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Extent:
    volser: str
    first: int
    tracks: int

    @property
    def last(self) -> int:
        return self.first + self.tracks - 1


@dataclass(frozen=True, slots=True)
class DataSetInfo:
    name: str
    dsorg: str
    extents: tuple[Extent, ...]
    bytes_used: int
    created_at: float
    migrated: bool = False

    @property
    def tracks(self) -> int:
        return sum(e.tracks for e in self.extents)

    @property
    def volumes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.volser for e in self.extents))
