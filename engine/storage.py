"""Volume: a track-addressed, sparse image file.

Track k lives at byte k * slot_size; a slot is the track rounded up to whole pages, so a
single-track write never straddles a partial page. The file is created sparse at its full
size, so an unwritten 3390-54 costs no disk, and unwritten tracks read as zeros.

Images are opened on demand through `ImageFiles`, a bounded pool of file descriptors, so a
site may hold far more volumes than the process may keep files open (tens of thousands under
`ulimit -n 1024`).

The `*_sync` methods do blocking I/O and are meant for worker threads (the FlashCopy core
runs there). The `async` methods hand the same work to a thread so that the event loop
never waits on the disk.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import os
import resource
import threading
from collections import OrderedDict
from pathlib import Path

from engine.errors import (
    TrackDataError,
    VolumeError,
    VolumeImageMissing,
    VolumeImageShort,
    VolumeSpaceExhausted,
)
from engine.geometry import Geometry, validate_volser
from engine.paths import private_file

#: copy_file_range hands the kernel at most this many bytes per call (keeps calls short).
COPY_CHUNK = 64 * 1024 * 1024

#: a pwritev takes at most IOV_MAX (1,024 on Linux) buffers: a track and its padding are two
_TRACKS_PER_WRITEV = 512


def _space_error(exc: OSError, volser: str, what: str) -> VolumeError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return VolumeSpaceExhausted(
            f"{volser}: no space left in the file system holding the volume images while {what}"
        )
    return VolumeError(f"{volser}: I/O error while {what}: {exc.strerror or exc}")


def _default_limit() -> int:
    """A quarter of the process's open-file limit, at most 256: the rest stays free for the
    catalog, tapes, sockets and the console."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 256
    return max(8, min(256, soft // 4))


class ImageFiles:
    """A bounded, least-recently-used set of open image files shared by every volume of the
    process (the open-file limit is per process). A descriptor in use (pinned) is never closed
    under its user; when every descriptor is pinned the pool grows past its limit rather than
    fail, and shrinks again as they are released."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit or _default_limit()
        self._lock = threading.Lock()
        self._open: OrderedDict[Volume, int] = OrderedDict()
        self._pins: dict[Volume, int] = {}
        self.opened = 0  # how many times an image was opened (tests and benchmarks read it)

    def __len__(self) -> int:
        return len(self._open)

    def pin(self, volume: Volume) -> int:
        """The volume's open descriptor, kept open until `unpin` (every pin has its unpin)."""
        with self._lock:
            fd = self._open.get(volume)
            if fd is None:
                self._shrink(self.limit - 1)
                fd = volume.open_descriptor()
                self._open[volume] = fd
                self.opened += 1
            else:
                self._open.move_to_end(volume)
            self._pins[volume] = self._pins.get(volume, 0) + 1
            return fd

    def unpin(self, volume: Volume) -> None:
        with self._lock:
            left = self._pins[volume] - 1
            if left:
                self._pins[volume] = left
            else:
                del self._pins[volume]
                if len(self._open) > self.limit:
                    self._shrink(self.limit)

    def use(self, volume: Volume) -> Pinned:
        """`with files.use(volume) as fd:` - pinned for the block."""
        return Pinned(self, volume)

    def forget(self, volume: Volume) -> None:
        """Close the volume's descriptor (the volume is being closed)."""
        with self._lock:
            if volume in self._pins:
                raise VolumeError(f"{volume.volser}: volume closed while its image is in use")
            fd = self._open.pop(volume, None)
        if fd is not None:
            os.close(fd)

    def _shrink(self, size: int) -> None:
        """Close least recently used, unpinned descriptors until at most `size` stay open."""
        if len(self._open) <= size:
            return
        for vol in [v for v in self._open if v not in self._pins]:
            os.close(self._open.pop(vol))
            if len(self._open) <= size:
                return


class Pinned:
    """A pin as a context manager (a class, not a generator: it runs on every track I/O)."""

    __slots__ = ("_files", "_volume")

    def __init__(self, files: ImageFiles, volume: Volume) -> None:
        self._files, self._volume = files, volume

    def __enter__(self) -> int:
        return self._files.pin(self._volume)

    def __exit__(self, *exc: object) -> None:
        self._files.unpin(self._volume)


#: the process's pool (see ImageFiles)
IMAGE_FILES = ImageFiles()


@functools.lru_cache(maxsize=16)
def _padding(size: int) -> bytes:
    """The zeros after a track in its slot: one object per size, not one per volume (a site
    has tens of thousands of volumes)."""
    return bytes(size)


class Volume:
    """One DASD volume backed by an image file (opened on demand through `ImageFiles`)."""

    def __init__(self, volser: str, geometry: Geometry, path: Path, files: ImageFiles = IMAGE_FILES) -> None:
        self.volser = volser
        self.geometry = geometry
        self.path = path
        self._files = files
        self._closed = False
        # read on every track I/O: kept as plain attributes, not recomputed from the geometry
        self._slot = geometry.slot_size
        self._track_size = geometry.track_size
        self._pad = _padding(self._slot - self._track_size)
        # host writes the FlashCopy core holds back until its next group commit (its write
        # cache, FlashCopyCore._destage): track -> data. Every read and copy from this volume
        # sees them; only destage_sync writes them to the image.
        self._held: dict[int, bytes] = {}

    # -- lifecycle ----------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], volser: str, geometry: Geometry) -> Volume:
        """Create a new, empty (all-zero, sparse) image; refuses to overwrite an existing one."""
        volser = validate_volser(volser)
        p = Path(path)
        try:
            fd = private_file(p, os.O_RDWR | os.O_EXCL)
        except FileExistsError:
            raise VolumeError(f"{volser}: image {p} already exists") from None
        try:
            os.ftruncate(fd, geometry.image_size)
        except OSError as exc:
            p.unlink(missing_ok=True)
            raise _space_error(exc, volser, "creating its image") from exc
        finally:
            os.close(fd)
        return cls(volser, geometry, p)

    @classmethod
    def open(cls, path: str | os.PathLike[str], volser: str, geometry: Geometry) -> Volume:
        """Check an existing image is there and as large as its geometry says (without keeping
        it open: it is opened when it is read or written)."""
        volser = validate_volser(volser)
        vol = cls(volser, geometry, Path(path))
        vol.check_image()
        return vol

    def check_image(self) -> None:
        p = self.path
        try:
            size = os.stat(p).st_size
        except FileNotFoundError:
            raise VolumeImageMissing(f"{self.volser}: volume image {p} is missing") from None
        except OSError as exc:
            raise VolumeError(f"{self.volser}: cannot open {p}: {exc.strerror}") from None
        if size < self.geometry.image_size:
            raise VolumeImageShort(
                f"{self.volser}: image {p} holds {size:,} bytes but a {self.geometry.describe()} needs "
                f"{self.geometry.image_size:,}; the image is truncated"
            )

    def open_descriptor(self) -> int:
        """Open the image for the pool (ImageFiles.use is the only caller)."""
        if self._closed:
            raise VolumeError(f"{self.volser}: volume is closed")
        try:
            return os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            raise VolumeImageMissing(f"{self.volser}: volume image {self.path} is missing") from None
        except OSError as exc:
            raise VolumeError(f"{self.volser}: cannot open {self.path}: {exc.strerror}") from None

    def close(self) -> None:
        if not self._closed:
            if self._held:  # the core destages before it closes: this is only the last resort
                self.destage_sync()
            self._closed = True
            self._files.forget(self)

    def _fd(self) -> Pinned:
        return Pinned(self._files, self)

    @property
    def tracks(self) -> int:
        return self.geometry.tracks

    def __repr__(self) -> str:
        return f"Volume({self.volser}, {self.geometry.describe()})"

    # -- blocking track I/O (call from a worker thread) ---------------------------------------
    def _offset(self, track: int) -> int:
        return track * self._slot

    # -- held host writes (the core's write cache) -----------------------------------------
    def hold_tracks(self, first: int, tracks: list[bytes]) -> None:
        """Keep a host write back from the image: it reaches it at destage_sync."""
        self.geometry.check_extent(first, len(tracks))
        for i, data in enumerate(tracks):
            if len(data) != self._track_size:
                self._check_data(data)
            self._held[first + i] = data

    @property
    def holding(self) -> int:
        """How many tracks are held."""
        return len(self._held)

    def forget_held(self) -> None:
        """Drop the held writes unwritten: this process may write the image no more (a host of the
        plex whose lease ends); the held-write log keeps them for whoever opens the site next."""
        self._held = {}

    def _holds_any(self, first: int, count: int) -> bool:
        held = self._held
        if count <= len(held):
            return any(k in held for k in range(first, first + count))
        return any(first <= k < first + count for k in held)

    def destage_sync(self) -> int:
        """Write the held tracks to the image, in runs; the caller has first made durable what
        they must follow. Returns how many were written; on an error all stay held."""
        held, self._held = self._held, {}
        try:
            keys = sorted(held)
            start = 0
            for i in range(1, len(keys) + 1):
                if i == len(keys) or keys[i] != keys[i - 1] + 1:
                    self.write_tracks_sync(keys[start], [held[k] for k in keys[start:i]])
                    start = i
        except BaseException:
            self._held = {**held, **self._held}
            raise
        return len(held)

    def read_track_sync(self, track: int) -> bytes:
        self.geometry.check_track(track)
        if self._held and (data := self._held.get(track)) is not None:
            return data
        with self._fd() as fd:
            data = os.pread(fd, self.geometry.track_size, self._offset(track))
        if len(data) < self.geometry.track_size:  # image shorter than expected: zeros
            data = data + bytes(self.geometry.track_size - len(data))
        return data

    def read_tracks_sync(self, first: int, count: int) -> list[bytes]:
        """Read a run of tracks with one system call."""
        self.geometry.check_extent(first, count)
        slot, size = self.geometry.slot_size, self.geometry.track_size
        with self._fd() as fd:
            raw = os.pread(fd, slot * count, self._offset(first))
        if len(raw) < slot * count:
            raw = raw + bytes(slot * count - len(raw))
        out = [raw[i * slot : i * slot + size] for i in range(count)]
        if self._held:
            for k, data in self._held.items():
                if first <= k < first + count:
                    out[k - first] = data
        return out

    def write_track_sync(self, track: int, data: bytes) -> None:
        self.geometry.check_track(track)
        self._check_data(data)
        if self._held and track in self._held:  # behind a held write: held too, never before it
            self._held[track] = data
            return
        self._pwrite(data, self._offset(track), f"writing track {track}")

    def write_tracks_sync(self, first: int, tracks: list[bytes]) -> None:
        """Write a run of whole tracks with one system call per IOV_MAX/2 tracks (each track and
        its slot's padding go to the kernel as they are: no joined copy of the run)."""
        self.geometry.check_extent(first, len(tracks))
        size, pad = self._track_size, self._pad
        for data in tracks:
            if len(data) != size:
                self._check_data(data)
        if self._held and self._holds_any(first, len(tracks)):  # never ahead of a held write
            self.hold_tracks(first, tracks)
            return
        offset = first * self._slot
        files = self._files
        fd = files.pin(self)  # pinned directly (no context object): this runs on every host write
        try:
            for i in range(0, len(tracks), _TRACKS_PER_WRITEV):
                run = tracks[i : i + _TRACKS_PER_WRITEV]
                buffers: list[bytes] = []
                for data in run:
                    buffers += (data, pad)
                want = len(run) * self._slot
                done = os.pwritev(fd, buffers, offset)
                if done < want:  # a short write (rare): finish the rest from one buffer
                    _pwrite_all(fd, memoryview(b"".join(buffers))[done:], offset + done)
                offset += want
        except OSError as exc:
            raise _space_error(exc, self.volser, f"writing tracks {first}-{first + len(tracks) - 1}") from exc
        finally:
            files.unpin(self)

    def _check_data(self, data: bytes) -> None:
        if len(data) != self.geometry.track_size:
            raise TrackDataError(
                f"{self.volser}: a track holds exactly {self.geometry.track_size:,} bytes, got {len(data):,}"
            )

    def _pwrite(self, data: bytes | memoryview, offset: int, what: str) -> None:
        try:
            with self._fd() as fd:
                _pwrite_all(fd, memoryview(data), offset)
        except OSError as exc:
            raise _space_error(exc, self.volser, what) from exc

    def copy_tracks_to_sync(self, first: int, target: Volume, target_first: int, count: int) -> None:
        """Copy a run of physical tracks into another (or the same) volume, in the kernel."""
        slot = self._slot
        if target._slot != slot:
            raise TrackDataError(f"{self.volser} and {target.volser} are not like devices")
        if self._held and self._holds_any(first, count):  # the newest data is held, not in the image
            target.write_tracks_sync(target_first, self.read_tracks_sync(first, count))
            return
        src, dst = first * slot, target_first * slot
        remaining = count * slot
        # both descriptors pinned directly (no context objects): this runs on every host
        # write's copy-on-write
        files, tfiles = self._files, target._files
        sfd = files.pin(self)
        try:
            tfd = tfiles.pin(target)
            try:
                while remaining:
                    n = os.copy_file_range(sfd, tfd, min(remaining, COPY_CHUNK), src, dst)
                    if n <= 0:  # source shorter than expected (truncated image): fill with zeros
                        target._pwrite(bytes(remaining), dst, "copying tracks")
                        return
                    src, dst, remaining = src + n, dst + n, remaining - n
            finally:
                tfiles.unpin(target)
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
                self._copy_by_buffer(src, target, dst, remaining)
                return
            raise _space_error(exc, target.volser, "copying tracks") from exc
        finally:
            files.unpin(self)

    def _copy_by_buffer(self, src: int, target: Volume, dst: int, remaining: int) -> None:
        buf = bytearray(min(remaining, COPY_CHUNK))
        while remaining:
            with self._fd() as fd:
                n = os.preadv(fd, [memoryview(buf)[: min(remaining, len(buf))]], src)
            if n <= 0:
                target._pwrite(bytes(remaining), dst, "copying tracks")
                return
            target._pwrite(memoryview(buf)[:n], dst, "copying tracks")
            src, dst, remaining = src + n, dst + n, remaining - n

    def flush_sync(self) -> None:
        """Make everything written so far durable (power-loss safety)."""
        try:
            with self._fd() as fd:
                os.fdatasync(fd)
        except OSError as exc:
            raise _space_error(exc, self.volser, "flushing") from exc

    def allocated_bytes(self) -> int:
        """Disk space the sparse image really uses."""
        return os.stat(self.path).st_blocks * 512

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


def _pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def patch_track(track: bytes, offset: int, data: bytes) -> bytes:
    """Return `track` with `data` written at `offset` (the partial update of a record)."""
    if offset < 0 or offset + len(data) > len(track):
        raise TrackDataError(f"bytes {offset}-{offset + len(data) - 1} do not fit in a {len(track):,}-byte track")
    return track[:offset] + data + track[offset + len(data) :]
