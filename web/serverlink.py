"""The front end's calls to the site's server: a browser's login, "the browser was used",
logout (server/sessions.py), over the site's Unix socket, where only the server's share group
reaches them."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from server import sockets
from server.route_paths import LOGIN_PATH, LOGOUT_PATH, SESSION_PATH


@dataclass(frozen=True, slots=True)
class Answer:
    """The server's answer: its status and JSON body (an error's `message` says why)."""

    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))


class ServerLink:
    """One aiohttp session on the site's socket for the front end's whole life."""

    def __init__(self, site: Path) -> None:
        self.site = site
        self._paths = contextlib.ExitStack()
        self._session: aiohttp.ClientSession | None = None

    async def _post(self, path: str, body: dict[str, object] | None, session: str = "") -> Answer:
        if self._session is None:
            name = self._paths.enter_context(sockets.short_path(sockets.client_socket(self.site)))
            self._session = aiohttp.ClientSession(
                connector=aiohttp.UnixConnector(path=name), timeout=aiohttp.ClientTimeout(total=60)
            )
        headers = {"Authorization": f"Bearer {session}"} if session else {}
        try:
            async with self._session.post(f"http://flashpool{path}", json=body, headers=headers) as resp:
                data = await resp.json(content_type=None)
                return Answer(resp.status, data if isinstance(data, dict) else {})
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return Answer(503, {"error": "server-gone", "message": f"the site's server cannot be reached ({exc})"})

    async def login(self, client: str, idle: float, **form: str) -> Answer:
        """`form`: user and password, or token; new_password for an expired password."""
        return await self._post(LOGIN_PATH, {"client": client, "idle": idle, **{k: v for k, v in form.items() if v}})

    async def keep(self, session: str) -> Answer:
        return await self._post(SESSION_PATH, None, session)

    async def logout(self, session: str) -> Answer:
        return await self._post(LOGOUT_PATH, None, session)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._paths.close()


__all__ = ["Answer", "ServerLink"]
