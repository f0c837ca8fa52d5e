"""A naive reference model of FlashCopy: every volume is a list of track contents.

Establish copies the list; nothing is lazy. `None` marks a track with no valid data (the
uncopied tracks of a withdrawn relationship, the old target after fast reverse restore):
any content is accepted there. The model also predicts which requests FlashCopy refuses,
from the extents alone, so that a wrong refusal is caught as surely as a wrong byte.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine import errors

Track = bytes | None


@dataclass
class ModelRel:
    id: int
    src: str
    s: int
    tgt: str
    t: int
    n: int
    persistent: bool
    incremental: bool
    inhibit: bool
    tgt_written: bool = False

    def src_overlap(self, vol: str, a: int, n: int) -> bool:
        return vol == self.src and a < self.s + self.n and self.s < a + n

    def tgt_overlap(self, vol: str, a: int, n: int) -> bool:
        return vol == self.tgt and a < self.t + self.n and self.t < a + n


class FlashCopyModel:
    def __init__(
        self,
        volumes: dict[str, int],
        track_size: int,
        max_per_track: int,
        cascading: bool = True,
        multiple_incremental: bool = False,
    ) -> None:
        self.tracks: dict[str, list[Track]] = {v: [bytes(track_size)] * n for v, n in volumes.items()}
        self.rels: dict[int, ModelRel] = {}
        self.max_per_track = max_per_track
        self.cascading = cascading
        self.multiple_incremental = multiple_incremental

    # -- data ---------------------------------------------------------------------------------
    def write(self, vol: str, k: int, data: bytes) -> None:
        self.tracks[vol][k] = data
        for r in self.rels.values():
            if r.tgt_overlap(vol, k, 1):
                r.tgt_written = True

    def flash(self, src: str, s: int, tgt: str, t: int, n: int) -> None:
        snapshot = self.tracks[src][s : s + n]
        self.tracks[tgt][t : t + n] = snapshot

    def invalidate(self, vol: str, tracks: list[int]) -> None:
        for k in tracks:
            self.tracks[vol][k] = None

    # -- refusals, in the order the engine checks them ------------------------------------------
    def establish_refusal(
        self, src: str, s: int, tgt: str, t: int, n: int, incremental: bool
    ) -> type[Exception] | None:
        if src == tgt and s < t + n and t < s + n:
            return errors.ExtentOverlap
        if any(r.tgt_overlap(tgt, t, n) for r in self.rels.values()):
            return errors.TargetInRelationship
        if not self.cascading and (
            any(r.tgt_overlap(src, s, n) for r in self.rels.values())
            or any(r.src_overlap(tgt, t, n) for r in self.rels.values())
        ):
            return errors.CascadeNotAllowed
        if self._reaches(tgt, t, n, src, s, n):
            return errors.RelationshipLoop
        if self._max_fanout(src, s, n) + 1 > self.max_per_track:
            return errors.TooManyRelationships
        if (
            incremental
            and not self.multiple_incremental
            and any(r.incremental and r.src_overlap(src, s, n) for r in self.rels.values())
        ):
            return errors.IncrementalLimit
        return None

    def reverse_refusal(self, rel: ModelRel, fast: bool, out_of_sync: int) -> type[Exception] | None:
        if fast:
            if rel.tgt_written:
                return errors.TargetChanged
        else:
            if not rel.incremental:
                return errors.NotIncremental
            if out_of_sync:
                return errors.CopyInProgress
        if any(r.tgt_overlap(rel.src, rel.s, rel.n) for r in self.rels.values()):
            return errors.TargetInRelationship
        if self._max_fanout(rel.tgt, rel.t, rel.n) + 1 > self.max_per_track:
            return errors.TooManyRelationships
        if not self.cascading and sum(1 for r in self.rels.values() if r.src == rel.src) > 1:
            return errors.CascadeNotAllowed
        return None

    def _reaches(self, vol: str, a: int, n: int, dst: str, ds: int, dn: int) -> bool:
        """Does (vol, a..a+n) feed (dst, ds..ds+dn) through existing relationships?"""
        todo, seen = [(vol, a, n)], set()
        while todo:
            v, x, m = todo.pop()
            if (v, x, m) in seen:
                continue
            seen.add((v, x, m))
            if v == dst and x < ds + dn and ds < x + m:
                return True
            for r in self.rels.values():
                if r.src == v:
                    lo, hi = max(x, r.s), min(x + m, r.s + r.n)
                    if lo < hi:
                        todo.append((r.tgt, r.t + lo - r.s, hi - lo))
        return False

    def _max_fanout(self, vol: str, a: int, n: int) -> int:
        best = 0
        for k in range(a, a + n):
            best = max(best, sum(1 for r in self.rels.values() if r.src_overlap(vol, k, 1)))
        return best
