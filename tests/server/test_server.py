"""The site server with real processes and sockets: the CLI, scripts and consoles at once, live
events, a read-only console, the API document against the running server, SIGTERM and linger."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import signal
import time

import jsonschema
import pytest
from openapi_spec_validator import validate

from console import textual_internals as internals
from engine.api import SiteAPI
from engine.events import ActivityLogged
from server import openapi, sockets
from server.client import RemoteSite, ServerGone
from server.routes import BY_CALL, ROUTES
from tests.server.harness import PAY, ROOT, Server, cli, make_site


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path / "site")


def test_every_function_of_the_api_has_one_route():
    lifecycle = {"events", "start", "settle", "close", "wait_copies"}
    functions = {n for n, f in inspect.getmembers(SiteAPI, inspect.isfunction) if not n.startswith("_")}
    assert functions - lifecycle == set(BY_CALL)
    assert len({(r.method, r.path) for r in ROUTES}) == len(ROUTES)


def test_the_committed_openapi_document_is_the_generated_one_and_valid():
    committed = (ROOT / "docs" / "openapi.json").read_text()
    assert committed == openapi.text(), "regenerate it: python -m server.openapi > docs/openapi.json"
    validate(json.loads(committed))


def _response_schema(doc: dict, path: str, method: str) -> dict:
    schema = doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
    return {**schema, "components": doc["components"]}


def _check(doc: dict, path: str, method: str, payload: object) -> None:
    jsonschema.validate(payload, _response_schema(doc, path, method), cls=jsonschema.Draft202012Validator)


def test_cli_scripts_and_events_share_one_server(site):
    doc = openapi.document()
    with Server(site) as srv:
        # the CLI goes through the server (today's "in use by process" is gone)
        out = cli(site, "hsm", "FRBACKUP COPYPOOL(PAY) TOKEN(T1)", check=True)
        assert "ARC1805I" in out.stdout or "ARC1802I" in out.stdout, out.stdout
        st = cli(site, "status", check=True)
        assert f"process {srv.pid}" in st.stdout
        api = RemoteSite(site)
        try:
            assert [v.version for v in api.versions("PAY")] == [1]
            assert api.status().mode == "server" and api.status().pid == srv.pid
            (version,) = api.versions("PAY")
            pairs = api.pairs("PAY", version.id)  # an integer in the path, read back from its text
            assert len(pairs) == version.volumes and pairs and all(p.target for p in pairs)
            assert api.pairs("HR", version.id) == []  # another pool's version shows nothing of PAY's

            async def watch() -> float:
                events = api.events()
                first = asyncio.ensure_future(anext(events))
                await asyncio.sleep(0.3)  # the stream is open
                started = time.monotonic()
                proc = await asyncio.create_subprocess_exec(
                    *_cli_args(site, "hsm", "FRBACKUP COPYPOOL(HR)"), cwd=ROOT, env=_env()
                )
                event = await asyncio.wait_for(first, 30)
                while not (isinstance(event, ActivityLogged) and event.command.startswith("FRBACKUP COPYPOOL(HR)")):
                    event = await asyncio.wait_for(anext(events), 30)
                seen = time.monotonic()
                await proc.wait()
                await events.aclose()
                return seen - started

            asyncio.run(watch())
            assert [v.version for v in api.versions("HR")] == [1]
            # what the server says fits what the API document says it says
            import aiohttp

            async def raw() -> None:
                with sockets.short_path(sockets.socket_path(site)) as name:
                    async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=name)) as s:
                        for path, template in (
                            ("/v1/status", None),
                            ("/v1/pools", None),
                            ("/v1/pools/PAY/versions", "/v1/pools/{pool}/versions"),
                            (f"/v1/pools/PAY/versions/{version.id}/pairs", "/v1/pools/{pool}/versions/{version}/pairs"),
                            ("/v1/relationships", None),
                        ):
                            async with s.get("http://flashpool" + path) as r:
                                assert r.status == 200
                                _check(doc, template or path, "get", await r.json())
                        async with s.get("http://flashpool/v1/pools/PAY/versions/one/pairs") as r:
                            assert r.status == 400 and "version: must be an integer" in (await r.json())["message"]
                        async with s.post("http://flashpool/v1/commands", json={"text": "QUERY COPYPOOL(PAY)"}) as r:
                            body = await r.json()
                            assert r.status == 200 and body["rc"] == 0
                            _check(doc, "/v1/commands", "post", body)
                        async with s.get("http://flashpool/v1/nothing") as r:
                            assert r.status == 404 and (await r.json())["error"] == "not-found"

            asyncio.run(raw())
        finally:
            api.close_now()
        assert srv.stop() == 0
    assert not sockets.socket_path(site).exists()
    assert "FPL702I SERVER STOPPED" in srv.output()
    assert "Traceback" not in srv.output()


def _env():
    from tests.server.harness import env

    return env()


def _cli_args(site, *args):
    import sys

    return [sys.executable, "-m", "cli", *args, "--site", str(site)]


async def test_two_consoles_see_a_cli_backup_within_a_second_and_a_read_only_one_changes_nothing(site):
    from textual.widgets import DataTable

    from console.app import FlashpoolApp
    from tests.console.scenes import settle

    srv = Server(site).start()
    one = RemoteSite(site)
    two = RemoteSite(site)
    try:
        before = [v.version for v in one.versions("PAY")]
        a = FlashpoolApp(one, live=True, warm=False, refresh_interval=5.0)
        b = FlashpoolApp(two, live=True, warm=False, read_only=True, refresh_interval=5.0)

        def valid(app) -> str:
            table = app.screen.query_one(DataTable)
            return " ".join(str(c) for c in table.get_row("PAY"))

        async with a.run_test(size=(200, 50)) as pa, b.run_test(size=(200, 50)) as pb:
            await settle(pa)
            await settle(pb)
            assert "server pid" in str(a.screen.query_one("StatusLine").render())
            assert "0/2" in valid(a) and "0/2" in valid(b)
            proc = await asyncio.create_subprocess_exec(
                *_cli_args(site, "hsm", "FRBACKUP COPYPOOL(PAY)"), cwd=ROOT, env=_env()
            )
            assert await proc.wait() == 0
            done = time.monotonic()

            def told(app) -> bool:  # a command by someone else changed what it shows
                return any("RAN FRBACKUP COPYPOOL(PAY)" in str(x.message) for x in internals.notifications(app))

            while not ("1/2" in valid(a) and "1/2" in valid(b) and told(a) and told(b)):
                assert time.monotonic() - done < 1.0, (valid(a), valid(b), internals.notifications(a))
                await asyncio.sleep(0.02)
            # the read-only console offers nothing that changes the site, and nothing changes
            audit_before = len(one.audit_export().entries)
            await pb.press("b")
            await settle(pb)
            res = await b.run_command("FRBACKUP COPYPOOL(PAY)")
            assert res.rc == 8 and "READ-ONLY" in res.lines()[0]
            assert [v.version for v in two.versions("PAY")] == [*before, 1]
            audited = one.audit_export().entries[audit_before:]
            assert [e.action for e in audited if "FRBACKUP" in e.action] == []
            # the pool's detail through the server: its versions and the newest one's pairs
            table = a.screen.query_one(DataTable)
            table.move_cursor(row=table.get_row_index("PAY"))
            await pa.press("enter")
            newest = one.versions("PAY")[0]
            started = time.monotonic()
            while not (
                type(a.screen).__name__ == "PoolDetailScreen"
                and a.screen.query_one("#pairs").row_count == newest.volumes
            ):
                assert time.monotonic() - started < 10, "the pool detail never showed the version's pairs"
                await asyncio.sleep(0.05)
    finally:
        await one.close()
        await two.close()
        assert srv.stop() == 0


def test_sigterm_stops_taking_commands_persists_and_exits_zero_then_copies_resume(site):
    with Server(site, "--copy-rate", "40") as srv:
        cli(site, "hsm", "FRBACKUP COPYPOOL(PAY)", check=True)
        api = RemoteSite(site)
        left = api.status().out_of_sync
        api.close_now()
        assert left > 0
        assert srv.stop(signal.SIGTERM, timeout=30) == 0
    assert "FPL701I" in srv.output() and "FPL702I" in srv.output()
    with Server(site) as again:  # no throttle now: the copies resume from the catalog and finish
        out = cli(site, "hsm", "QUERY COPYPOOL(PAY)", "--wait", check=True)
        assert "PCT-COMP=100" in cli(site, "hsm", "QUERY COPYPOOL(PAY)").stdout or out.returncode == 0
        api = RemoteSite(site)
        try:
            st = api.status()
            assert st.copies == 0 and st.pid == again.pid
        finally:
            api.close_now()


def test_a_detached_server_started_to_linger_stops_by_itself_when_nothing_runs(site):
    out = cli(site, "serve", "--detach", "--linger", "1", check=True)
    assert "runs as process" in out.stdout
    assert sockets.listening(site)
    deadline = time.monotonic() + 30
    while sockets.listening(site):
        assert time.monotonic() < deadline, "the lingering server did not stop"
        time.sleep(0.2)
    while "FPL703I" not in (site / "flashpool.log").read_text():  # written from the log's own thread
        assert time.monotonic() < deadline, "the server did not log that it stopped"
        time.sleep(0.2)


def test_a_detached_start_where_no_site_is_says_what_serve_says_and_makes_nothing(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for where in (tmp_path / "nonexist", empty):
        foreground = cli(where, "serve")
        detached = cli(where, "serve", "--detach")
        assert detached.returncode == foreground.returncode == 12, detached
        assert detached.stderr == foreground.stderr, (detached, foreground)
        assert "is not a flashpool site" in detached.stderr and "internal error" not in detached.stderr
    assert not (tmp_path / "nonexist").exists()
    assert list(empty.iterdir()) == []  # the `flashpool init` the message recommends works there
    assert cli(empty, "init").returncode == 0


def test_a_failed_detached_start_reports_its_own_errors_only(site):
    first = cli(site, "serve", "--detach", "--listen", "127.0.0.1:1")
    assert first.returncode == 12 and "--listen needs --tls-cert and --tls-key" in first.stderr, first
    missing = str(site.parent / "missing.pem")
    again = cli(site, "serve", "--detach", "--listen", "127.0.0.1:1", "--tls-cert", missing, "--tls-key", missing)
    assert again.returncode == 12 and "cannot be used" in again.stderr, again
    assert "--listen needs" not in again.stderr, again  # both were given this time


def test_a_queued_held_request_is_work_status_shows_it_and_stop_wants_force_and_records_its_drop(site):
    """A held NOWAIT request the server queued (FPL180I) keeps a lingering server up, shows in
    status, makes a plain stop refuse (exit 8, naming it) like running copies do, and a forced
    stop drops it saying so, with an ARC1806E RC 50 entry for it in the activity log."""
    import sqlite3

    assert cli(site, "serve", "--detach", "--linger", "1", check=True)
    assert cli(site, "hsm", "HOLD FRBACKUP", check=True)
    queued = cli(site, "hsm", "FRBACKUP COPYPOOL(PAY) NOWAIT", check=True)
    assert "FPL180I" in queued.stdout, queued
    time.sleep(4)  # four lingers: the queued request is work, the server stays
    assert sockets.listening(site), "the lingering server stopped with a request queued"
    st = cli(site, "status", check=True)
    assert "queued 1 (FRBACKUP COPYPOOL(PAY) NOWAIT)" in st.stdout, st
    assert json.loads(cli(site, "status", "--json", check=True).stdout)["queued"] == ["FRBACKUP COPYPOOL(PAY) NOWAIT"]
    refused = cli(site, "stop")
    assert refused.returncode == 8 and "1 held request(s) queued" in refused.stdout, refused
    assert "FRBACKUP COPYPOOL(PAY) NOWAIT" in refused.stdout and "--force" in refused.stdout, refused
    assert sockets.listening(site)
    stopped = cli(site, "stop", "--force")
    assert stopped.returncode == 0, stopped
    assert "1 queued held request(s) dropped (FRBACKUP COPYPOOL(PAY) NOWAIT)" in stopped.stdout, stopped
    assert "activity log" in stopped.stdout, stopped
    with sqlite3.connect(site / "catalog.db") as c:
        rows = c.execute("SELECT command, return_code, messages FROM activity ORDER BY id DESC LIMIT 3").fetchall()
    dropped = [r for r in rows if r[0] == "FRBACKUP COPYPOOL(PAY) NOWAIT" and r[1] == 50]
    assert dropped and "SERVER STOPPED" in dropped[0][2], rows


def test_stop_and_status_without_a_server(site):
    assert cli(site, "status").returncode == 3
    out = cli(site, "stop")
    assert out.returncode == 0 and "no server runs" in out.stdout
    # and the CLI runs in this process, as before
    assert cli(site, "hsm", "LIST COPYPOOL(HR)").returncode == 0
    assert cli(site, "volume", "checksum", PAY[0]).returncode == 0


def test_a_command_whose_client_goes_away_runs_to_its_end(site):
    import socket as s

    with Server(site) as srv:
        body = json.dumps({"copy_pool": "PAY", "rate": 20, "seconds": 2, "seed": 1}).encode()
        request = (
            b"POST /v1/workloads HTTP/1.1\r\nHost: flashpool\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        with sockets.short_path(sockets.socket_path(site)) as name, s.socket(s.AF_UNIX) as c:
            c.connect(name)
            c.sendall(request)
            time.sleep(0.5)  # it runs (two seconds of writes)
        # the client is gone; the workload runs to its end and is in the activity log
        api = RemoteSite(site)
        try:
            assert not [a for a in api.activity(50) if a.command.startswith("WORKLOAD")]
            deadline = time.monotonic() + 30
            while not (logged := [a for a in api.activity(50) if a.command.startswith("WORKLOAD COPYPOOL(PAY)")]):
                assert time.monotonic() < deadline, srv.output()
                time.sleep(0.1)
            assert logged[0].return_code == 0
        finally:
            api.close_now()
        assert srv.stop() == 0


async def test_a_stopping_server_answers_reads_but_neither_commands_nor_status(site):
    """While the commands in flight finish, a status would tell a console it is live: it is
    refused as the commands are (503, said by the client as the server gone); reads still answer."""
    with Server(site) as srv:
        api = RemoteSite(site)
        try:
            flight = asyncio.ensure_future(api.workload("PAY", 20, 3, 1))  # in flight for 3 s
            await asyncio.sleep(0.5)  # accepted: it runs
            os.kill(srv.pid, signal.SIGTERM)
            deadline = time.monotonic() + 2
            while True:
                try:
                    await asyncio.to_thread(api.status)
                except ServerGone as exc:
                    assert "stopping" in str(exc)
                    break
                assert time.monotonic() < deadline, "a stopping server still answered its status"
                await asyncio.sleep(0.05)
            assert not flight.done()  # still in flight: the server is draining, not gone
            with pytest.raises(ServerGone, match="takes no more commands"):
                await api.command("QUERY COPYPOOL(PAY)")
            assert [p.name for p in await asyncio.to_thread(api.pools)]  # reads go on
            assert (await flight).copy_pool == "PAY"  # the accepted command ran to its end
        finally:
            await api.close()
        assert srv.proc is not None and await asyncio.to_thread(srv.proc.wait, 30) == 0  # one SIGTERM only
        srv.stop()


def test_listen_needs_tls(site):
    out = cli(site, "serve", "--listen", "127.0.0.1:8443")
    assert out.returncode == 12 and "needs --tls-cert and --tls-key" in out.stderr
    assert not sockets.listening(site)


async def test_quitting_a_console_with_copies_running_asks_and_the_copies_go_on_in_the_server(site):
    from console.app import FlashpoolApp
    from console.modals.quit import QuitScreen
    from tests.console.scenes import settle

    srv = Server(site, "--copy-rate", "5").start()
    api = RemoteSite(site)
    try:
        assert (await api.command("FRBACKUP COPYPOOL(PAY)")).rc == 0
        app = FlashpoolApp(api, refresh_interval=0.5, warm=False)
        async with app.run_test(size=(130, 40)) as pilot:
            await settle(pilot)
            while app.status_now is None or not app.status_now.copies:
                await asyncio.sleep(0.05)
            await pilot.press("q")
            await settle(pilot)
            assert isinstance(app.screen, QuitScreen)
            said = str(app.screen.query_one("#quit-lines").render())
            assert f"go on in the site's server (pid {srv.pid})" in said and "finish after you quit" in said
            await pilot.press("y")
            await settle(pilot)
            assert not app.is_running
        before = (await asyncio.to_thread(api.status)).out_of_sync
        await asyncio.sleep(1.5)
        after = await asyncio.to_thread(api.status)
        assert after.copies == 2 and after.out_of_sync < before  # still copying, with nobody attached
    finally:
        await api.close()
        assert srv.stop() == 0
