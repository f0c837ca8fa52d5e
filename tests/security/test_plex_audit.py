"""One audit trail for every host of an HSMplex (issue 41): hosts sharing a PostgreSQL catalog
append their entries under the trail's lock onto the newest entry, whoever wrote it, so the
hash chain stays one chain; the shared head file only moves forward; `audit verify` finds nothing
wrong, and a forged entry between two hosts' entries is still found and never chained onto."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from engine.catalog import Catalog
from engine.definition import Definition
from engine.security import Identity
from engine.security.audit import AuditTrail
from engine.site import Site
from tests.catalogs import postgresql_only

pytestmark = postgresql_only


def host_trail(site_path, url: str) -> tuple[Catalog, AuditTrail]:
    catalog = Catalog.open(url)
    trail = AuditTrail(catalog, site_path)
    assert trail.open(Identity.current(), time.time) == []
    return catalog, trail


def test_two_hosts_append_to_one_chain_that_verifies(tmp_path, catalog_url):
    Site.create(tmp_path / "site", Definition(), catalog_url=catalog_url).close_files()
    hosts = [host_trail(tmp_path / "site", catalog_url) for _ in range(2)]
    who = Identity.current()
    start = threading.Barrier(2)

    def append(n: int, trail: AuditTrail) -> None:
        start.wait()
        for i in range(60):
            trail.record(who, "PLEX", f"SYS{n} ENTRY {i}", time.time())

    threads = [threading.Thread(target=append, args=(n, t)) for n, (_, t) in enumerate(hosts, 1)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    _, first = hosts[0]
    count, problems = first.verify()
    assert problems == [] and count == 1 + 120  # the site's first entry, then both hosts' in one chain
    actions = [e.action for e in first.entries()]
    assert {a.split()[0] for a in actions[1:]} == {"SYS1", "SYS2"}
    mark = first.mark()
    assert (tmp_path / "site" / "audit.head").read_text().split()[:2] == [str(mark.seq), mark.digest]

    # a forger with the catalog but not the key appends between the hosts' entries: found, never chained onto
    catalog, second = hosts[1]
    with catalog.engine.begin() as c:
        c.execute(
            text(
                'INSERT INTO audit (seq, at, "user", groups, origin, client, action, decision, profile, access, '
                "return_code, message_ids, prev, digest) VALUES (:seq, 0, 'MALLORY', '[]', 'CLI', '', 'FORGED', "
                "'ALLOWED', '', '', 0, '[]', :prev, :digest)"
            ),
            {"seq": mark.seq + 1, "prev": mark.digest, "digest": "f" * 64},
        )
    second.record(who, "PLEX", "SYS2 AFTER THE FORGERY", time.time())
    first.record(who, "PLEX", "SYS1 AFTER THE FORGERY", time.time())
    count, problems = first.verify()
    forged, after = mark.seq + 1, mark.seq + 2
    assert [p.split(" does ")[0] for p in problems] == [f"entry {forged}", f"entry {after}"], problems
    assert "valid seal" in problems[0] and "does not follow" in problems[1]
    with catalog.engine.connect() as c:
        chained = dict(c.execute(text("SELECT seq, prev FROM audit WHERE seq > :s"), {"s": forged}).all())
    assert chained[after] == mark.digest  # the next host's entry chains past the forgery, onto the last true one
    for catalog, trail in hosts:
        trail.close()
        catalog.close()
