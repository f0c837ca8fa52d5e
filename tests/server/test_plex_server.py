"""`flashpool serve --system NAME`: the server joins the site's HSMplex under that name, holds the
primary while it runs, gives both up when it stops, and a restart after a SIGKILL waits for the
dead instance's lease to run out instead of taking the name from under it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import time
import uuid
from pathlib import Path

import pytest

from console.screens.hosts import HostsScreen
from engine.api import Change, SecurityChange
from engine.catalog import Catalog
from engine.catalog import constructs as repo
from engine.events import ActivityLogged
from engine.hsm import pool as pools
from engine.plex import LEASE_SECONDS, domains, hosts
from engine.plex.domains import Domains
from engine.site import Site, SiteInUse
from server import plexhost, sockets
from tests.catalogs import postgresql_only
from tests.server.harness import PAY, TRACKS, Server, as_owner, cli, data, make_site, plex_of_two
from tests.unixusers import curl, curl_json, needs_users, unix_users


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path / "site")


def plex(site) -> list[tuple[str, int, bool, bool, bool]]:
    catalog = Catalog.open(Site.catalog_url(site))
    try:
        seen = hosts(catalog)
    finally:
        catalog.close()
    return [(h.system, h.epoch, h.live, h.primary, h.left) for h in seen]


def site_domains(site) -> Domains:
    catalog = Catalog.open(Site.catalog_url(site))
    try:
        with catalog.reading() as c:
            return domains.read(c)
    finally:
        catalog.close()


def audit_entries(site) -> list[dict]:
    out = cli(site, "audit", "export", check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"seq"')]


def until(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_server_joins_the_plex_holds_the_primary_and_leaves_it_when_it_stops(site):
    with Server(site, "--system", "sys1") as server:
        until(lambda: "FPL771I SYSTEM SYS1 IS THE PRIMARY HOST OF THE PLEX" in server.output())
        assert "FPL770I SYSTEM SYS1 JOINED THE HSMPLEX (EPOCH 1)" in server.output()
        assert plex(site) == [("SYS1", 1, True, True, False)]
        shown = cli(site, "status")
        assert f"hosts of the plex: SYS1 (primary, pid {server.pid}, epoch 1, renewed" in shown.stdout, shown
        (host,) = json.loads(cli(site, "status", "--json").stdout)["hosts"]
        assert (host["system"], host["live"], host["primary"], host["epoch"]) == ("SYS1", True, True, 1)
        assert 0 <= host["renewed_ago"] < LEASE_SECONDS and 0 < host["lease_left"] <= LEASE_SECONDS
        # it owns every volume of the site before it drives them, in the domains copy pools make
        found = site_domains(site)
        assert (host["domains"], host["volumes"]) == (found.names(), len(found.of_volume))
        assert f"owns {len(found.of_volume)} volume(s) in {len(found.names())} domain(s))" in shown.stdout
        assert "FOR SYSTEM=SYS1" in cli(site, "hsm", "LIST COPYPOOL(PAY)").stdout  # the host that made the listing
    assert plex(site) == [("SYS1", 1, False, False, True)]  # left in good order: nobody waits for it
    trail = [e for e in audit_entries(site) if e["origin"] == "PLEX"]
    assert [(e["message_ids"], e["decision"]) for e in trail] == [
        (["FPL770I"], "SYSTEM"),
        (["FPL774I"], "SYSTEM"),
        (["FPL771I"], "SYSTEM"),
    ]
    assert trail[1]["action"] == f"SYSTEM SYS1 OWNS THE VOLUMES OF {len(found.names())} DOMAIN(S): " + ", ".join(
        found.names()
    )
    assert trail[2]["action"] == "SYSTEM SYS1 IS THE PRIMARY HOST OF THE PLEX (TERM 1)"
    with sqlite3.connect(Site.catalog_url(site).removeprefix("sqlite:///")) as db:
        logged = [r[0] for r in db.execute("SELECT command FROM activity WHERE origin = 'PLEX' ORDER BY id")]
    assert logged == [e["action"] for e in trail]  # the activity log says the same, entry for entry
    with Server(site, "--system", "SYS1"):  # the name again, at once, with a new epoch
        until(lambda: plex(site) == [("SYS1", 2, True, True, False)])


def test_a_restart_after_sigkill_waits_for_the_dead_instances_lease(site):
    lease = 3.0
    server = Server(site, "--system", "SYS1", "--lease", str(lease)).start()
    until(lambda: "FPL771I" in server.output())
    server.stop(signal.SIGKILL)
    killed = time.monotonic()
    assert plex(site)[0][:3] == ("SYS1", 1, True)  # its lease still runs: nobody can tell it is dead
    again = Server(site, "--system", "SYS1", "--lease", str(lease)).start(timeout=6 * lease)
    try:
        waited = time.monotonic() - killed
        assert "is already in the plex" in again.output() and "waiting" in again.output()
        assert waited > lease * 0.5, waited  # it did not take the name while the lease ran
        until(lambda: plex(site)[0][:4] == ("SYS1", 2, True, True))
        # the dead instance's volumes are taken over, each under a new fencing token
        assert f"FPL774I SYSTEM SYS1 OWNS THE VOLUMES OF {len(site_domains(site).names())} DOMAIN(S) FROM SYS1" in (
            again.output()
        )
    finally:
        again.stop()


def test_a_system_name_is_checked():
    out = cli(Path("/nonexistent"), "serve", "--system", "1SYS")
    assert out.returncode == 2 and "is not a system name" in out.stderr


async def test_the_console_shows_the_plex_and_its_primary(site):
    from console.app import FlashpoolApp
    from server.client import RemoteSite

    with Server(site, "--system", "SYS1") as server:
        until(lambda: "FPL771I" in server.output())
        api = RemoteSite(site)
        app = FlashpoolApp(api)
        try:
            async with app.run_test(size=(160, 40)) as pilot:
                deadline = time.monotonic() + 10
                volumes = len(site_domains(site).of_volume)  # the site's volumes: SYS1 drives them all
                while f"plex SYS1 primary {volumes} vols" not in str(app.screen.query_one("StatusLine").render()):
                    assert time.monotonic() < deadline, str(app.screen.query_one("StatusLine").render())
                    await pilot.pause(0.1)
                assert app.check_action("switch_mode", ("hosts",)) is True  # 7 is offered on a plex
                await pilot.press("7")
                screen = app.screen
                assert isinstance(screen, HostsScreen)
                while screen.loads < 2:  # read again every second: the lease's figures move
                    assert time.monotonic() < deadline
                    await pilot.pause(0.1)
                (host,) = await asyncio.to_thread(lambda: api.status().hosts)
                row = [str(c) for c in screen.table.get_row(host.system)]
                assert row[:4] == [host.system, "primary", str(host.pid), str(host.epoch)], row
                assert row[6:] == [str(host.volumes), ", ".join(host.domains)], row
                assert row[4].endswith(" s ago") and 0 < float(row[5].removesuffix(" s")) <= LEASE_SECONDS, row
        finally:
            api.close_now()


async def test_a_site_without_a_plex_offers_no_hosts_screen(site):
    from console.app import FlashpoolApp
    from engine.api import LocalSite

    app = FlashpoolApp(LocalSite(Site.open(site)))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause(0.3)
        assert app.check_action("switch_mode", ("hosts",)) is False
        await pilot.press("7")
        assert not isinstance(app.screen, HostsScreen)


@postgresql_only
def test_a_standby_host_takes_over_a_dead_hosts_copies_and_finishes_them(tmp_path, catalog_url):
    """A second host stands by while the first drives the site. SIGKILL the first while its copies
    run: the standby takes the volumes over as soon as the dead host's lease runs out, finishes or
    undoes what it left, resumes the copies from the catalog's maps and finishes them; every track
    of every target then reads as the model says (the sources' point in time)."""
    lease = 3.0
    site = make_site(tmp_path / "site", catalog_url=catalog_url)
    first, second = plex_of_two(site, "--copy-rate", "20", lease=lease)
    try:
        assert "FPL775I SYSTEM SYS2 STANDS BY: SYS1 DRIVES THE SITE" in second.output()
        standby = {h["system"]: h for h in json.loads(cli(site, "status", "--json").stdout)["hosts"]}["SYS2"]
        assert (standby["live"], standby["primary"], standby["domains"]) == (True, False, [])
        assert cli(site, "hsm", "FRBACKUP COPYPOOL(PAY)").returncode == 0
        until(lambda: json.loads(cli(site, "status", "--json").stdout)["copies"] > 0)
        first.stop(signal.SIGKILL)
        killed = time.monotonic()
        until(lambda: sockets.listening(site, sockets.socket_path(site)), timeout=4 * lease)
        took = time.monotonic() - killed
        assert took < 2 * lease, f"the takeover took {took:.1f} s"
        assert "FPL774I SYSTEM SYS2 OWNS THE VOLUMES OF 1 DOMAIN(S) FROM SYS1 (ITS LEASE ENDED): BK" in second.output()
        until(lambda: json.loads(cli(site, "status", "--json").stdout)["copies"] == 0, timeout=60)
        assert "FPL771I SYSTEM SYS2 IS THE PRIMARY HOST OF THE PLEX (TERM 2, TAKING OVER FROM SYS1)" in second.output()
    finally:
        second.stop()
    opened = Site.open(site)
    try:
        with opened.catalog.session() as s:
            (version,) = pools.backups(s, "PAY")
            pairs = repo.pairs(s, version.key)
        assert {p.source for p in pairs} == set(PAY)
        assert opened.flashcopy.core.relationships() == []  # every copy finished and ended
        for p in pairs:
            assert opened.context.volume(p.target).read_tracks_sync(0, TRACKS) == data(p.source, 0), p.target
    finally:
        opened.close_files()


def test_a_host_standing_by_leaves_the_plex_when_it_is_stopped(site):
    first, second = plex_of_two(site)
    try:
        assert "FPL775I SYSTEM SYS2 STANDS BY" in second.output()
        assert "SYS2 (standing by, pid" in cli(site, "status").stdout
        assert second.stop() == 0
        assert "SERVER STOPPED WHILE IT STOOD BY" in second.output()
        assert [(h[0], h[4]) for h in plex(site)] == [("SYS1", False), ("SYS2", True)]  # SYS2 left in good order
    finally:
        first.stop()


@postgresql_only
def test_a_stalled_driver_stops_writing_when_it_wakes_and_the_standby_takes_over(tmp_path, catalog_url):
    """The driving host stalls (SIGSTOP) past its lease, alive, holding the site's lock: the standby
    takes its volumes and waits for the lock; the stalled host, woken, finds its lease gone, halts
    its writes and stops; the standby then opens the site and serves it."""
    lease = 3.0
    site = make_site(tmp_path / "site", catalog_url=catalog_url)
    first, second = plex_of_two(site, lease=lease)
    try:
        os.kill(first.pid, signal.SIGSTOP)
        try:
            until(lambda: "waits for it to let the site go" in second.output(), timeout=4 * lease)
        finally:
            os.kill(first.pid, signal.SIGCONT)
        assert first.proc is not None and first.proc.wait(30) == 0
        assert "FPL773E SYSTEM SYS1 COULD NOT RENEW ITS LEASE BEFORE IT RAN OUT: IT STOPS WRITING" in first.output()
        until(lambda: "FPL771I SYSTEM SYS2 IS THE PRIMARY HOST" in second.output(), timeout=4 * lease)
        assert "FPL774I SYSTEM SYS2 OWNS THE VOLUMES OF 1 DOMAIN(S) FROM SYS1 (ITS LEASE ENDED)" in second.output()
        assert cli(site, "hsm", "FRBACKUP COPYPOOL(PAY)").returncode == 0  # SYS2 serves the site's socket
    finally:
        second.stop()
        if first.proc is not None and first.proc.poll() is None:
            first.stop()


async def test_what_the_plex_does_reaches_every_event_stream_as_the_activity_log_gets_it(site):
    """A join, a takeover of volumes, a change of primary: each is an activity entry that every
    client's event stream is told of (ActivityLogged), as it is of commands."""
    opened = Site.open(site)
    seen: list[ActivityLogged] = []
    opened.events.listen(lambda e: seen.append(e) if isinstance(e, ActivityLogged) else None)
    await opened.start(auto_dump_interval=None)
    try:
        text = "SYSTEM SYS9 IS THE PRIMARY HOST OF THE PLEX (TERM 4, TAKING OVER FROM SYS8)"
        await asyncio.to_thread(plexhost.record, opened, "FPL771I", text)
        await asyncio.sleep(0.05)
        assert [(e.origin, e.command, e.return_code) for e in seen] == [("PLEX", text, 0)]
    finally:
        await opened.close()


@postgresql_only
def test_a_driving_host_that_stops_hands_the_site_to_the_standby_at_once(tmp_path, catalog_url):
    """SIGTERM: the driving host closes the site, then leaves the plex and says so (NOTIFY); the
    standby, listening, takes the site over at once, long before its next look (a tenth of the
    60 s lease)."""
    site = make_site(tmp_path / "site", catalog_url=catalog_url)
    first, second = plex_of_two(site, lease=60)
    try:
        assert first.stop() == 0
        left = time.monotonic()
        until(lambda: "FPL774I SYSTEM SYS2 OWNS THE VOLUMES" in second.output(), timeout=30)
        assert time.monotonic() - left < 3.0, second.output()
        assert "FROM SYS1 (IT LEFT THE PLEX)" in second.output()  # stopped: not a lease that ran out
        assert cli(site, "hsm", "QUERY COPYPOOL(PAY)", system="SYS2").returncode == 0
    finally:
        second.stop()


@postgresql_only
def test_between_two_drivers_no_command_runs_outside_the_plex(tmp_path, catalog_url):
    """The driving host dies; until the standby takes over, a CLI without FLASHPOOL_SYSTEM finds
    no site server: it asks the standby (which says it cannot forward yet), never opens the site
    itself, and no process outside the plex may open it while a host's lease runs."""
    lease = 6.0
    site = make_site(tmp_path / "site", catalog_url=catalog_url)
    first, second = plex_of_two(site, lease=lease)
    try:
        first.stop(signal.SIGKILL)
        done = cli(site, "hsm", "FRBACKUP COPYPOOL(PAY)")
        assert done.returncode != 0 and "FPL777E SYSTEM SYS2 STANDS BY" in done.stderr + done.stdout, done
        assert re.search(r"SYS1(?:'s lease runs \d+ s more|: lease lapsed)", done.stderr + done.stdout), (
            done
        )  # and when
        shown = cli(site, "status", "--json")  # a monitor is told in its own form: no server serves it now
        assert shown.returncode == 3, shown
        status = json.loads(shown.stdout)
        assert status["running"] is False and "FPL777E SYSTEM SYS2 STANDS BY" in status["message"], status
        with pytest.raises(SiteInUse, match=r"served by its HSMplex: system\(s\) SYS1, SYS2 hold a lease"):
            Site.open(site)
        until(lambda: sockets.listening(site, sockets.socket_path(site)), timeout=4 * lease)
        assert cli(site, "hsm", "FRBACKUP COPYPOOL(PAY)").returncode == 0  # through the new driver
    finally:
        second.stop()
    opened = Site.open(site)  # every host stopped: the site is anyone's again
    try:
        with opened.catalog.session() as s:
            assert [v.version for v in pools.backups(s, "PAY")] == [1]  # the one the new driver made, no other
    finally:
        opened.close_files()


@postgresql_only
def test_a_standby_is_started_detached_and_stopped_by_its_own_name(tmp_path, catalog_url):
    site = make_site(tmp_path / "site", catalog_url=catalog_url)
    with Server(site, "--system", "SYS1") as first:
        until(lambda: "FPL771I" in first.output())
        started = cli(site, "serve", "--detach", "--system", "SYS2", "--no-auto-dump")
        assert started.returncode == 0, started
        until(lambda: [(h[0], h[2]) for h in plex(site)] == [("SYS1", True), ("SYS2", True)])
        stopped = cli(site, "stop", system="SYS2")
        assert stopped.returncode == 0 and "system SYS2" in stopped.stdout and "has stopped: " in stopped.stdout
        assert [(h[0], h[2], h[4]) for h in plex(site)] == [("SYS1", True, False), ("SYS2", False, True)]
        assert first.proc is not None and first.proc.poll() is None  # the driving host goes on
        assert cli(site, "hsm", "QUERY COPYPOOL(PAY)").returncode == 0
        # again, and this time the driving host dies first: the standby is stopped all the same
        assert cli(site, "serve", "--detach", "--system", "SYS2", "--no-auto-dump").returncode == 0
        until(lambda: [(h[0], h[2]) for h in plex(site)] == [("SYS1", True), ("SYS2", True)])
        first.stop(signal.SIGKILL)
        stopped = cli(site, "stop", system="SYS2")
        assert stopped.returncode == 0 and "STANDING BY, IS STOPPING" in stopped.stdout, stopped
        upgrade = cli(site, "catalog", "upgrade")  # SYS1's lease still runs: the catalog is the plex's
        assert upgrade.returncode != 0 and "served by its HSMplex: system(s) SYS1" in upgrade.stdout + upgrade.stderr


def test_a_host_named_that_does_not_run_is_said_so_and_the_site_is_not_opened_instead(site):
    asked = cli(site, "hsm", "QUERY COPYPOOL(PAY)", system="SYS9")
    assert asked.returncode != 0 and "system SYS9 does not run for" in asked.stdout + asked.stderr, asked
    shown = cli(site, "status", system="SYS9")
    assert shown.returncode == 3 and "system SYS9 does not run for" in shown.stdout, shown
    catalog = Catalog.open(Site.catalog_url(site))
    try:
        with catalog.reading() as c:  # nothing ran: no activity entry
            assert c.exec_driver_sql("SELECT count(*) FROM activity").scalar() == 0
    finally:
        catalog.close()


@needs_users
@postgresql_only
def test_a_share_group_member_works_through_a_standby_as_itself_but_only_the_owner_stops_it(catalog_url):
    """A member of the site's share group reaches a standby's socket (it is the group's, as the
    site's socket is): what it asks runs on the driving host as that user. Stopping the standby
    is the site owner's alone: the member is refused and the standby goes on."""
    tag = uuid.uuid4().hex[:6]
    group, member = f"fplg{tag}", f"fplm{tag}"
    with unix_users(group, {member: True}) as base:
        site = make_site(base / "site", catalog_url=catalog_url)
        with Server(site):
            asyncio.run(
                as_owner(
                    site,
                    SecurityChange(Change.SET, name="share-group", value=group),
                    SecurityChange(Change.GRANT, name=member, role="monitor"),
                )
            )
        first, second = plex_of_two(site)
        try:
            standby = sockets.socket_path(site, "SYS2")
            assert standby.stat().st_mode & 0o777 == 0o660
            status = curl_json(member, standby, "GET", "/v1/status")
            assert status["user"] == member and status["pid"] == first.pid
            refused = curl(member, standby, "POST", "/v1/server/stop")
            assert refused.returncode == 0 and "ICH408I only the site's owner stops system SYS2" in refused.stdout
            time.sleep(0.5)
            assert second.proc is not None and second.proc.poll() is None  # still standing by
            assert [(h[0], h[2]) for h in plex(site)] == [("SYS1", True), ("SYS2", True)]
            listed = curl_json(member, standby, "POST", "/v1/commands", {"text": "LIST COPYPOOL(PAY)"})
            assert listed["rc"] == 0, listed
        finally:
            second.stop()
            first.stop()
        exported = [json.loads(line) for line in cli(site, "audit", "export", check=True).stdout.splitlines()[:-1]]
        entries = [e for e in exported if e.get("user") == member]
        assert any(e["action"] == "LIST COPYPOOL(PAY)" and "SYS2" in json.dumps(e) for e in entries), entries
