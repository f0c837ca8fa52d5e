"""A walkthrough's transcript saved in the site's `transcripts/` folder: never over another one,
bounded in size and in number, the owner's alone like every file of the site."""

from __future__ import annotations

from pathlib import Path

from engine.errors import FlashpoolError
from engine.paths import new_file

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
    path = new_file(folder, safe_name(name), data, MAX_FILES)
    if path is None:
        raise TranscriptRefused(
            f"{folder} holds {MAX_FILES:,} transcripts, the most a site keeps: move old ones away, then export again"
        )
    return path


__all__ = ["MAX_BYTES", "MAX_FILES", "TranscriptRefused", "save"]
