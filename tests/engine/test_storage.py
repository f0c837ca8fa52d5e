import errno
import os

import pytest

from engine.errors import TrackDataError, VolumeError, VolumeImageMissing, VolumeImageShort, VolumeSpaceExhausted
from engine.geometry import TRACK_SIZE, custom_geometry, geometry_for
from engine.storage import ImageFiles, Volume
from tests.conftest import track


def test_unwritten_tracks_read_as_zeros_and_cost_no_disk(tmp_path):
    vol = Volume.create(tmp_path / "big.img", "BIG001", geometry_for("3390-54"))
    try:
        assert os.path.getsize(vol.path) == 982_800 * 57_344
        assert vol.allocated_bytes() < 1_000_000  # sparse
        assert vol.read_track_sync(982_799) == bytes(TRACK_SIZE)
        data = bytes(range(256)) * 221 + bytes(88)
        vol.write_track_sync(500_000, data)
        assert vol.read_track_sync(500_000) == data
        assert vol.read_track_sync(500_001) == bytes(TRACK_SIZE)
    finally:
        vol.close()


@pytest.mark.parametrize(("start", "count"), [(3, 5), (50, 1200)], ids=["short", "longer-than-one-pwritev"])
def test_runs_round_trip(make_volume, start, count):
    """A run, and the blank tracks either side of it; a pwritev takes at most 1,024 buffers (two
    a track), so a run of 1,200 goes in several."""
    vol = make_volume("RUN1", start + count + 50)
    tracks = [track(f"t{i}") for i in range(count)]
    vol.write_tracks_sync(start, tracks)
    assert vol.read_tracks_sync(start, count) == tracks
    assert vol.read_tracks_sync(start - 1, 1) == [bytes(64)]
    assert vol.read_tracks_sync(start + count, 1) == [bytes(64)]


def test_a_short_vectored_write_is_finished(make_volume, monkeypatch):
    """The kernel may write less than asked (a signal, a nearly full quota): the rest follows."""
    vol = make_volume("SHORT1", 16)
    real = os.pwritev

    def short(fd, buffers, offset):
        return real(fd, [bytes(buffers[0])[:10]], offset)  # only the first 10 bytes land

    monkeypatch.setattr(os, "pwritev", short)
    tracks = [track("s0"), track("s1"), track("s2")]
    vol.write_tracks_sync(4, tracks)
    monkeypatch.undo()
    assert vol.read_tracks_sync(4, 3) == tracks


def test_partial_update(make_volume):
    vol = make_volume("UPD1")
    vol.write_track_sync(1, track("hello"))
    vol.update_track_sync(1, 2, b"XY")
    assert vol.read_track_sync(1)[:6] == b"heXYo."
    with pytest.raises(TrackDataError, match="do not fit"):
        vol.update_track_sync(1, 63, b"XY")


def test_wrong_sizes_and_extents_are_refused(make_volume):
    vol = make_volume("BAD1", 4)
    with pytest.raises(TrackDataError, match="exactly 64 bytes"):
        vol.write_track_sync(0, b"short")
    with pytest.raises(Exception, match="outside"):
        vol.read_track_sync(4)


def test_copy_tracks_between_volumes(make_volume):
    a, b = make_volume("CPA"), make_volume("CPB")
    a.write_tracks_sync(0, [track(f"a{i}") for i in range(4)])
    a.copy_tracks_to_sync(1, b, 10, 3)
    assert b.read_tracks_sync(10, 3) == [track("a1"), track("a2"), track("a3")]


def test_open_checks_image(tmp_path):
    g = custom_geometry(8, 64)
    with pytest.raises(VolumeImageMissing, match="missing"):
        Volume.open(tmp_path / "none.img", "NONE", g)
    vol = Volume.create(tmp_path / "v.img", "V1", g)
    vol.close()
    with pytest.raises(VolumeError, match="already exists"):
        Volume.create(tmp_path / "v.img", "V1", g)
    os.truncate(tmp_path / "v.img", 4096)
    with pytest.raises(VolumeImageShort, match="truncated"):
        Volume.open(tmp_path / "v.img", "V1", g)


def test_disk_full_is_a_specific_error(make_volume, monkeypatch):
    vol = make_volume("FULL1")

    def no_space(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", no_space)
    monkeypatch.setattr(os, "pwritev", no_space)
    with pytest.raises(VolumeSpaceExhausted, match="no space left"):
        vol.write_track_sync(0, track("x"))


async def test_async_io_runs_off_the_loop(make_volume):
    vol = make_volume("ASY1")
    await vol.write_track(2, track("async"))
    assert await vol.read_track(2) == track("async")
    await vol.write_tracks(4, [track("r1"), track("r2")])
    assert await vol.read_tracks(4, 2) == [track("r1"), track("r2")]
    await vol.update_track(2, 0, b"A")
    assert (await vol.read_track(2))[:5] == b"Async"
    await vol.flush()


def test_image_files_stay_within_their_limit_and_never_close_one_in_use(tmp_path):
    """Issue "Nothing a user types ...": images are opened on demand through a bounded pool, so a
    site may hold more volumes than the process may keep files open."""
    files = ImageFiles(limit=3)
    g = custom_geometry(4, 64)
    vols = []
    for i in range(10):
        Volume.create(tmp_path / f"V{i}.img", f"V{i}", g)
        vols.append(Volume(f"V{i}", g, tmp_path / f"V{i}.img", files))
    for round_ in range(3):
        for i, v in enumerate(vols):
            v.write_track_sync(round_, track(f"{i}/{round_}"))
            assert len(files) <= 3
    assert [v.read_track_sync(2) for v in vols] == [track(f"{i}/2") for i in range(10)]
    with files.use(vols[0]) as fd0:  # pinned: four others come and go, fd0 stays valid
        for v in vols[1:5]:
            v.read_track_sync(0)
        assert os.pread(fd0, 5, 2 * g.slot_size) == track("0/2")[:5]
    vols[0].copy_tracks_to_sync(0, vols[9], 3, 1)  # two images pinned at once
    assert vols[9].read_track_sync(3) == track("0/0")
    assert files.opened > 10 and len(files) <= 3
    for v in vols:
        v.close()
    assert len(files) == 0
    with pytest.raises(VolumeError, match="closed"):
        vols[1].read_track_sync(0)


def test_an_image_removed_while_the_site_runs_is_a_volume_error(tmp_path):
    files = ImageFiles(limit=1)
    g = custom_geometry(4, 64)
    a = Volume.create(tmp_path / "A.img", "A", g)
    a = Volume("A", g, a.path, files)
    b = Volume("B", g, Volume.create(tmp_path / "B.img", "B", g).path, files)
    b.read_track_sync(0)  # A's descriptor is closed now
    os.unlink(a.path)
    with pytest.raises(VolumeImageMissing, match="missing"):
        a.read_track_sync(0)
