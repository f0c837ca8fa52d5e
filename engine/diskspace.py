"""Whether the file system under a path is full: what SQLite reports as a plain "disk I/O error"
when it cannot grow its write-ahead log or shared memory file is, on a full disk, a full disk
(ENOSPC), never damage to restore from a copy."""

from __future__ import annotations

import errno
import os
from pathlib import Path

#: less free space than this is a full file system for the catalog (a WAL frame and its index)
NEARLY_FULL = 1 << 20


def free_bytes(path: Path) -> int | None:
    """Bytes an unprivileged writer may still use where `path` lies (None: cannot tell)."""
    for p in (path, *path.parents):
        try:
            st = os.statvfs(p)
        except OSError:
            continue
        return st.f_bavail * st.f_frsize
    return None


def full(path: Path | None, exc: BaseException) -> bool:
    """Whether `exc` is a full file system: ENOSPC, SQLite's "database or disk is full", or an I/O
    error where `path` lies on a file system with (next to) no space left."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(getattr(exc, "orig", None) or exc).lower()
    if "full" in text:
        return True
    if path is not None and "i/o error" in text:
        left = free_bytes(path)
        return left is not None and left < NEARLY_FULL
    return False


__all__ = ["NEARLY_FULL", "free_bytes", "full"]
