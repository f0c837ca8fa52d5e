"""A FlashCopy relationship and its public, immutable snapshot."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from engine.trackmap import TrackMap


class CopyMode(enum.Enum):
    COPY = "COPY"  # background copy runs until every track is on the target
    NOCOPY = "NOCOPY"  # data moves only by copy-on-write (or a later switch to COPY)


class RelState(enum.Enum):
    COPYING = "COPYING"  # COPY mode, tracks still out of sync
    NOCOPY = "NOCOPY"  # NOCOPY mode, tracks still out of sync
    COPY_COMPLETE = "COPY COMPLETE"  # persistent, every track on the target
    ENDED = "ENDED"  # no longer exists (completed, withdrawn or reversed away)


class EndReason(enum.Enum):
    COPY_COMPLETE = "copy complete"  # a non-persistent relationship ends by itself
    WITHDRAWN = "withdrawn"


@dataclass(eq=False)
class Relationship:
    """Source extent -> target extent, established at one instant.

    Bitmaps are indexed by relative track i (0 <= i < length):
      uncopied    1 = target track t+i does not yet hold its point-in-time data
      through     1 = that data is the source's *logical* track s+i (follow its redirection);
                  0 = it is the source's *physical* track s+i, which must be preserved before it
                  is overwritten. It drops to 0 when the source's logical content changes by a
                  bitmap operation (the source became a target), never by a host write.
      changed_src / changed_tgt  tracks written since the last establish/refresh (change recording)

    `feed` is the volume whose track source_start+i is meant by `through`: the source itself, or
    (SVC's multi-target cascade) the target of a newer full-volume relationship from the same
    source, whose logical content equalled the source's when this one was chained behind it. A host
    write to the source then preserves its old track once, on the newest target, however many
    older targets still need it: they read it from there.
    """

    id: int
    source: str
    source_start: int
    target: str
    target_start: int
    length: int
    mode: CopyMode
    persistent: bool
    incremental: bool
    target_write_inhibit: bool
    established_at: float
    uncopied: TrackMap
    through: TrackMap
    changed_src: TrackMap
    changed_tgt: TrackMap
    reversed: bool = False
    fast_reversed: bool = False
    tracks_copied: int = 0  # tracks moved onto the target since the last (re)establish
    full_volume: bool = False
    cursor: int = 0  # where the background copy looks next
    label: str = ""  # who made it (e.g. "HSM DB2PROD V012") - free text for operators
    feed: str = ""  # where the point-in-time data is read from ("" until set: the source)
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.feed:
            self.feed = self.source

    @property
    def chained(self) -> bool:
        """True while this relationship reads its point in time through a newer sibling."""
        return self.feed != self.source

    @classmethod
    def new(
        cls,
        rel_id: int,
        source: str,
        source_start: int,
        target: str,
        target_start: int,
        length: int,
        *,
        mode: CopyMode,
        persistent: bool,
        incremental: bool,
        target_write_inhibit: bool,
        established_at: float,
        full_volume: bool,
        label: str = "",
    ) -> Relationship:
        return cls(
            id=rel_id,
            source=source,
            source_start=source_start,
            target=target,
            target_start=target_start,
            length=length,
            mode=mode,
            persistent=persistent or incremental,
            incremental=incremental,
            target_write_inhibit=target_write_inhibit,
            established_at=established_at,
            uncopied=TrackMap.ones(length),
            through=TrackMap.ones(length),
            changed_src=TrackMap.zeros(length),
            changed_tgt=TrackMap.zeros(length),
            full_volume=full_volume,
            label=label,
        )

    # -- geometry of the relationship ------------------------------------------------------
    @property
    def source_end(self) -> int:
        return self.source_start + self.length

    @property
    def target_end(self) -> int:
        return self.target_start + self.length

    def source_overlap(self, first: int, count: int) -> tuple[int, int] | None:
        """Overlap of source tracks [first, first+count) with this extent as (rel index, n)."""
        a, b = max(first, self.source_start), min(first + count, self.source_end)
        return (a - self.source_start, b - a) if a < b else None

    def target_overlap(self, first: int, count: int) -> tuple[int, int] | None:
        a, b = max(first, self.target_start), min(first + count, self.target_end)
        return (a - self.target_start, b - a) if a < b else None

    # -- state ------------------------------------------------------------------------------
    @property
    def out_of_sync(self) -> int:
        return self.uncopied.count()

    @property
    def state(self) -> RelState:
        if not self.uncopied.any():
            return RelState.COPY_COMPLETE
        return RelState.COPYING if self.mode is CopyMode.COPY else RelState.NOCOPY

    def info(self) -> RelationshipInfo:
        oos = self.out_of_sync
        return RelationshipInfo(
            id=self.id,
            source=self.source,
            source_start=self.source_start,
            target=self.target,
            target_start=self.target_start,
            length=self.length,
            mode=self.mode,
            persistent=self.persistent,
            incremental=self.incremental,
            target_write_inhibit=self.target_write_inhibit,
            reversed=self.reversed,
            fast_reversed=self.fast_reversed,
            full_volume=self.full_volume,
            established_at=self.established_at,
            out_of_sync=oos,
            changed_source_tracks=self.changed_src.count(),
            changed_target_tracks=self.changed_tgt.count(),
            state=self.state,
            label=self.label,
        )


@dataclass(frozen=True, slots=True)
class RelationshipInfo:
    """What an operator (or the console) may know about a relationship at one moment."""

    id: int
    source: str
    source_start: int
    target: str
    target_start: int
    length: int
    mode: CopyMode
    persistent: bool
    incremental: bool
    target_write_inhibit: bool
    reversed: bool
    fast_reversed: bool
    full_volume: bool
    established_at: float
    out_of_sync: int
    changed_source_tracks: int
    changed_target_tracks: int
    state: RelState
    label: str

    @property
    def percent_complete(self) -> float:
        return 100.0 * (1 - self.out_of_sync / self.length) if self.length else 100.0

    @property
    def copying(self) -> bool:
        """A background copy still moves its tracks (a NOCOPY relationship's never do)."""
        return self.state is RelState.COPYING


@dataclass(frozen=True, slots=True)
class EstablishRequest:
    """Everything `establish` needs; `tracks=None` means the whole source volume."""

    source: str
    target: str
    source_start: int = 0
    target_start: int = 0
    tracks: int | None = None
    mode: CopyMode = CopyMode.COPY
    persistent: bool = False
    incremental: bool = False
    target_write_inhibit: bool = False
    allow_larger_target: bool = False
    label: str = ""


@dataclass(frozen=True, slots=True)
class WithdrawResult:
    """What a withdraw left behind: `invalid` marks target tracks that hold no valid data."""

    relationship: RelationshipInfo
    target: str
    target_start: int
    invalid: TrackMap

    @property
    def invalid_tracks(self) -> int:
        return self.invalid.count()

    def statement(self) -> str:
        n = self.invalid_tracks
        if n == 0:
            return (
                f"{self.target} holds a complete point-in-time copy "
                f"(all {self.relationship.length:,} tracks were copied)"
            )
        return (
            f"{self.target} holds no valid data on {n:,} of {self.relationship.length:,} tracks "
            f"(they were never copied); it is no longer a usable copy"
        )
