"""A flashpool site's server from Python: the same API the console and the CLI use (every
function of `engine.api.SiteAPI`, from the server's route table), blocking or async.

    from flashpool.client import Client

    with Client("/srv/flashpool") as fp:                  # or Client(url="https://sys1:8443", token=...)
        res = fp.command("FRBACKUP COPYPOOL(PAYROLL) EXECUTE")
        assert res.rc == 0, "\\n".join(res.lines())
        parked = fp.wait()                                # until the background copies end (events, not polling)
        assert not parked, parked
        made = res.data["version"]                        # the version FRBACKUP created
        assert all(o.ok for o in fp.site.verify_backup("PAYROLL", made))  # it holds what the sources read

`Client.site` is the typed API itself (`server.client.RemoteSite`, a `SiteAPI`): its reads block,
its actions are coroutines; `Client` runs those for a script that has no event loop, and
`AsyncClient` is the same for one that has. Errors are `engine.errors.FlashpoolError` (the server
gone: `ServerGone`; refused by the site's profiles: `NotAuthorized`); a command's own failure is
its return code and messages, as in DFSMShsm.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from engine.api import NotAuthorized, SiteStatus
from engine.events import Event
from engine.messages import CommandResult
from engine.states import Origin
from server.client import RemoteSite, ServerGone

T = TypeVar("T")


class _Connected:
    """A client's connection: `site` is the API itself."""

    def __init__(
        self,
        site: str | Path | None = None,
        *,
        url: str | None = None,
        token: str | None = None,
        cafile: str | None = None,
    ) -> None:
        """The server of `site` (its Unix socket), or the one at `url` (HTTPS, with a token)."""
        self.site = RemoteSite(Path(site) if site is not None else None, url=url, token=token, cafile=cafile)


class Client(_Connected):
    """Blocking calls, for a script without an event loop (one thread at a time)."""

    _loop: asyncio.AbstractEventLoop | None = None  # the client's own, made on first use

    def run(self, action: Awaitable[T]) -> T:
        """Any action of the API, to its end: `fp.run(fp.site.acknowledge_alerts())`."""

        async def wrapped() -> T:
            return await action

        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(wrapped())

    def command(self, text: str, origin: str = Origin.API) -> CommandResult:
        """An HSM command, its result (RC and messages; LIST and QUERY also as data, FRBACKUP EXECUTE the version it created)."""
        return self.run(self.site.command(text, origin=origin))

    def wait(self, progress: Callable[[SiteStatus], None] | None = None) -> dict[int, str]:
        """Until every background copy has completed or is parked (returned: relationship ->
        why); it follows the server's event stream."""
        return self.run(self.site.wait_copies(progress))

    def events(self) -> Iterator[Event]:
        """The server's events as they come (copy progress coalesced); stop by breaking out."""
        stream = self.site.events().__aiter__()
        try:
            while True:
                yield self.run(stream.__anext__())
        finally:
            self.run(stream.aclose())  # type: ignore[attr-defined]

    def close(self) -> None:
        self.run(self.site.close())
        if self._loop is not None:
            self._loop.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Connected):
    """The same for a script with its own event loop: `async with AsyncClient(site) as fp`."""

    async def read(self, read: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A read of the API off the event loop: `await fp.read(fp.site.pools)`."""
        return await asyncio.to_thread(read, *args, **kwargs)

    async def command(self, text: str, origin: str = Origin.API) -> CommandResult:
        return await self.site.command(text, origin=origin)

    async def wait(self, progress: Callable[[SiteStatus], None] | None = None) -> dict[int, str]:
        return await self.site.wait_copies(progress)

    def events(self) -> AsyncIterator[Event]:
        return self.site.events()

    async def close(self) -> None:
        await self.site.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


__all__ = ["AsyncClient", "Client", "NotAuthorized", "ServerGone"]
