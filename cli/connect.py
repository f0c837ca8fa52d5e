"""How a `flashpool` command reaches the site: through its server when one runs (FLASHPOOL_SERVER
names one on TCP, with FLASHPOOL_TOKEN and FLASHPOOL_CAFILE), else in this process."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from engine.errors import FlashpoolError

if TYPE_CHECKING:
    import argparse

    from engine.api import SiteAPI
    from server.client import RemoteSite

T = TypeVar("T")

NAME_MAX = 255  # bytes in one name of a path (Linux's file systems)
PATH_MAX = 4096  # bytes in a whole path, its ending NUL included


def path_problem(text: str) -> str | None:
    """Why the system cannot name the site path `text` (a name in it over NAME_MAX bytes, or the
    whole, as an absolute path, over PATH_MAX), else None: every command refuses it before it
    looks for a server or a site there."""
    raw = os.fsencode(text)
    if long := next((name for name in raw.split(b"/") if len(name) > NAME_MAX), None):
        shown = os.fsdecode(long[:24])
        return f"a name in it is longer than {NAME_MAX} bytes ({shown}..., {len(long)} bytes)"
    if len(os.fsencode(os.path.abspath(text))) >= PATH_MAX:
        return f"it is longer than a path may be ({PATH_MAX - 1} bytes)"
    return None


class UsageError(FlashpoolError):
    """A setting the command line depends on is malformed: exit 2, as argparse's errors."""


def server_url() -> str | None:
    """The server FLASHPOOL_SERVER names (https://host:port), if any; a value that is not one
    is a usage error."""
    url = os.environ.get("FLASHPOOL_SERVER")
    if not url:
        return None
    from server.client import url_problem

    if why := url_problem(url):
        raise UsageError(f"FLASHPOOL_SERVER={url!r} is not an https URL (https://host:port): {why}")
    return url


def site_api(args: argparse.Namespace) -> SiteAPI:
    """The site's server when one runs (FLASHPOOL_SERVER names one on TCP, with FLASHPOOL_TOKEN
    and FLASHPOOL_CAFILE), else the site in this process."""
    from server import sockets

    url = server_url()
    path = Path(args.site)
    if url:
        return remote(url)
    if sockets.listening(path):
        from server.client import RemoteSite  # the HTTP client's imports only when there is a server

        return RemoteSite(path)
    if system := sockets.chosen_system():  # a host was named: never the site in this process instead
        raise FlashpoolError(
            f"system {system} does not run for {path}: no host answers on {sockets.socket_path(path, system)} "
            f"(flashpool status shows the plex's hosts; unset {sockets.SYSTEM_ENV} for the site's server)"
        )
    from engine.api import LocalSite
    from engine.site import Site

    return LocalSite(Site.open(path))


def remote(url: str) -> RemoteSite:
    """The server at `url` (FLASHPOOL_SERVER's), with FLASHPOOL_TOKEN and FLASHPOOL_CAFILE."""
    from server.client import RemoteSite

    return RemoteSite(url=url, token=os.environ.get("FLASHPOOL_TOKEN"), cafile=os.environ.get("FLASHPOOL_CAFILE"))


async def ask(args: argparse.Namespace, read: Callable[[SiteAPI], T]) -> T:
    """One read of the site (through its server, or in this process), the site let go after."""
    import asyncio

    api = site_api(args)
    try:
        return await asyncio.to_thread(read, api)
    finally:
        await api.close()


async def act(args: argparse.Namespace, act: Callable[[SiteAPI], Awaitable[T]]) -> T:
    """One action on the site, the site let go after."""
    api = site_api(args)
    try:
        return await act(api)
    finally:
        await api.close()


__all__ = ["UsageError", "act", "ask", "path_problem", "remote", "server_url", "site_api"]
