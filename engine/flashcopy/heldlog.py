"""Host writes the FlashCopy core holds back for its group commit, logged in the kernel's cache.

A held write waits in memory until the flushes and the journal commit it must follow are done
(FlashCopyCore._commit). So that a process crash loses none of them (the kernel keeps what a
process wrote), each is also appended here, unflushed: the next open replays the log through
the core's ordinary write path, in order, then commits and empties it. A power cut may take
the log's tail with it, as it takes any write not yet flushed; every entry carries a CRC, and
replay stops at the first that does not check.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from engine.paths import private_file

MAGIC = b"FPHW"
HEADER = struct.Struct("<4s8sIII")  # magic, volser (padded), track, length, CRC-32 of the data


class HeldLog:
    """Append-only while the core holds writes; emptied after each group commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1
        self._end = 0

    def _open(self) -> int:
        if self._fd < 0:
            self._fd = private_file(self.path, os.O_RDWR)
            self._end = os.fstat(self._fd).st_size
        return self._fd

    def append(self, volser: str, first: int, tracks: list[bytes]) -> None:
        fd = self._open()
        buffers: list[bytes] = []
        for i, data in enumerate(tracks):
            buffers += (HEADER.pack(MAGIC, volser.encode().ljust(8), first + i, len(data), zlib.crc32(data)), data)
        want = sum(len(b) for b in buffers)
        done = os.pwritev(fd, buffers, self._end)
        if done < want:  # a short write: the rest from one buffer
            rest = memoryview(b"".join(buffers))[done:]
            while rest:
                n = os.pwrite(fd, rest, self._end + done)
                rest, done = rest[n:], done + n
        self._end += want

    def entries(self) -> Iterator[tuple[str, int, bytes]]:
        """(volser, track, data) in the order written, up to the first entry that does not check."""
        if not self.path.exists():
            return
        with open(self.path, "rb") as f:
            while head := f.read(HEADER.size):
                if len(head) < HEADER.size:
                    return
                magic, volser, track, length, crc = HEADER.unpack(head)
                data = f.read(length)
                if magic != MAGIC or len(data) < length or zlib.crc32(data) != crc:
                    return
                yield volser.decode(errors="replace").rstrip(), track, data

    def reset(self) -> None:
        """Everything logged has reached its volume (or is to be replayed again): start over."""
        if self._fd >= 0 or self.path.exists():
            os.ftruncate(self._open(), 0)
            self._end = 0

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
