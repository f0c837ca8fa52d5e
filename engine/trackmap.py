"""TrackMap: one bit per track, with the handful of operations FlashCopy needs.

Everything here works on whole words (bitarray's C loops); nothing iterates a map bit by
bit, because an EAV map has 17.7 million bits.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from bitarray import bitarray
from bitarray.util import intervals, sc_decode, sc_encode, subset, zeros

_ONE = bitarray("1")
_ZERO = bitarray("0")


@functools.lru_cache(maxsize=64)
def _uniform_bytes(length: int, fill: bool) -> bytes:
    """to_bytes of an all-clear or all-set map: the same few bytes for every map of a size."""
    return (b"\x01" if fill else b"\x00") + sc_encode(zeros(length))


class TrackMap:
    """A fixed-length set of tracks (bit i = track i of an extent).

    A map made all-clear or all-set holds no bits until something reads or changes them
    (`bits`): an establish of 1,024 x 3390-54 starts four 982,800-bit maps per relationship,
    most of which stay uniform for their whole life (no host write, no copy yet), so they cost
    neither the allocation nor 480 KB of memory each."""

    __slots__ = ("_bits", "_fill", "_length")

    def __init__(self, length: int = 0, fill: bool = False, *, bits: bitarray | None = None) -> None:
        self._bits = bits
        self._length = len(bits) if bits is not None else length
        self._fill = fill

    @property
    def bits(self) -> bitarray:
        """The bits themselves (made now if the map was uniform)."""
        if self._bits is None:
            self._bits = zeros(self._length)
            if self._fill:
                self._bits.setall(1)
        return self._bits

    def _uniform(self, start: int, stop: int | None) -> tuple[int, int] | None:
        """(start, stop) when the map is still uniform and the range is plain, else None."""
        if self._bits is not None:
            return None
        end = self._length if stop is None else stop
        return (start, end) if 0 <= start <= end <= self._length else None

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
        if self._bits is None:
            return TrackMap(self._length, self._fill)
        return TrackMap(bits=self._bits.copy())

    # -- queries ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._length

    def __getitem__(self, i: int) -> bool:
        if self._bits is None and 0 <= i < self._length:
            return self._fill
        return bool(self.bits[i])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrackMap):
            return False
        if self._bits is None and other._bits is None:
            return self._length == other._length and (self._fill == other._fill or self._length == 0)
        return self.bits == other.bits

    def __repr__(self) -> str:
        return f"TrackMap({len(self)} tracks, {self.count()} set)"

    def count(self, start: int = 0, stop: int | None = None) -> int:
        if start == 0 and stop is None:  # the whole map: asked of every relationship by each view
            bits = self._bits
            return (self._length if self._fill else 0) if bits is None else bits.count()
        if (r := self._uniform(start, stop)) is not None:
            return (r[1] - r[0]) if self._fill else 0
        return self.bits.count(1, start, len(self.bits) if stop is None else stop)

    def any(self, start: int = 0, stop: int | None = None) -> bool:
        if start == 0 and stop is None:
            bits = self._bits
            return (self._fill and self._length > 0) if bits is None else bits.any()
        if (r := self._uniform(start, stop)) is not None:
            return self._fill and r[1] > r[0]
        return self.first_set(start, stop) >= 0

    def first_set(self, start: int = 0, stop: int | None = None) -> int:
        """Index of the first set bit in [start, stop), or -1."""
        if (r := self._uniform(start, stop)) is not None:
            return r[0] if self._fill and r[1] > r[0] else -1
        return self.bits.find(_ONE, start, len(self.bits) if stop is None else stop)

    def first_clear(self, start: int = 0, stop: int | None = None) -> int:
        if (r := self._uniform(start, stop)) is not None:
            return r[0] if not self._fill and r[1] > r[0] else -1
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

    def within(self, other: TrackMap) -> bool:
        """Every set track of this map is set in `other` too (without making uniform maps' bits)."""
        if (self._bits is None and not self._fill) or (other._bits is None and other._fill):
            return True
        return subset(self.bits, other.bits)

    # -- updates ----------------------------------------------------------------------------
    def set_range(self, start: int, count: int, value: bool = True) -> None:
        if count > 0:
            self.bits[start : start + count] = value

    def clear_range(self, start: int, count: int) -> None:
        self.set_range(start, count, False)

    def mark(self, i: int) -> bool:
        """Set track i; False when it was set already (nothing to persist)."""
        bits = self._bits
        if bits is None:
            if self._fill:
                return False
            bits = self.bits
        if bits[i]:
            return False
        bits[i] = 1
        return True

    def set(self, i: int, value: bool = True) -> None:
        self.bits[i] = value

    def setall(self, value: bool) -> None:
        self._bits, self._fill = None, value

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
        if self._bits is None:
            return TrackMap(self._length, not self._fill)
        return TrackMap(bits=~self._bits)

    def __ior__(self, other: TrackMap) -> TrackMap:
        bits = self.bits
        bits |= other.bits
        return self

    def __iand__(self, other: TrackMap) -> TrackMap:
        bits = self.bits
        bits &= other.bits
        return self

    # -- serialisation ----------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """Compressed form: a flag byte, then the sparse encoding of the map or of its
        complement, whichever is sparser, so all-zero *and* all-one EAV maps are a few bytes."""
        if self._bits is None:
            return _uniform_bytes(self._length, self._fill and self._length > 0)
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
        fill = data[:1] == b"\x01"
        if data == _uniform_bytes(declared, fill):
            return cls(declared, fill)  # uniform: no bits until read or changed (see the class)
        try:
            bits = sc_decode(data[1:])
        except (StopIteration, OverflowError, MemoryError, TypeError) as exc:
            raise ValueError(f"not a track map ({type(exc).__name__}: {exc})") from None
        if data[:1] == b"\x01":
            bits.invert()
        return cls(bits=bits)
