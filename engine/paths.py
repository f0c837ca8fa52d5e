"""Where the catalog may point: every file it names lies inside the site's own folders. A crafted
or copied catalog (an absolute path, `../`) must never make flashpool read or write elsewhere.
And how flashpool creates a file or folder there: its owner's alone (engine.sitefiles)."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from engine.errors import FlashpoolError

CATALOG_FILE = "catalog.db"
CATALOG_URL_FILE = "catalog.url"  # present when the catalog lives in another database


def is_site(root: Path) -> bool:
    """A folder holds a site when it holds its catalog (or the pointer to it). A folder this user
    may not look into is not a site *to this process* (its server's socket is the way in)."""
    try:
        return (root / CATALOG_FILE).exists() or (root / CATALOG_URL_FILE).exists()
    except PermissionError:
        return False


class OutsideSite(FlashpoolError):
    pass


def inside(root: Path, relative: str, folder: str) -> Path:
    """`root / relative`, if it resolves inside `root / folder`; else OutsideSite."""
    base = (root / folder).resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(base):
        raise OutsideSite(f"the catalog names {relative!r}, which lies outside {folder}/ of the site; refused")
    return path


def private_dir(path: Path) -> None:
    """A folder of the site: its owner's alone (0700), whatever the umask."""
    path.mkdir(mode=0o700)
    os.chmod(path, 0o700)


def fsync_dir(path: Path) -> None:
    """Make a folder's entries durable: a file created, renamed or removed in it survives a power
    cut only once its folder is flushed."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_file(path: Path, flags: int) -> int:
    """os.open with O_CREAT: a file of the site is its owner's alone (0600), whatever the umask."""
    fd = os.open(path, flags | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o7777 != 0o600:
            os.fchmod(fd, 0o600)
    except OSError:
        os.close(fd)
        raise
    return fd


def new_file(folder: Path, base: str, data: bytes, most: int) -> Path | None:
    """Write `data` as a new file of `folder` (made the owner's alone if need be): `<base>.txt`, or
    `<base>-2.txt`, `<base>-3.txt`, ... when that name is taken. Never over another file (whoever
    wrote it), whole or not at all, durable once it returns. None, and nothing written, when the
    folder already holds `most` files (blocking)."""
    with contextlib.suppress(FileExistsError):
        private_dir(folder)
    if sum(1 for _ in folder.iterdir()) >= most:
        return None
    work = folder / f".{base}.{secrets.token_hex(4)}.tmp"
    fd = private_file(work, os.O_WRONLY | os.O_EXCL)
    path: Path | None = None
    try:
        with open(fd, "wb") as f:
            f.write(data)
            os.fsync(f.fileno())
        for n in range(1, most + 1):
            taken = folder / (f"{base}.txt" if n == 1 else f"{base}-{n}.txt")
            try:
                os.link(work, taken)  # takes the name only if it is free: nothing is replaced
            except FileExistsError:
                continue
            path = taken
            break
    finally:
        work.unlink(missing_ok=True)
    fsync_dir(folder)
    return path  # None: other writers filled every name meanwhile
