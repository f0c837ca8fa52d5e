"""A recording pass-through file system (FUSE, through mfusepy and libfuse 3): every file of a
directory served at a mount point, and every change made to it recorded in order, with its bytes:
writes, truncations, creations, renames, removals, and the flushes (fsync, fdatasync, a
directory's fsync) that make them durable. It sits below everything the site does — volume
images, tapes, the catalog (SQLite's database, WAL and journal files included), the audit head,
transcripts, logs — so the power-loss harness (tests/power/states.py) can build every disk a
power cut could leave.

Run as its own process (the site runs in another, so that no FUSE request waits on the process
that serves it):

    python -m tests.power.recordfs BACKING MOUNT LOG

On unmount it writes the log (a pickled list of Op) to LOG.
"""

from __future__ import annotations

import errno
import os
import pickle
import sys
import threading
from dataclasses import dataclass
from typing import Any

import mfusepy as fuse


@dataclass(frozen=True, slots=True)
class Op:
    """One change or flush, in the order the file system received it. `path` is relative to the
    mount point; `data` holds a write's bytes, `size` a truncation's length."""

    kind: str  # write | truncate | create | mkdir | unlink | rmdir | rename | fsync | fdatasync | fsyncdir
    path: str
    offset: int = 0
    data: bytes = b""
    size: int = 0
    to: str = ""  # rename's new path


class Recorder(fuse.Operations):
    use_ns = True

    def __init__(self, backing: str, log: str) -> None:
        self.backing = backing
        self.log_path = log
        self.ops: list[Op] = []
        self._mutex = threading.Lock()

    def _real(self, path: str) -> str:
        return os.path.join(self.backing, path.lstrip("/"))

    def _record(self, op: Op) -> None:
        with self._mutex:
            self.ops.append(op)

    def destroy(self, path: str) -> None:
        with open(self.log_path, "wb") as f:  # tuples: this module runs as __main__ here
            pickle.dump([(o.kind, o.path, o.offset, o.data, o.size, o.to) for o in self.ops], f)

    # -- reads --------------------------------------------------------------------------------
    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        st = os.fstat(fh) if fh is not None else os.lstat(self._real(path))
        keys = ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_atime_ns", "st_mtime_ns", "st_ctime_ns")
        out = {k.replace("_ns", ""): getattr(st, k) for k in keys}
        out["st_blocks"] = st.st_blocks
        return out

    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", *os.listdir(self._real(path))]

    def access(self, path: str, amode: int) -> int:
        if not os.access(self._real(path), amode):
            raise fuse.FuseOSError(errno.EACCES)
        return 0

    def statfs(self, path: str) -> dict[str, int]:
        st = os.statvfs(self._real(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag", "f_frsize")
        return {k: getattr(st, k) for k in keys} | {"f_namemax": 255}

    def readlink(self, path: str) -> str:
        return os.readlink(self._real(path))

    def open(self, path: str, flags: int) -> int:
        return os.open(self._real(path), flags & ~(os.O_CREAT | os.O_EXCL))

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return os.pread(fh, size, offset)

    def opendir(self, path: str) -> int:
        return 0

    def releasedir(self, path: str, fh: int) -> int:
        return 0

    # -- changes ------------------------------------------------------------------------------
    def create(self, path: str, mode: int, fi: Any = None) -> int:
        existed = os.path.exists(self._real(path))
        fd = os.open(self._real(path), os.O_RDWR | os.O_CREAT, mode)
        if not existed:
            self._record(Op("create", path))
        return fd

    def mkdir(self, path: str, mode: int) -> int:
        os.mkdir(self._real(path), mode)
        self._record(Op("mkdir", path))
        return 0

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        n = os.pwrite(fh, data, offset)
        self._record(Op("write", path, offset, bytes(data[:n])))
        return n

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            os.truncate(self._real(path), length)
        self._record(Op("truncate", path, size=length))
        return 0

    def unlink(self, path: str) -> int:
        os.unlink(self._real(path))
        self._record(Op("unlink", path))
        return 0

    def rmdir(self, path: str) -> int:
        os.rmdir(self._real(path))
        self._record(Op("rmdir", path))
        return 0

    def rename(self, old: str, new: str) -> int:
        os.rename(self._real(old), self._real(new))
        self._record(Op("rename", old, to=new))
        return 0

    def chmod(self, path: str, mode: int) -> int:
        os.chmod(self._real(path), mode)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        os.chown(self._real(path), uid, gid)
        return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        os.utime(self._real(path), ns=times)
        return 0

    def symlink(self, target: str, source: str) -> int:
        os.symlink(source, self._real(target))
        return 0

    # -- flushes ------------------------------------------------------------------------------
    def fsync(self, path: str, datasync: int, fh: int) -> int:
        (os.fdatasync if datasync else os.fsync)(fh)
        self._record(Op("fdatasync" if datasync else "fsync", path))
        return 0

    def fsyncdir(self, path: str, datasync: int, fh: int) -> int:
        self._record(Op("fsyncdir", path))
        return 0

    def flush(self, path: str, fh: int) -> int:
        return 0

    def release(self, path: str, fh: int) -> int:
        os.close(fh)
        return 0


def load(log: str | os.PathLike[str]) -> list[Op]:
    with open(log, "rb") as f:
        return [Op(*t) for t in pickle.load(f)]


def main() -> None:
    backing, mount, log = sys.argv[1:4]
    fuse.FUSE(Recorder(backing, log), mount, foreground=True, nothreads=True, default_permissions=False)


if __name__ == "__main__":
    main()
