"""The front end's calls to the site's server: a browser's login, "the browser was used",
logout (server/sessions.py), over the site's Unix socket, where only the server's share group
reaches them."""

from __future__ import annotations

import asyncio
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
    """The front end's calls, each on the socket that answers when it is made (client_socket), so
    a front end that outlives the host it reached (a host of the plex that stopped) is never
    stranded there: these calls are few (a login, a browser's use every few seconds), and a
    connection per call costs less than a millisecond."""

    def __init__(self, site: Path) -> None:
        self.site = site

    async def _post(self, path: str, body: dict[str, object] | None, session: str = "") -> Answer:
        headers = {"Authorization": f"Bearer {session}"} if session else {}
        try:
            sock = await asyncio.to_thread(sockets.client_socket, self.site)
            with sockets.short_path(sock) as name:
                async with (
                    aiohttp.ClientSession(
                        connector=aiohttp.UnixConnector(path=name), timeout=aiohttp.ClientTimeout(total=60)
                    ) as client,
                    client.post(f"http://flashpool{path}", json=body, headers=headers) as resp,
                ):
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


__all__ = ["Answer", "ServerLink"]
