"""LIST's and AUDIT's OUTDATASET(dsn): the listing as a new file in the site's output area
(`output/<dsn>.txt`, or `<dsn>-2.txt`, ... when that name holds an earlier listing: one listing
never replaces another, whoever wrote it), the owner's alone like every file of the site; at most
MAX_FILES of them."""

from __future__ import annotations

from pathlib import Path

from engine.messages import CommandResult
from engine.paths import new_file

FOLDER = "output"
MAX_FILES = 1_000


def write_listing(root: Path, dsn: str, res: CommandResult) -> None:
    folder = root / FOLDER
    path = new_file(folder, dsn, ("\n".join(res.listing) + "\n").encode("utf-8", "backslashreplace"), MAX_FILES)
    if path is None:
        res.add("FPL191E", f"{folder} HOLDS {MAX_FILES:,} LISTINGS, THE MOST A SITE KEEPS: THE LISTING FOLLOWS HERE")
        res.fail(4)
        return
    lines = len(res.listing)
    res.listing.clear()
    res.add("FPL190I", f"THE LISTING ({lines} LINES) WAS WRITTEN TO {dsn} AS A NEW FILE: {path}")


__all__ = ["FOLDER", "MAX_FILES", "write_listing"]
