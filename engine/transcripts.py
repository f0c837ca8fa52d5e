"""A walkthrough's transcript saved in the site's `transcripts/` folder: never over another one,
bounded in size and in number, the owner's alone like every file of the site."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from engine.errors import FlashpoolError
from engine.paths import private_dir, private_file

FOLDER = "transcripts"
MAX_BYTES = 256 << 10  # a walkthrough's transcript is a few kilobytes
MAX_FILES = 1_000


class TranscriptRefused(FlashpoolError):
    pass


def safe_name(name: str) -> str:
    return "".join(c for c in name if c.isascii() and (c.isalnum() or c in "-_."))[:80].lstrip(".") or "transcript"


def save(root: Path, name: str, text: str) -> Path:
    """Write a new file `transcripts/<name>.txt` (`<name>-2.txt`, ... if taken); blocking."""
    data = text.encode("utf-8", "backslashreplace")
    if len(data) > MAX_BYTES:
        raise TranscriptRefused(f"a transcript is at most {MAX_BYTES:,} bytes; this one has {len(data):,}")
    folder = root / FOLDER
    with contextlib.suppress(FileExistsError):
        private_dir(folder)
    kept = sum(1 for _ in folder.iterdir())
    if kept >= MAX_FILES:
        raise TranscriptRefused(
            f"{folder} holds {kept:,} transcripts, the most a site keeps: move old ones away, then export again"
        )
    base = safe_name(name)
    for n in range(1, MAX_FILES + 2):
        path = folder / (f"{base}.txt" if n == 1 else f"{base}-{n}.txt")
        try:
            fd = private_file(path, os.O_WRONLY | os.O_EXCL)
        except FileExistsError:
            continue
        try:
            with open(fd, "wb") as f:
                f.write(data)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path
    raise TranscriptRefused(f"every name for {base} in {folder} is taken")


__all__ = ["MAX_BYTES", "MAX_FILES", "TranscriptRefused", "save"]
