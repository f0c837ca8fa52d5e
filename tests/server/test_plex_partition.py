"""A host of the plex cut off from the catalog's database (issue 41): it stops writing the site's
volumes before its lease can run out, so before another host may take them over. The catalog is
reached through a TCP proxy the test cuts while the host's background copies write; another host
then takes the volumes over as soon as the lease allows. The file system keeps the write log: no
volume image was written at or after the moment the other host took them (the database's clock,
on this machine the file system's too)."""

from __future__ import annotations

import time

from sqlalchemy.engine import make_url

from engine.catalog import Catalog
from engine.paths import CATALOG_URL_FILE
from engine.plex import Membership, Ownership
from engine.site import Site
from tests.catalogs import postgresql_only
from tests.pg import Proxy
from tests.server.harness import Server, cli, make_site

pytestmark = postgresql_only
LEASE = 4.0


def until(check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def last_write(site) -> float:
    return max(p.stat().st_mtime for p in (site / "volumes").glob("*.img"))


def test_a_partitioned_host_stops_writing_before_its_volumes_can_be_taken_over(tmp_path, catalog_url, pg_cluster):
    site = make_site(tmp_path / "site", catalog_url=catalog_url)
    proxy = Proxy(pg_cluster)
    direct = Site.catalog_url(site)
    (site / CATALOG_URL_FILE).write_text(proxy.url(str(make_url(direct).database)) + "\n")
    server = Server(site, "--system", "SYS1", "--lease", str(LEASE), "--copy-rate", "25").start()
    try:
        until(lambda: "FPL771I" in server.output(), 15)
        before = last_write(site)
        assert cli(site, "hsm", "FRBACKUP COPYPOOL(PAY)").returncode == 0
        until(lambda: last_write(site) > before, 10)  # the background copies write the targets
        proxy.cut()
        cut_at = time.time()

        other = Catalog.open(direct)  # the other host reaches the database; SYS1 does not any more
        try:
            sys2 = Membership(other, "SYS2", address="/run/sys2.sock", lease=30.0)
            sys2.join()
            mine = Ownership(sys2)
            while not (taken := mine.claim()):
                assert time.time() - cut_at < 3 * LEASE, "the volumes were never taken over"
                time.sleep(0.05)
            with other.reading() as c:
                taken_at = min(float(s) for s in c.exec_driver_sql("SELECT since FROM plex_owner").scalars())
        finally:
            other.close()
        assert {t.previous for t in taken} == {"SYS1"}
        until(lambda: server.proc is not None and server.proc.poll() is not None, 30)  # it stopped
        written = last_write(site)
        assert written < taken_at, f"a volume was written {written - taken_at:.3f} s after SYS2 took them over"
        assert written > cut_at - LEASE  # the copies were writing up to the partition's time
        out = server.output()
        assert "FPL773E SYSTEM SYS1 COULD NOT RENEW ITS LEASE BEFORE IT RAN OUT: IT STOPS WRITING" in out, out
        assert "Traceback" not in out
    finally:
        if server.proc is not None:
            server.stop()
