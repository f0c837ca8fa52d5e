"""A console process per browser tab, through textual-serve's `AppService` (Textual's web
driver at the other end): given its user's session in its environment, ended when its tab
closes."""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from web.console import SESSION_ENV, SITE_ENV

#: textual-serve runs it through a shell: `exec`, so that the process it kills is the console
COMMAND = f"exec {shlex.quote(sys.executable)} -m web.console"
#: a terminal's size in cells, as a browser may ask for it (a resize beyond it is clamped)
CELLS = (10, 1000)
#: how long a console that was told to quit gets before it is killed
QUIT_GRACE = 10.0


class ConsoleProcess(AppService):
    """textual-serve's app process, with the site and the session in its environment."""

    def __init__(self, socket: web.WebSocketResponse, site: Path, session: str, downloads: DownloadManager) -> None:
        super().__init__(
            COMMAND,
            write_bytes=socket.send_bytes,
            write_str=socket.send_str,
            close=self._close,
            download_manager=downloads,
        )
        self._site, self._secret, self._socket = site, session, socket

    async def _close(self) -> None:
        await self._socket.close()

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        env = super()._build_environment(width, height)
        env[SITE_ENV], env[SESSION_ENV] = str(self._site), self._secret
        return env

    async def end(self) -> None:
        """Quit the console (as `q` without its question); killed if it does not go in time, or
        if telling it failed (its tab is already gone)."""
        try:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.stop(), QUIT_GRACE)
        finally:
            process = self._process
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()


async def pump(socket: web.WebSocketResponse, console: ConsoleProcess, used: Callable[[], Awaitable[None]]) -> None:
    """The browser's keys, resizes and focus to the console (textual-serve's protocol);
    `used` is told of each key or resize (the session's idle clock)."""
    async for message in socket:
        if message.type != WSMsgType.TEXT:
            continue
        try:
            envelope = message.json()
        except ValueError:  # not JSON: nothing a terminal page sends
            continue
        if not isinstance(envelope, list) or not envelope:
            continue
        kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
        if kind == "stdin" and isinstance(data, str):
            await used()
            await console.send_bytes(data.encode())
        elif kind == "resize" and isinstance(data, dict):
            await used()
            await console.set_terminal_size(*(cells(data.get(k), d) for k, d in (("width", 80), ("height", 24))))
        elif kind == "ping":
            await socket.send_json(["pong", data])
        elif kind == "blur":
            await console.blur()
        elif kind == "focus":
            await console.focus()


def cells(value: object, default: int) -> int:
    """A width or height a browser sent, as a number of cells within CELLS."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        return default
    return min(max(value, CELLS[0]), CELLS[1])


__all__ = ["CELLS", "COMMAND", "ConsoleProcess", "cells", "pump"]
