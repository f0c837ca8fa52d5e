"""The site's trust boundary on disk: every file and folder of a site belongs to the user that
runs its server (the site's owner) and to no one else, as DFSMShsm's control data sets and
volumes belong to its started task. Clients reach the site only through the server's socket, in
`run/`, the one folder other users may enter.

* Files 0600 and folders 0700 (images, tapes, the catalog, logs, the audit head and key,
  transcripts), in every mode.
* A site shared with a group (its `share-group` setting, never inferred from mode bits): the
  site folder is 0710 with that group (members may pass through it, not list or change it),
  `run/` 0750 with that group, and the socket in it 0660; nothing else changes.
* Opening a site checks all of it. What its owner can put right is repaired and reported; a
  file of another user (which someone could have planted while the folder was open to others),
  or an opener who is not the owner, is refused with what to do.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

from engine.errors import FlashpoolError
from engine.hostviews import SYSTEM_NAME

RUN_DIR = "run"
SOCKET_NAME = "flashpool.sock"  # the site's server: the host of the plex that drives the site


def host_socket_name(system: str) -> str:
    """Where one host of the plex listens, driving the site or standing by (`serve --system`)."""
    return f"flashpool-{system}.sock"


def is_socket_name(name: str) -> bool:
    return name == SOCKET_NAME or (
        name.startswith("flashpool-") and name.endswith(".sock") and bool(SYSTEM_NAME.fullmatch(name[10:-5]))
    )


class SiteFilesError(FlashpoolError):
    """The site's files cannot be made its owner's alone, or this user is not its owner."""


@dataclass(frozen=True, slots=True)
class Repair:
    path: str  # relative to the site
    before: int  # mode (and group, when it changed)
    after: int
    group: str | None = None  # the group it was given

    def describe(self) -> str:
        what = f"{self.path} {self.before:04o} -> {self.after:04o}"
        return what + (f" (group {self.group})" if self.group else "")


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return f"gid {gid}"


def check_owner(root: Path) -> None:
    """Only the site's owner opens it in a process of its own; anyone else goes through its server."""
    try:
        owner = os.stat(root).st_uid
    except (FileNotFoundError, NotADirectoryError):
        return  # no site there: the caller says so
    except PermissionError:
        raise SiteFilesError(
            f"the site {root} is not yours to open: you may not look into it. Its server's socket is the "
            "way in, and no server answers there; ask the site's administrator to start `flashpool serve`"
        ) from None
    if owner != os.geteuid():
        raise SiteFilesError(
            f"the site {root} belongs to user {user_name(owner)}; only that user (the site's server) opens "
            f"it. No server answers on its socket: start it as {user_name(owner)} (`flashpool serve`), "
            "then every client reaches the site through it"
        )


def root_mode(share_gid: int | None) -> int:
    return 0o710 if share_gid is not None else 0o700


def run_mode(share_gid: int | None) -> int:
    return 0o750 if share_gid is not None else 0o700


def socket_mode(share_gid: int | None) -> int:
    return 0o660 if share_gid is not None else 0o600


def share_gid(name: str | None) -> int | None:
    if name is None:
        return None
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise SiteFilesError(
            f"the site is shared with group {name}, which this system does not have: create it, or "
            "`flashpool security set share-group NONE`"
        ) from None


def secure(root: Path, share_gid: int | None, *, only: tuple[str, ...] = ()) -> list[Repair]:
    """Check every file and folder of the site (blocking); repair what its owner can, refuse the
    rest (SiteFilesError naming each). Returns what was repaired. `only`: just these files of
    the site folder (the catalog's, before SQLite opens it and creates its journal files from
    its mode; the share group that decides the rest is in the catalog)."""
    me = os.geteuid()
    repairs: list[Repair] = []
    foreign: list[str] = []

    def mode_of(path: Path, want: int, gid: int | None) -> None:
        st = os.lstat(path)
        rel = str(path.relative_to(root)) or "."
        if st.st_uid != me:
            foreign.append(f"{rel} (user {user_name(st.st_uid)})")
            return
        if stat.S_ISLNK(st.st_mode):
            return  # its target is checked where the catalog names it (engine.paths.inside)
        have = stat.S_IMODE(st.st_mode)
        regroup = gid is not None and st.st_gid != gid
        if gid is not None and regroup:
            try:
                os.chown(path, -1, gid, follow_symlinks=False)
            except PermissionError:
                raise SiteFilesError(
                    f"the site's owner {user_name(me)} cannot give {rel} to group {group_name(gid)} (the "
                    f"share-group): make {user_name(me)} a member of it (usermod -aG {group_name(gid)} "
                    f"{user_name(me)}), or `flashpool security set share-group NONE`"
                ) from None
        if have != want:
            os.chmod(path, want)
        if have != want or regroup:
            repairs.append(Repair(rel, have, want, group_name(gid) if regroup and gid is not None else None))

    if only:
        for name in only:
            if os.path.lexists(root / name):
                mode_of(root / name, 0o600, None)
    else:
        mode_of(root, root_mode(share_gid), share_gid)
    for dirpath, dirnames, filenames in () if only else os.walk(root):
        here = Path(dirpath)
        for d in dirnames:
            path = here / d
            if here == root and d == RUN_DIR:
                mode_of(path, run_mode(share_gid), share_gid)
            else:
                mode_of(path, 0o700, None)
        for f in filenames:
            path = here / f
            if here == root / RUN_DIR and is_socket_name(f):
                mode_of(path, socket_mode(share_gid), share_gid)
            else:
                mode_of(path, 0o600, None)
        dirnames[:] = [d for d in dirnames if not os.path.islink(here / d)]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise SiteFilesError(
            f"the site {root} holds files that are not its owner's ({shown}): someone else could have "
            f"put them there. Check them, then give them to {user_name(me)} (chown) or remove them"
        )
    return repairs


__all__ = [
    "RUN_DIR",
    "SOCKET_NAME",
    "Repair",
    "SiteFilesError",
    "check_owner",
    "group_name",
    "host_socket_name",
    "is_socket_name",
    "root_mode",
    "run_mode",
    "secure",
    "share_gid",
    "socket_mode",
    "user_name",
]
