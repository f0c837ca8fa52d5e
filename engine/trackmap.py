"""TrackMap: one bit per track, with the handful of operations FlashCopy needs.

Everything here works on whole words (bitarray's C loops); nothing iterates a map bit by
bit, because an EAV map has 17.7 million bits.
"""

from __future__ import annotations

from collections.abc import Iterator

from bitarray import bitarray
from bitarray.util import intervals, sc_decode, sc_encode, zeros

_ONE = bitarray("1")
_ZERO = bitarray("0")


class TrackMap:
    """A fixed-length set of tracks (bit i = track i of an extent)."""

    __slots__ = ("bits",)

    def __init__(self, length: int = 0, fill: bool = False, *, bits: bitarray | None = None) -> None:
        if bits is not None:
            self.bits = bits
        else:
            self.bits = zeros(length)
            if fill:
                self.bits.setall(1)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def ones(cls, length: int) -> TrackMap:
        return cls(length, True)

    @classmethod
    def zeros(cls, length: int) -> TrackMap:
        return cls(length)

    @classmethod
    def from_tracks(cls, length: int, tracks: list[int] | set[int]) -> TrackMap:
        m = cls(length)
        for t in tracks:
            m.bits[t] = 1
        return m

    def copy(self) -> TrackMap:
        return TrackMap(bits=self.bits.copy())

    # -- queries ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.bits)

    def __getitem__(self, i: int) -> bool:
        return bool(self.bits[i])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TrackMap) and self.bits == other.bits

    def __repr__(self) -> str:
        return f"TrackMap({len(self)} tracks, {self.count()} set)"

    def count(self, start: int = 0, stop: int | None = None) -> int:
        return self.bits.count(1, start, len(self.bits) if stop is None else stop)

    def any(self, start: int = 0, stop: int | None = None) -> bool:
        if start == 0 and stop is None:
            return self.bits.any()
        return self.first_set(start, stop) >= 0

    def first_set(self, start: int = 0, stop: int | None = None) -> int:
        """Index of the first set bit in [start, stop), or -1."""
        return self.bits.find(_ONE, start, len(self.bits) if stop is None else stop)

    def first_clear(self, start: int = 0, stop: int | None = None) -> int:
        return self.bits.find(_ZERO, start, len(self.bits) if stop is None else stop)

    def runs(self, start: int = 0, stop: int | None = None, max_run: int | None = None) -> Iterator[tuple[int, int]]:
        """(first, count) of each run of set bits in [start, stop), split at max_run."""
        end = len(self.bits) if stop is None else stop
        pos = start
        while pos < end:
            first = self.bits.find(_ONE, pos, end)
            if first < 0:
                return
            last = self.bits.find(_ZERO, first, end)
            if last < 0:
                last = end
            if max_run:
                last = min(last, first + max_run)
            yield first, last - first
            pos = last

    def segments(self) -> Iterator[tuple[bool, int, int]]:
        """(value, first, count) for every run of equal bits, covering the whole map."""
        for value, a, b in intervals(self.bits):
            yield bool(value), a, b - a

    def tracks(self) -> list[int]:
        """The set tracks as a list (for small maps, tests and messages)."""
        return list(self.bits.search(_ONE))

    # -- updates ----------------------------------------------------------------------------
    def set_range(self, start: int, count: int, value: bool = True) -> None:
        if count > 0:
            self.bits[start : start + count] = value

    def clear_range(self, start: int, count: int) -> None:
        self.set_range(start, count, False)

    def set(self, i: int, value: bool = True) -> None:
        self.bits[i] = value

    def setall(self, value: bool) -> None:
        self.bits.setall(value)

    def slice(self, start: int, count: int) -> TrackMap:
        return TrackMap(bits=self.bits[start : start + count])

    def or_at(self, start: int, other: TrackMap) -> None:
        """self[start:start+len(other)] |= other."""
        self.bits[start : start + len(other)] |= other.bits

    def and_not_at(self, start: int, other: TrackMap) -> None:
        """self[start:start+len(other)] &= ~other."""
        n = len(other)
        self.bits[start : start + n] &= ~other.bits

    def __or__(self, other: TrackMap) -> TrackMap:
        return TrackMap(bits=self.bits | other.bits)

    def __and__(self, other: TrackMap) -> TrackMap:
        return TrackMap(bits=self.bits & other.bits)

    def __invert__(self) -> TrackMap:
        return TrackMap(bits=~self.bits)

    def __ior__(self, other: TrackMap) -> TrackMap:
        self.bits |= other.bits
        return self

    def __iand__(self, other: TrackMap) -> TrackMap:
        self.bits &= other.bits
        return self

    # -- serialisation ----------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """Compressed form: a flag byte, then the sparse encoding of the map or of its
        complement, whichever is sparser, so all-zero *and* all-one EAV maps are a few bytes."""
        if self.bits.count() * 2 > len(self.bits):
            return b"\x01" + sc_encode(~self.bits)
        return b"\x00" + sc_encode(self.bits)

    @classmethod
    def from_bytes(cls, data: bytes, tracks: int | None = None) -> TrackMap:
        """Decode what to_bytes made; ValueError for anything else. With `tracks`, the length
        the header declares is checked before a bit is decoded (damaged bytes can declare any
        length, and decoding them could ask for any amount of memory)."""
        if not isinstance(data, bytes) or len(data) < 3 or data[:1] not in (b"\x00", b"\x01"):
            raise ValueError("not a track map")
        size = data[1] & 0x0F
        if data[1] & 0xE0 or size > 8 or len(data) < 2 + size:
            raise ValueError("not a track map (bad header)")
        declared = int.from_bytes(data[2 : 2 + size], "little")
        if tracks is not None and declared != tracks:
            raise ValueError(f"the map is for {declared:,} tracks, not {tracks:,}")
        try:
            bits = sc_decode(data[1:])
        except (StopIteration, OverflowError, MemoryError, TypeError) as exc:
            raise ValueError(f"not a track map ({type(exc).__name__}: {exc})") from None
        if data[:1] == b"\x01":
            bits.invert()
        return cls(bits=bits)
