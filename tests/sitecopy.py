"""A site copied cheaply: only the data regions of its sparse images, so that a test can start
from a fresh copy of one seeded template site."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def _sparse_copy(src: str, dst: str) -> None:
    """Copy only the data regions: a demo site is mostly holes, and copying 260 MB of zeros per
    test would dominate the console suite."""
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        size = os.fstat(fi.fileno()).st_size
        pos = 0
        while pos < size:
            try:
                start = os.lseek(fi.fileno(), pos, os.SEEK_DATA)
            except OSError:  # no data after pos
                break
            end = os.lseek(fi.fileno(), start, os.SEEK_HOLE)
            fi.seek(start)
            fo.seek(start)
            left = end - start
            while left:
                data = fi.read(min(left, 1 << 20))
                fo.write(data)
                left -= len(data)
            pos = end
        fo.truncate(size)
    shutil.copystat(src, dst)


def copy_site(template: Path, dst: Path) -> Path:
    shutil.copytree(template, dst, copy_function=_sparse_copy)
    (dst / "site.lock").unlink(missing_ok=True)
    return dst


__all__ = ["copy_site"]
