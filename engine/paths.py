"""Where the catalog may point: every file it names lies inside the site's own folders. A crafted
or copied catalog (an absolute path, `../`) must never make flashpool read or write elsewhere."""

from __future__ import annotations

from pathlib import Path

from engine.errors import FlashpoolError


class OutsideSite(FlashpoolError):
    pass


def inside(root: Path, relative: str, folder: str) -> Path:
    """`root / relative`, if it resolves inside `root / folder`; else OutsideSite."""
    base = (root / folder).resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(base):
        raise OutsideSite(f"the catalog names {relative!r}, which lies outside {folder}/ of the site; refused")
    return path
