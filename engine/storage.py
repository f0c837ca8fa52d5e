"""Volume: a track-addressed, sparse image file.

Track k lives at byte k * slot_size; a slot is the track rounded up to whole pages, so a
single-track write never straddles a partial page. The file is created sparse at its full
size, so an unwritten 3390-54 costs no disk, and unwritten tracks read as zeros.

The `*_sync` methods do blocking I/O and are meant for worker threads (the FlashCopy core
runs there). The `async` methods hand the same work to a thread so that the event loop
never waits on the disk.
"""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path

from engine.errors import (
    TrackDataError,
    VolumeError,
    VolumeImageMissing,
    VolumeImageShort,
    VolumeSpaceExhausted,
)
from engine.geometry import Geometry, validate_volser

#: copy_file_range hands the kernel at most this many bytes per call (keeps calls short).
COPY_CHUNK = 64 * 1024 * 1024


def _space_error(exc: OSError, volser: str, what: str) -> VolumeError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return VolumeSpaceExhausted(
            f"{volser}: no space left in the file system holding the volume images while {what}"
        )
    return VolumeError(f"{volser}: I/O error while {what}: {exc.strerror or exc}")


class Volume:
    """One DASD volume backed by an image file."""

    def __init__(self, volser: str, geometry: Geometry, path: Path, fd: int) -> None:
        self.volser = volser
        self.geometry = geometry
        self.path = path
        self._fd = fd
        self._zero_track = bytes(geometry.track_size)
        self._pad = bytes(geometry.slot_size - geometry.track_size)

    # -- lifecycle ----------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], volser: str, geometry: Geometry) -> Volume:
        """Create a new, empty (all-zero, sparse) image; refuses to overwrite an existing one."""
        volser = validate_volser(volser)
        p = Path(path)
        try:
            fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise VolumeError(f"{volser}: image {p} already exists") from None
        try:
            os.ftruncate(fd, geometry.image_size)
        except OSError as exc:
            os.close(fd)
            p.unlink(missing_ok=True)
            raise _space_error(exc, volser, "creating its image") from exc
        return cls(volser, geometry, p, fd)

    @classmethod
    def open(cls, path: str | os.PathLike[str], volser: str, geometry: Geometry) -> Volume:
        """Open an existing image, checking it is as large as its geometry says."""
        volser = validate_volser(volser)
        p = Path(path)
        try:
            fd = os.open(p, os.O_RDWR)
        except FileNotFoundError:
            raise VolumeImageMissing(f"{volser}: volume image {p} is missing") from None
        except OSError as exc:
            raise VolumeError(f"{volser}: cannot open {p}: {exc.strerror}") from None
        size = os.fstat(fd).st_size
        if size < geometry.image_size:
            os.close(fd)
            raise VolumeImageShort(
                f"{volser}: image {p} holds {size:,} bytes but a {geometry.describe()} needs "
                f"{geometry.image_size:,}; the image is truncated"
            )
        return cls(volser, geometry, p, fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    @property
    def fd(self) -> int:
        if self._fd < 0:
            raise VolumeError(f"{self.volser}: volume is closed")
        return self._fd

    @property
    def tracks(self) -> int:
        return self.geometry.tracks

    def __repr__(self) -> str:
        return f"Volume({self.volser}, {self.geometry.describe()})"

    # -- blocking track I/O (call from a worker thread) ---------------------------------------
    def _offset(self, track: int) -> int:
        return track * self.geometry.slot_size

    def read_track_sync(self, track: int) -> bytes:
        self.geometry.check_track(track)
        data = os.pread(self.fd, self.geometry.track_size, self._offset(track))
        if len(data) < self.geometry.track_size:  # image shorter than expected: zeros
            data = data + bytes(self.geometry.track_size - len(data))
        return data

    def read_tracks_sync(self, first: int, count: int) -> list[bytes]:
        """Read a run of tracks with one system call."""
        self.geometry.check_extent(first, count)
        slot, size = self.geometry.slot_size, self.geometry.track_size
        raw = os.pread(self.fd, slot * count, self._offset(first))
        if len(raw) < slot * count:
            raw = raw + bytes(slot * count - len(raw))
        return [raw[i * slot : i * slot + size] for i in range(count)]

    def write_track_sync(self, track: int, data: bytes) -> None:
        self.geometry.check_track(track)
        self._check_data(data)
        self._pwrite(data, self._offset(track), f"writing track {track}")

    def write_tracks_sync(self, first: int, tracks: list[bytes]) -> None:
        """Write a run of whole tracks with one system call."""
        self.geometry.check_extent(first, len(tracks))
        for data in tracks:
            self._check_data(data)
        buf = b"".join(t + self._pad for t in tracks)
        self._pwrite(buf, self._offset(first), f"writing tracks {first}-{first + len(tracks) - 1}")

    def _check_data(self, data: bytes) -> None:
        if len(data) != self.geometry.track_size:
            raise TrackDataError(
                f"{self.volser}: a track holds exactly {self.geometry.track_size:,} bytes, "
                f"got {len(data):,}"
            )

    def _pwrite(self, data: bytes, offset: int, what: str) -> None:
        view = memoryview(data)
        try:
            while view:
                n = os.pwrite(self.fd, view, offset)
                view, offset = view[n:], offset + n
        except OSError as exc:
            raise _space_error(exc, self.volser, what) from exc

    def copy_tracks_to_sync(self, first: int, target: Volume, target_first: int, count: int) -> None:
        """Copy a run of physical tracks into another (or the same) volume, in the kernel."""
        slot = self.geometry.slot_size
        if target.geometry.slot_size != slot:
            raise TrackDataError(f"{self.volser} and {target.volser} are not like devices")
        src, dst = self._offset(first), target._offset(target_first)
        remaining = count * slot
        try:
            while remaining:
                n = os.copy_file_range(self.fd, target.fd, min(remaining, COPY_CHUNK), src, dst)
                if n <= 0:  # source shorter than expected (truncated image): fill with zeros
                    target._pwrite(bytes(remaining), dst, "copying tracks")
                    return
                src, dst, remaining = src + n, dst + n, remaining - n
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
                self._copy_by_buffer(src, target, dst, remaining)
                return
            raise _space_error(exc, target.volser, "copying tracks") from exc

    def _copy_by_buffer(self, src: int, target: Volume, dst: int, remaining: int) -> None:
        buf = bytearray(min(remaining, COPY_CHUNK))
        while remaining:
            n = os.preadv(self.fd, [memoryview(buf)[: min(remaining, len(buf))]], src)
            if n <= 0:
                target._pwrite(bytes(remaining), dst, "copying tracks")
                return
            target._pwrite(memoryview(buf)[:n], dst, "copying tracks")
            src, dst, remaining = src + n, dst + n, remaining - n

    def flush_sync(self) -> None:
        """Make everything written so far durable (power-loss safety)."""
        try:
            os.fdatasync(self.fd)
        except OSError as exc:
            raise _space_error(exc, self.volser, "flushing") from exc

    def allocated_bytes(self) -> int:
        """Disk space the sparse image really uses."""
        return os.fstat(self.fd).st_blocks * 512

    # -- async wrappers (never block the event loop) ------------------------------------------
    async def read_track(self, track: int) -> bytes:
        return await asyncio.to_thread(self.read_track_sync, track)

    async def read_tracks(self, first: int, count: int) -> list[bytes]:
        return await asyncio.to_thread(self.read_tracks_sync, first, count)

    async def write_track(self, track: int, data: bytes) -> None:
        await asyncio.to_thread(self.write_track_sync, track, data)

    async def write_tracks(self, first: int, tracks: list[bytes]) -> None:
        await asyncio.to_thread(self.write_tracks_sync, first, tracks)

    async def update_track(self, track: int, offset: int, data: bytes) -> None:
        """Partial update: read the track, patch bytes [offset, offset+len), write it back."""
        await asyncio.to_thread(self.update_track_sync, track, offset, data)

    def update_track_sync(self, track: int, offset: int, data: bytes) -> None:
        self.write_track_sync(track, patch_track(self.read_track_sync(track), offset, data))

    async def flush(self) -> None:
        await asyncio.to_thread(self.flush_sync)


def patch_track(track: bytes, offset: int, data: bytes) -> bytes:
    """Return `track` with `data` written at `offset` (the partial update of a record)."""
    if offset < 0 or offset + len(data) > len(track):
        raise TrackDataError(
            f"bytes {offset}-{offset + len(data) - 1} do not fit in a {len(track):,}-byte track"
        )
    return track[:offset] + data + track[offset + len(data) :]
