"""The client library follows the socket that answers (server.client.RemoteSite): a client that
is not pinned to a host and cannot connect where it was sends the request once more to the socket
client_socket chooses now, while what it has in flight where it was still gets its answer. Two
small servers that answer as a site's server does stand in for two hosts of a plex."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from engine.api.values import Caller
from server import jsonbytes, sockets, wire
from server.client import RemoteSite, ServerGone
from server.route_paths import SESSION_PATH
from web.serverlink import ServerLink


class Host:
    """A server on its own socket that answers whoami (its pid: `number`) and takes an entry for
    the activity log slowly (a POST: a client may never send it twice)."""

    def __init__(self, path: Path, number: int) -> None:
        self.path = path
        self.number = number
        self.asked: list[str] = []
        self.stopped: concurrent.futures.Future[None] | None = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runner = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result()

    async def _start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/v1/whoami", self._whoami)
        app.router.add_post("/v1/activity", self._record)
        app.router.add_post(SESSION_PATH, self._session)
        app.router.add_post("/v1/server/stop", self._stop)
        runner = web.AppRunner(app, shutdown_timeout=5.0)
        await runner.setup()
        with sockets.short_path(self.path) as name:
            await web.UnixSite(runner, name).start()
        return runner

    async def _whoami(self, request: web.Request) -> web.Response:
        self.asked.append("whoami")
        caller = Caller("u", (), "unix", "site", self.number, "server")
        return web.Response(body=jsonbytes.dumps(wire.encode(caller)), content_type="application/json")

    async def _record(self, request: web.Request) -> web.Response:
        self.asked.append("record")
        await asyncio.sleep(1.5)
        return web.Response(body=b"null", content_type="application/json")

    async def _stop(self, request: web.Request) -> web.Response:
        self.asked.append("stop")
        return web.Response(body=b"{}", content_type="application/json")

    async def _session(self, request: web.Request) -> web.Response:
        return web.json_response({"host": self.number})

    def stopping(self) -> concurrent.futures.Future[None]:
        """Stop as a site's server does: its socket goes, what it accepted is still answered (for
        up to 5 s), its idle connections are closed."""
        if self.stopped is None:
            os.unlink(self.path)
            self.stopped = asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop)
        return self.stopped

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        self.stopping().result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


@pytest.fixture
def hosts(tmp_path, monkeypatch) -> Iterator[tuple[Path, Host, Host, list[Path]]]:
    site = tmp_path / "site"
    (site / "run").mkdir(parents=True)
    a = Host(sockets.socket_path(site, "SYS1"), 1)
    b = Host(sockets.socket_path(site, "SYS2"), 2)
    chosen = [a.path]  # what client_socket answers: the test moves it
    monkeypatch.delenv(sockets.SYSTEM_ENV, raising=False)
    monkeypatch.setattr(sockets, "client_socket", lambda _site: chosen[0])
    yield site, a, b, chosen
    for h in (a, b):
        h.stop()


def test_a_request_that_cannot_connect_goes_where_the_site_answers_now_and_one_in_flight_keeps_its_answer(hosts):
    site, a, b, chosen = hosts
    remote = RemoteSite(site)
    try:
        assert remote.pid == 1
        slow = asyncio.run_coroutine_threadsafe(remote.record("CONSOLE", "W1", 0, ["done"]), remote._loop)
        deadline = time.monotonic() + 10
        while "record" not in a.asked:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        chosen[0] = b.path
        a.stopping()  # host SYS1 stops: its socket is gone, what it accepted is still answered
        assert remote.whoami().pid == 2  # sent once more, to SYS2
        assert remote.pid == 2  # the client knows which server it talks to now
        assert slow.result(10) is None  # the request in flight on SYS1 was answered, not cut off
        assert a.asked == ["whoami", "record"]  # and sent once
        assert remote._socket == b.path
    finally:
        remote.close_now()


def test_a_client_that_finds_no_other_socket_says_the_server_is_gone(hosts):
    site, a, _, _ = hosts
    remote = RemoteSite(site)
    try:
        a.stop()
        with pytest.raises(ServerGone):
            remote.whoami()
        assert remote._socket == a.path
    finally:
        remote.close_now()


def test_a_client_pinned_to_a_host_stays_with_it(hosts, monkeypatch):
    site, a, b, chosen = hosts
    monkeypatch.setenv(sockets.SYSTEM_ENV, "SYS1")
    remote = RemoteSite(site)
    try:
        a.stop()
        chosen[0] = b.path
        with pytest.raises(ServerGone):
            remote.whoami()
        assert "whoami" not in b.asked
    finally:
        remote.close_now()


def test_the_web_front_end_asks_the_socket_that_answers_when_it_asks(hosts):
    site, a, b, chosen = hosts
    link = ServerLink(site)
    assert asyncio.run(link.keep("s")).body == {"host": 1}
    a.stopping()
    chosen[0] = b.path
    assert asyncio.run(link.keep("s")).body == {"host": 2}


def test_a_stop_is_never_sent_to_another_host(hosts):
    """A stop is for the server the client reached: when that one cannot be connected to, the
    client says it is gone instead of stopping whichever host answers now."""
    site, a, b, chosen = hosts
    remote = RemoteSite(site)
    try:
        a.stop()
        chosen[0] = b.path
        with pytest.raises(ServerGone):
            asyncio.run(remote.stop_server())
        assert "stop" not in b.asked
    finally:
        remote.close_now()
