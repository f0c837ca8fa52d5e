import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.trackmap import TrackMap


def test_ranges_counts_runs():
    m = TrackMap(20)
    m.set_range(2, 3)
    m.set_range(10, 5)
    assert m.count() == 8 and m.first_set() == 2 and m.first_set(5) == 10
    assert list(m.runs()) == [(2, 3), (10, 5)]
    assert list(m.runs(max_run=2)) == [(2, 2), (4, 1), (10, 2), (12, 2), (14, 1)]
    assert list(m.runs(11, 13)) == [(11, 2)]
    m.clear_range(11, 2)
    assert m.tracks() == [2, 3, 4, 10, 13, 14]
    assert m.first_clear(2) == 5 and m.first_set(15) == -1
    assert not TrackMap(5).any() and TrackMap.ones(5).count() == 5


def test_slices_and_masks():
    m = TrackMap.ones(10)
    other = TrackMap.from_tracks(4, [1, 2])
    m.and_not_at(3, other)
    assert m.tracks() == [0, 1, 2, 3, 6, 7, 8, 9]
    z = TrackMap(10)
    z.or_at(5, other)
    assert z.tracks() == [6, 7]
    assert (m | z).count() == 8 and (m & z).tracks() == [6, 7]
    assert m.slice(2, 4).tracks() == [0, 1]


def test_eav_sized_map_is_small_when_uniform():
    m = TrackMap.ones(17_730_090)
    assert len(m.to_bytes()) < 64
    assert TrackMap.from_bytes(m.to_bytes()) == m


def test_a_uniform_map_read_back_costs_no_bits_until_it_changes():
    """A site of 20,000 volumes reads tens of thousands of uniform maps at open (#17)."""
    encoded = [TrackMap(150_255, fill).to_bytes() for fill in (False, True)]
    tracemalloc.start()
    try:
        maps = [TrackMap.from_bytes(encoded[n % 2], 150_255) for n in range(200)]
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 200 * 1024  # the bits would be 200 x 18.8 KB
    assert [m.count() for m in maps[:2]] == [0, 150_255]
    maps[0].set_range(7, 3)
    assert maps[0].tracks() == [7, 8, 9] and maps[2].count() == 0


@given(st.lists(st.integers(0, 499), max_size=80), st.integers(1, 500))
def test_serialisation_and_runs_match_a_set(tracks, n):
    tracks = [t % n for t in tracks]
    m = TrackMap.from_tracks(n, tracks)
    assert TrackMap.from_bytes(m.to_bytes()) == m
    assert m.tracks() == sorted(set(tracks))
    rebuilt = [first + i for first, cnt in m.runs(max_run=3) for i in range(cnt)]
    assert rebuilt == sorted(set(tracks))
    assert sum(cnt for v, _, cnt in m.segments()) == n


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.integers(min_value=1, max_value=100_000))
def test_damaged_bytes_are_a_value_error_and_never_a_huge_allocation(data, tracks):
    """A catalog bitmap that is not what to_bytes made: ValueError, nothing else (random bytes
    could otherwise declare a length in the exabytes, or end mid-stream)."""
    try:
        m = TrackMap.from_bytes(data, tracks)
    except ValueError:
        return
    assert len(m) == tracks


def test_a_map_of_the_wrong_length_is_refused_before_decoding():
    with pytest.raises(ValueError, match="for 7 tracks, not 60"):
        TrackMap.from_bytes(TrackMap.ones(7).to_bytes(), 60)
    assert len(TrackMap.from_bytes(TrackMap.ones(60).to_bytes(), 60)) == 60
