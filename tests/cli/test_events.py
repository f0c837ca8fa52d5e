"""`flashpool events`: the server's event stream for scripts, one JSON object (or line) an event,
copy progress coalesced; exit 3 with no server."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time

import pytest

from tests.server.harness import ROOT, Server, cli, env, make_site


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path / "site")


def follow(site, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "events", "--site", str(site), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
        cwd=ROOT,
    )


def listening(site, n: int) -> None:
    """Until the server has n event-stream clients."""
    from server.client import RemoteSite

    api = RemoteSite(site)
    try:
        deadline = time.monotonic() + 60
        while api.status().clients < n:
            assert time.monotonic() < deadline, "the followers did not connect"
            time.sleep(0.1)
    finally:
        api.close_now()


def test_events_follow_a_backup_and_its_copies_as_json_and_as_lines(site):
    assert cli(site, "events").returncode == 3  # no server: nothing to follow
    with Server(site, "--copy-rate", "20"):
        as_json, as_lines = follow(site, "--json", "--count", "12"), follow(site, "--count", "3")
        listening(site, 2)
        assert cli(site, "hsm", "FRBACKUP COPYPOOL(PAY)").returncode == 0
        out, err = as_json.communicate(timeout=60)
        assert as_json.returncode == 0, err
        events = [json.loads(line) for line in out.splitlines()]
        assert len(events) == 12 and all("type" in e and "at" in e for e in events)
        kinds = [e["type"] for e in events]
        assert any(
            e["type"] == "ActivityLogged" and e["command"].startswith("FRBACKUP COPYPOOL(PAY)") for e in events
        ), [e for e in events if e["type"] == "ActivityLogged"]
        progress: dict[int, list[float]] = {}
        for e in events:
            if e["type"] == "CopyProgress" and e["out_of_sync"]:
                progress.setdefault(e["rel_id"], []).append(e["at"])
        # coalesced: one line a second per relationship at most (the copy makes 4 a second)
        assert all(b - a >= 0.9 for ats in progress.values() for a, b in itertools.pairwise(ats)), kinds
        lines, err = as_lines.communicate(timeout=60)
        assert as_lines.returncode == 0, err
        assert len(lines.splitlines()) == 3 and all(line[:8].count(":") == 2 for line in lines.splitlines())


def test_wait_follows_the_event_stream_to_the_last_copy(site):
    """--wait through the server returns once the last copy ends (the stream says so), and what
    it returned on is true: no copy runs any more."""
    from server.client import RemoteSite

    with Server(site, "--copy-rate", "100"):
        start = time.monotonic()
        waited = cli(site, "hsm", "FRBACKUP COPYPOOL(PAY)", "--wait")
        took = time.monotonic() - start
        assert waited.returncode == 0, waited
        api = RemoteSite(site)
        try:
            st = api.status()
            assert st.copies == 0 and st.out_of_sync == 0
        finally:
            api.close_now()
        assert took < 30


@pytest.mark.parametrize("count", ["0", "-1", "-100", "x"])
def test_a_count_below_one_is_a_usage_error(site, count):
    out = cli(site, "events", "--count", count)
    assert out.returncode == 2 and "at least 1" in out.stderr and out.stdout == "", out


async def test_a_client_that_stops_reading_events_ends_its_reader(site):
    """`events --count N` ends with its stream's reader task ended, not destroyed while pending
    (`Task was destroyed but it is pending! ... RemoteSite._read_events()`)."""
    import asyncio

    from server.client import RemoteSite

    with Server(site):
        for _ in range(3):
            api = await asyncio.to_thread(RemoteSite, site)
            loop = api._loop
            try:
                stream = api.events()  # left unclosed, as a loop that returns leaves it
                first = asyncio.ensure_future(anext(stream))
                await asyncio.sleep(0.3)  # the reader is following the stream
                await api.command("QUERY COPYPOOL(PAY)")
                assert await asyncio.wait_for(first, 30)
            finally:
                await api.close()
            assert not [t for t in asyncio.all_tasks(loop) if not t.done()]
