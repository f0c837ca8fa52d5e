"""Where a site's server listens: `flashpool.sock` inside the site directory.

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

SOCKET_NAME = "flashpool.sock"
_MAX_PATH = 100


def socket_path(site: Path) -> Path:
    return site / SOCKET_NAME


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


def listening(site: Path) -> bool:
    """Whether a server answers on the site's socket (a stale socket file does not count)."""
    path = socket_path(site)
    if not path.exists():
        return False
    with short_path(path) as name, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2.0)
        try:
            s.connect(name)
        except OSError as exc:
            if exc.errno in (errno.ECONNREFUSED, errno.ENOENT, errno.ENOTSOCK):
                return False
            raise
    return True


def bind(site: Path, group: int | None) -> socket.socket:
    """The server's listening socket, 0660, owned by `group` (default: the site's group). A
    socket file left by a server that died is replaced; the caller holds the site's lock, so no
    live server can own it."""
    path = socket_path(site)
    with contextlib.suppress(FileNotFoundError):
        if path.is_socket():
            path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with short_path(path) as name:
            sock.bind(name)
        os.chmod(path, 0o660)
        gid = group if group is not None else site.stat().st_gid
        if gid != path.stat().st_gid:
            os.chown(path, -1, gid)
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


__all__ = ["SOCKET_NAME", "bind", "listening", "short_path", "socket_path"]
