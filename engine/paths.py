"""Where the catalog may point: every file it names lies inside the site's own folders. A crafted
or copied catalog (an absolute path, `../`) must never make flashpool read or write elsewhere.
And who may read what flashpool creates there (Sharing)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import FlashpoolError

CATALOG_FILE = "catalog.db"
CATALOG_URL_FILE = "catalog.url"  # present when the catalog lives in another database


def is_site(root: Path) -> bool:
    """A folder holds a site when it holds its catalog (or the pointer to it)."""
    return (root / CATALOG_FILE).exists() or (root / CATALOG_URL_FILE).exists()


class OutsideSite(FlashpoolError):
    pass


def inside(root: Path, relative: str, folder: str) -> Path:
    """`root / relative`, if it resolves inside `root / folder`; else OutsideSite."""
    base = (root / folder).resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(base):
        raise OutsideSite(f"the catalog names {relative!r}, which lies outside {folder}/ of the site; refused")
    return path


@dataclass(frozen=True, slots=True)
class Sharing:
    """Who may open a site's files: its owner only (0700 folders, 0600 files), or also one group
    (`[site] group = "..."` in the definition: 2770 folders, whose files inherit the group, and
    0660 files). Derived from the site folder's own mode, so it is never recorded twice."""

    gid: int | None = None

    @classmethod
    def of(cls, root: Path) -> Sharing:
        st = os.stat(root)
        return cls(st.st_gid if st.st_mode & 0o070 else None)

    @property
    def dir_mode(self) -> int:
        return 0o2770 if self.gid is not None else 0o700

    @property
    def file_mode(self) -> int:
        return 0o660 if self.gid is not None else 0o600

    def make_dir(self, path: Path) -> None:
        path.mkdir(mode=0o700)
        self.own(path, self.dir_mode)

    def create(self, path: Path, flags: int) -> int:
        """os.open with O_CREAT, the file's mode set whatever the umask."""
        fd = os.open(path, flags | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_uid == os.geteuid():  # another member's file keeps its owner's setting
                if self.gid is not None:
                    os.fchown(fd, -1, self.gid)
                os.fchmod(fd, self.file_mode)
        except OSError:
            os.close(fd)
            raise
        return fd

    def own(self, path: Path, mode: int) -> None:
        if self.gid is not None:
            os.chown(path, -1, self.gid)
        os.chmod(path, mode)


OWNER_ONLY = Sharing()
