"""3390 geometry and volser rules.

A volume is addressed by track; everything about sizes lives here so that the
rest of the engine never hard-codes 56,664 or 15.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.errors import InvalidGeometry, InvalidVolser

TRACK_SIZE = 56_664
TRACKS_PER_CYLINDER = 15
PAGE = 4096

#: Base-model cylinder counts (3390 models 1, 2, 3, 9, 27, 54).
MODEL_CYLINDERS: dict[str, int] = {
    "3390-1": 1_113,
    "3390-2": 2_226,
    "3390-3": 3_339,
    "3390-9": 10_017,
    "3390-27": 32_760,
    "3390-54": 65_520,
}
EAV_MODEL = "3390-A"
#: EAV sizes come in 1,113-cylinder units (DS8000), above the 65,520 of a 3390-54.
EAV_UNIT = 1_113
EAV_MIN_CYLINDERS = 65_667  # 59 units, the first size above 65,520
EAV_MAX_CYLINDERS = 1_182_006  # 1,062 units
TEST_MODEL = "TEST"

_VOLSER = re.compile(r"[A-Z0-9$#@]{1,6}")
_RESERVED_VOLSERS = frozenset({"SCRTCH", "PRIVAT", "MIGRAT"})


def validate_volser(value: str) -> str:
    """Return the canonical (upper-case) volser or raise InvalidVolser saying why."""
    if not isinstance(value, str):
        raise InvalidVolser(repr(value), "a volser is a string")
    volser = value.strip().upper()
    if not volser:
        raise InvalidVolser(value, "a volser needs 1 to 6 characters")
    if len(volser) > 6:
        raise InvalidVolser(value, f"{len(volser)} characters; a volser has at most 6")
    if not _VOLSER.fullmatch(volser):
        bad = next(c for c in volser if not _VOLSER.fullmatch(c))
        raise InvalidVolser(value, f"character {bad!r} is not allowed (use A-Z, 0-9, $, #, @)")
    if volser in _RESERVED_VOLSERS:
        raise InvalidVolser(value, f"{volser} is reserved by z/OS")
    return volser


@dataclass(frozen=True, slots=True)
class Geometry:
    """Device geometry: how many tracks, how big each is, how they are laid out in a file.

    Each track is stored in a page-aligned *slot* (57,344 bytes for a 3390 track) so that
    single-track writes never pay a read-modify-write at page edges.
    """

    model: str
    cylinders: int
    tracks_per_cylinder: int = TRACKS_PER_CYLINDER
    track_size: int = TRACK_SIZE

    @property
    def tracks(self) -> int:
        return self.cylinders * self.tracks_per_cylinder

    @property
    def slot_size(self) -> int:
        return -(-self.track_size // PAGE) * PAGE

    @property
    def capacity(self) -> int:
        """Usable bytes (what a host could store), not the image file size."""
        return self.tracks * self.track_size

    @property
    def image_size(self) -> int:
        return self.tracks * self.slot_size

    @property
    def is_eav(self) -> bool:
        return self.model == EAV_MODEL

    def cchh(self, track: int) -> tuple[int, int]:
        """Cylinder and head of a relative track number."""
        self.check_track(track)
        return divmod(track, self.tracks_per_cylinder)

    def track_of(self, cylinder: int, head: int) -> int:
        if not (0 <= cylinder < self.cylinders and 0 <= head < self.tracks_per_cylinder):
            raise InvalidGeometry(f"CCHH {cylinder}/{head} is outside this {self.model} volume")
        return cylinder * self.tracks_per_cylinder + head

    def check_track(self, track: int) -> None:
        if not 0 <= track < self.tracks:
            raise InvalidGeometry(f"track {track} is outside this {self.model} volume (0-{self.tracks - 1})")

    def check_extent(self, start: int, count: int) -> None:
        if count < 1:
            raise InvalidGeometry(f"an extent needs at least one track, got {count}")
        if start < 0 or start + count > self.tracks:
            raise InvalidGeometry(
                f"tracks {start}-{start + count - 1} are outside this {self.model} volume (0-{self.tracks - 1})"
            )

    def like(self, other: Geometry) -> bool:
        """Like devices: same track geometry (sizes may differ)."""
        return self.track_size == other.track_size

    def describe(self) -> str:
        return f"{self.model} ({self.cylinders:,} cyl, {self.tracks:,} trk)"


def geometry_for(model: str, cylinders: int | None = None) -> Geometry:
    """The geometry of a 3390 model; EAV (3390-A) takes its cylinder count."""
    name = model.strip().upper()
    if not name.startswith("3390"):
        name = f"3390-{name}"
    if name in MODEL_CYLINDERS:
        if cylinders not in (None, MODEL_CYLINDERS[name]):
            raise InvalidGeometry(f"{name} has {MODEL_CYLINDERS[name]:,} cylinders, not {cylinders:,}")
        return Geometry(name, MODEL_CYLINDERS[name])
    if name == EAV_MODEL:
        if cylinders is None:
            raise InvalidGeometry("a 3390-A (EAV) needs a cylinder count")
        if not EAV_MIN_CYLINDERS <= cylinders <= EAV_MAX_CYLINDERS:
            raise InvalidGeometry(
                f"an EAV has {EAV_MIN_CYLINDERS:,} to {EAV_MAX_CYLINDERS:,} cylinders, not {cylinders:,}"
            )
        if cylinders % EAV_UNIT:
            raise InvalidGeometry(f"EAV sizes come in units of {EAV_UNIT:,} cylinders; {cylinders:,} is not one")
        return Geometry(EAV_MODEL, cylinders)
    known = ", ".join([*MODEL_CYLINDERS, EAV_MODEL])
    raise InvalidGeometry(f"unknown device model {model!r}; known: {known}")


def custom_geometry(tracks: int, track_size: int = TRACK_SIZE) -> Geometry:
    """A tiny geometry for tests and demos: `tracks` tracks of `track_size` bytes."""
    if tracks < 1 or track_size < 1:
        raise InvalidGeometry("a custom geometry needs at least one track of one byte")
    per_cylinder = TRACKS_PER_CYLINDER if tracks % TRACKS_PER_CYLINDER == 0 else 1
    return Geometry(TEST_MODEL, tracks // per_cylinder, per_cylinder, track_size)
