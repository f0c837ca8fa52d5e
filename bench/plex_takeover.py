"""Takeover after SIGKILL (issue 41): the host whose copies run is killed; the host standing by
takes the site over as soon as the dead host's lease runs out. Timed from the kill to the moment
the new host serves (its socket answers): the goal is under twice the lease. Then until the
copies it resumed have finished. Default lease (10 s), PostgreSQL durable, in a cluster of its own."""

from __future__ import annotations

import json
import signal
import time

from bench._common import result, scratch
from engine.hostviews import LEASE_SECONDS
from server import sockets
from tests.pg import Cluster
from tests.server.harness import cli, make_site, plex_of_two


def main() -> None:
    cluster = Cluster(settings=("max_connections=50",))
    cluster.start()
    try:
        with scratch("plex-takeover") as root:
            site = make_site(root / "site", catalog_url=cluster.url(cluster.create_database()))
            first, second = plex_of_two(site, "--copy-rate", "20")
            assert cli(site, "hsm", "FRBACKUP COPYPOOL(PAY)").returncode == 0
            while json.loads(cli(site, "status", "--json").stdout)["copies"] == 0:
                time.sleep(0.05)
            first.stop(signal.SIGKILL)
            killed = time.monotonic()
            while not sockets.listening(site, sockets.socket_path(site)):  # the site's own server again
                time.sleep(0.01)
            took = time.monotonic() - killed
            while json.loads(cli(site, "status", "--json").stdout)["copies"]:
                time.sleep(0.1)
            finished = time.monotonic() - killed
            second.stop()
        print(
            f"takeover after SIGKILL: SYS2 served {took:.1f} s after the kill (lease {LEASE_SECONDS:g} s); "
            f"the copies it resumed finished {finished:.1f} s after the kill"
        )
        result("plex_takeover_vs_lease", took / LEASE_SECONDS, "<", 2, ".2f")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
