"""`flashpool.client`: the README's example (back up a pool, wait for the copy, verify) with the
blocking client, the same with the async one, and the event stream as an iterator."""

from __future__ import annotations

import threading

import pytest

from flashpool.client import AsyncClient, Client
from tests.server.harness import Server, cli, make_site


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path / "site")


def test_back_up_wait_and_verify_with_the_blocking_client(site):
    with Server(site, "--copy-rate", "200"), Client(site) as fp:
        res = fp.command("FRBACKUP COPYPOOL(PAY) EXECUTE")
        assert res.rc == 0, res.lines()
        assert fp.wait() == {}
        assert fp.site.status().copies == 0
        outcomes = fp.site.verify_backup("PAY", res.data["version"])
        assert outcomes and all(o.ok for o in outcomes), outcomes
        newest = fp.site.versions("PAY")[0]
        assert newest.version == res.data["version"] and newest.recoverable and newest.dasd_state == "RECOVERABLE"
        assert fp.command("FRBACKUP COPYPOOL(NOSUCH)").rc > 4  # a command's failure is its RC


def test_the_event_stream_as_an_iterator(site):
    with Server(site), Client(site) as fp:
        threading.Timer(1.0, lambda: cli(site, "hsm", "HOLD FRBACKUP")).start()
        for event in fp.events():
            if type(event).__name__ == "ActivityLogged" and event.command.startswith("HOLD"):  # type: ignore[attr-defined]
                break
        assert fp.site.status().holds


async def test_back_up_wait_and_verify_with_the_async_client(site):
    with Server(site, "--copy-rate", "200"):
        async with AsyncClient(site) as fp:
            res = await fp.command("FRBACKUP COPYPOOL(PAY) EXECUTE")
            assert res.rc == 0
            assert await fp.wait() == {}
            outcomes = await fp.read(fp.site.verify_backup, "PAY", res.data["version"])
            assert outcomes and all(o.ok for o in outcomes)
            pools = await fp.read(fp.site.pools)
            assert "PAY" in {p.name for p in pools}
