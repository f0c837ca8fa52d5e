"""Where a site's server listens: `run/flashpool.sock` inside the site directory, the one folder
of a site that other users may enter (engine.sitefiles: 0750 and the socket 0660 for the site's
share group; the owner's alone when the site is not shared).

A Unix socket's path is limited to 107 bytes; a site deep in a file system (a test's temporary
directory) is reached through `/proc/self/fd/N`, a handle on the directory that both the server
(to bind) and a client (to connect) can open.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from engine.errors import FlashpoolError
from engine.hostviews import SYSTEM_NAME
from engine.sitefiles import RUN_DIR, SOCKET_NAME, host_socket_name, is_socket_name, run_mode, socket_mode

_MAX_PATH = 100


#: which host of the site's plex a client on this machine talks to (`serve --system`): its own
#: socket, driving the site or standing by; unset, the site's server
SYSTEM_ENV = "FLASHPOOL_SYSTEM"


def socket_path(site: Path, system: str | None = None) -> Path:
    """The site's server's socket, or the socket of the plex's host `system`."""
    return site / RUN_DIR / (host_socket_name(system) if system else SOCKET_NAME)


def chosen_system() -> str | None:
    """The host of the plex FLASHPOOL_SYSTEM names, if any."""
    system = os.environ.get(SYSTEM_ENV, "").strip().upper()
    if system and not SYSTEM_NAME.fullmatch(system):
        raise FlashpoolError(f"{SYSTEM_ENV}={system!r} is not a system name (1-8 letters, digits, @ # $)")
    return system or None


def client_socket(site: Path) -> Path:
    """The socket a client of this process reaches: the host FLASHPOOL_SYSTEM names, else the
    site's server, else (none answers there: a plex between two drivers) a host of the site's
    plex that answers on its own socket, standing by, which says what it can."""
    system = chosen_system()
    main = socket_path(site, system)
    if system or _answers(main):
        return main
    try:
        hosts = sorted(p for p in (site / RUN_DIR).iterdir() if p.name != SOCKET_NAME and is_socket_name(p.name))
    except OSError:  # no run/ folder, or not this user's to read
        return main
    return next((h for h in hosts if _answers(h)), main)


@contextlib.contextmanager
def short_path(path: Path) -> Iterator[str]:
    """A name for `path` that fits a socket address, valid inside the `with`."""
    text = str(path.absolute())
    if len(text.encode()) <= _MAX_PATH:
        yield text
        return
    fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def listening(site: Path, path: Path | None = None) -> bool:
    """Whether a server answers on the socket a client reaches (client_socket), or on `path` (a
    stale socket file does not count)."""
    return _answers(path or client_socket(site))


def _answers(path: Path) -> bool:
    try:
        if not path.exists():
            return False
    except PermissionError:  # not this user's to reach: no server of its
        return False
    with short_path(path) as name, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2.0)
        try:
            s.connect(name)
        except OSError as exc:
            if exc.errno in (errno.ECONNREFUSED, errno.ENOENT, errno.ENOTSOCK, errno.EACCES):
                return False  # EACCES: another user's socket, not a server of this user's
            raise
    return True


def bind(site: Path, group: int | None, system: str | None = None) -> socket.socket:
    """The server's listening socket in `run/`: for the owner alone, or 0660 for `group` (the
    site's share group) in a 0750 folder of that group, so its members connect but cannot
    remove or replace it. A socket file left by a server that died is replaced; the caller
    holds the site's lock, so no live server can own it."""
    run = socket_path(site).parent
    with contextlib.suppress(FileExistsError):
        run.mkdir(mode=0o700)
    os.chmod(run, run_mode(group))
    if group is not None:
        os.chown(run, -1, group)
    path = socket_path(site, system)
    with contextlib.suppress(FileNotFoundError):
        if path.is_socket():
            path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with short_path(path) as name:
            sock.bind(name)
        os.chmod(path, socket_mode(group))
        if group is not None:
            os.chown(path, -1, group)
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


__all__ = [
    "SOCKET_NAME",
    "SYSTEM_ENV",
    "bind",
    "chosen_system",
    "client_socket",
    "listening",
    "short_path",
    "socket_path",
]
