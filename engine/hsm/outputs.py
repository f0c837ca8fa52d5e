"""LIST's and AUDIT's OUTDATASET(dsn): the listing as a file in the site's output area
(`output/<dsn>.txt`, the owner's alone like every file of the site), replaced whole by the next
listing to the same name; at most MAX_FILES of them."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from engine.messages import CommandResult
from engine.paths import fsync_dir, private_dir, private_file

FOLDER = "output"
MAX_FILES = 1_000


def write_listing(root: Path, dsn: str, res: CommandResult) -> None:
    folder = root / FOLDER
    with contextlib.suppress(FileExistsError):
        private_dir(folder)
    path = folder / f"{dsn}.txt"
    if not path.exists() and sum(1 for _ in folder.iterdir()) >= MAX_FILES:
        res.add("FPL191E", f"{folder} HOLDS {MAX_FILES:,} LISTINGS, THE MOST A SITE KEEPS: THE LISTING FOLLOWS HERE")
        res.fail(4)
        return
    work = folder / f".{dsn}.{os.getpid()}.tmp"
    fd = private_file(work, os.O_WRONLY | os.O_TRUNC)
    with open(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(res.listing) + "\n")
    os.replace(work, path)
    fsync_dir(folder)
    lines = len(res.listing)
    res.listing.clear()
    res.add("FPL190I", f"THE LISTING ({lines} LINES) WAS WRITTEN TO {dsn}: {path}")


__all__ = ["FOLDER", "MAX_FILES", "write_listing"]
