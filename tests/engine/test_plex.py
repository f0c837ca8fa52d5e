"""The HSMplex's membership on both catalog databases: one live instance per system name, a
lease that fences off a host that let it run out, one primary at a time, taken over when its
holder's lease ends, and handed on at once when it leaves."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.catalog import Catalog
from engine.catalog.models import CopyPoolGroupRow, CopyPoolRow, StorageGroupRow, VolumeRow
from engine.plex import Fenced, Membership, Ownership, SystemInUse, hosts
from engine.plex.domains import SITE, domains
from tests.catalogs import both_catalogs

pytestmark = both_catalogs
LEASE = 10.0


class Clock:
    """The database's clock, as the test moves it."""

    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self, _conn: object) -> float:
        return self.t


@pytest.fixture
def catalog(catalog_url: str | None, tmp_path: Path):
    cat = Catalog.create(catalog_url or f"sqlite:///{tmp_path / 'catalog.db'}")
    yield cat
    cat.close()


def host(catalog: Catalog, clock: Clock, system: str) -> Membership:
    return Membership(catalog, system, address=f"/run/{system}.sock", lease=LEASE, now=clock)


def test_a_system_name_is_held_by_one_live_instance_and_a_lapsed_one_is_fenced(catalog):
    clock = Clock()
    first = host(catalog, clock, "SYS1")
    assert first.join().epoch == 1 and first.trusted()
    with pytest.raises(SystemInUse, match=r"system SYS1 is already in the plex: process \d+ at /run/SYS1.sock"):
        host(catalog, clock, "SYS1").join()
    clock.t += LEASE / 2
    first.renew()  # renewed in time: the lease runs LEASE from now
    clock.t += LEASE - 1
    with pytest.raises(SystemInUse):
        host(catalog, clock, "SYS1").join()
    clock.t += 2  # SYS1 let its lease run out: a new instance takes the name with a new epoch
    second = host(catalog, clock, "SYS1")
    assert second.join().epoch == 2
    with pytest.raises(Fenced, match="SYS1 \\(epoch 1\\) lost its lease"):
        first.renew()
    assert not first.trusted() and not first.claim_primary()
    second.renew()


def test_one_primary_taken_over_when_its_lease_runs_out_and_handed_on_when_it_leaves(catalog):
    clock = Clock()
    a, b, c = (host(catalog, clock, name) for name in ("SYS1", "SYS2", "SYS3"))
    for h in (a, b, c):
        h.join()
    assert a.claim_primary() and not b.claim_primary() and not c.claim_primary()
    clock.t += LEASE / 2
    for h in (a, b, c):
        h.renew()
    assert a.claim_primary() and not b.claim_primary()  # renewed by its holder
    seen = hosts(catalog, clock)
    assert [(v.system, v.live, v.primary) for v in seen] == [
        ("SYS1", True, True),
        ("SYS2", True, False),
        ("SYS3", True, False),
    ]
    for step in (LEASE / 2, LEASE / 2 + 0.1):  # SYS1 stops renewing anything (it hangs, or lost its network)
        clock.t += step
        b.renew()
        c.renew()
    assert b.claim_primary() and not c.claim_primary()
    assert (b.term, b.took_over_from) == (2, "SYS1")  # what its activity entry says (server.plexhost)
    with pytest.raises(Fenced):
        a.renew()
    assert not a.claim_primary()
    b.leave()  # stopped in good order: the primary is free at once, not a lease later
    assert c.claim_primary()
    seen = hosts(catalog, clock)
    assert [(v.system, v.left, v.live, v.primary) for v in seen] == [
        ("SYS1", False, False, False),
        ("SYS2", True, False, False),
        ("SYS3", False, True, True),
    ]
    with catalog.reading() as conn:
        assert conn.execute(text("SELECT term FROM plex_primary")).scalar_one() == 3  # SYS1, SYS2, SYS3


def test_never_two_primaries_at_once_whatever_the_order_of_renewals(catalog):
    """Hosts renew and claim in a random order at random times, some stall for a while; at every
    instant at most one host's claim of the primary is current, and the primary never stays empty
    for longer than a lease while a live host keeps claiming it."""
    rng = random.Random(41)
    clock = Clock()
    members = [host(catalog, clock, f"SYS{n}") for n in range(1, 5)]
    for m in members:
        m.join()
    held: dict[str, float] = {}  # system -> until when its last successful claim holds, on the db's clock
    stalled: dict[str, float] = {}
    vacant_since: float | None = None
    for _ in range(400):
        clock.t += rng.uniform(0.1, LEASE / 3)
        for m in rng.sample(members, len(members)):
            if stalled.get(m.system, 0.0) > clock.t:
                continue
            if rng.random() < 0.05:
                stalled[m.system] = clock.t + rng.uniform(LEASE, 2 * LEASE)  # a pause past its lease
                continue
            try:
                m.renew()
            except Fenced:
                m.join()  # comes back under the same name, with a new epoch
            if m.claim_primary():
                held[m.system] = clock.t + LEASE
            current = [s for s, until in held.items() if until > clock.t]
            assert len(current) <= 1, (clock.t, held)
        live_claimers = [m for m in members if stalled.get(m.system, 0.0) <= clock.t]
        if any(until > clock.t for until in held.values()) or not live_claimers:
            vacant_since = None
        else:
            vacant_since = vacant_since if vacant_since is not None else clock.t
            assert clock.t - vacant_since <= LEASE, "the primary stayed vacant while hosts claimed it"
    with catalog.reading() as conn:
        assert conn.execute(text("SELECT term FROM plex_primary")).scalar_one() >= 5  # it did change hands


async def test_automatic_dumps_and_expiry_run_on_the_primary_only():
    """The schedule asks whether this host is the primary at each turn (server.plexhost keeps
    the answer current); a host that is not runs neither expiry nor automatic dump."""
    import asyncio

    from engine.hsm.service import FastReplication

    ran: list[bool] = []

    class Host:
        async def auto_dump(self, scheduled: bool) -> list[str]:
            ran.append(scheduled)
            return []

    primary = False
    schedule = asyncio.create_task(FastReplication.schedule(Host(), 0.01, lambda: primary))  # type: ignore[arg-type]
    await asyncio.sleep(0.1)
    assert not ran
    primary = True
    await asyncio.sleep(0.1)
    schedule.cancel()
    assert ran and all(ran)


def test_domains_join_what_copy_pools_join():
    found = domains(
        groups=[("DATA", "BK"), ("LOG", "BK"), ("BK", None), ("PAY", "PAYBK"), ("PAYBK", None), ("ALT", None)],
        pools=[("DB", ["DATA", "LOG"], None), ("PAYROLL", ["PAY"], None), ("PAYALT", ["PAY"], "ALT")],
        volumes=[
            ("D1", "DATA"),
            ("L1", "LOG"),
            ("B1", "BK"),
            ("P1", "PAY"),
            ("PB1", "PAYBK"),
            ("A1", "ALT"),
            ("X1", None),
        ],
    )
    assert found.of_pool == {"DB": "BK", "PAYROLL": "ALT", "PAYALT": "ALT"}  # named after its first group
    assert found.volumes("BK") == ["B1", "D1", "L1"] and found.volumes("ALT") == ["A1", "P1", "PB1"]
    assert found.names() == ["ALT", "BK", "X1"]  # a volume no copy pool reaches is a domain of its own


def vol(volser: str, group: str) -> VolumeRow:
    return VolumeRow(
        volser=volser,
        model="3390-1",
        cylinders=1,
        tracks_per_cylinder=15,
        track_size=64,
        image="x",
        storage_group=group,
    )


def configure(catalog: Catalog) -> None:
    groups = [
        StorageGroupRow(name="BK", type="COPYPOOLBACKUP"),
        StorageGroupRow(name="DATA", type="POOL", backup_group="BK"),
        StorageGroupRow(name="PBK", type="COPYPOOLBACKUP"),
        StorageGroupRow(name="PAY", type="POOL", backup_group="PBK"),
    ]
    volumes = [vol("D1", "DATA"), vol("B1", "BK"), vol("P1", "PAY"), vol("PB1", "PBK")]
    pools = [CopyPoolRow(name="DB"), CopyPoolRow(name="PAYROLL")]
    links = [
        CopyPoolGroupRow(copy_pool="DB", storage_group="DATA"),
        CopyPoolGroupRow(copy_pool="PAYROLL", storage_group="PAY"),
    ]
    catalog.add_rows([*groups, *volumes, *pools, *links])


def two_hosts(catalog: Catalog) -> tuple[Clock, Membership, Membership, Ownership, Ownership]:
    """A configured catalog and two hosts that joined: (clock, SYS1, SYS2, their ownerships)."""
    configure(catalog)
    clock = Clock()
    sys1, sys2 = host(catalog, clock, "SYS1"), host(catalog, clock, "SYS2")
    sys1.join(), sys2.join()
    return clock, sys1, sys2, Ownership(sys1), Ownership(sys2)


def test_each_domain_has_one_owner_taken_over_with_a_new_token_and_the_old_owner_is_fenced(catalog):
    clock, sys1, sys2, one, two = two_hosts(catalog)
    assert [(t.domain, t.token, t.previous) for t in one.claim()] == [("BK", 1, None), ("PAY", 1, None)]
    assert two.claim() == [] and two.tokens == {}
    with catalog.transaction() as c:
        one.check(c, {"D1", "PB1"})  # its own: passes
        with pytest.raises(Fenced, match="SYS2 does not own BK"):
            two.check(c, {"B1"})

    clock.t += LEASE / 2
    sys2.renew()
    clock.t += LEASE / 2 + 1  # SYS1 stopped renewing: its lease ran out, SYS2's runs
    assert [(t.domain, t.token, t.previous) for t in two.claim()] == [("BK", 2, "SYS1"), ("PAY", 2, "SYS1")]
    with catalog.transaction() as c:
        two.check(c, {"B1", "P1"})
        with pytest.raises(Fenced, match="SYS1 no longer owns BK under the tokens it took them with"):
            one.check(c, {"D1"})
    with pytest.raises(Fenced):  # SYS1 cannot take them back under its old epoch either
        sys1.renew()


def test_a_host_that_is_to_drive_the_whole_site_takes_all_of_it_or_nothing(catalog):
    clock, _, sys2, one, two = two_hosts(catalog)
    assert len(one.claim(whole=True)) == 2
    catalog.add_rows([StorageGroupRow(name="NEW", type="POOL"), vol("N1", "NEW")])  # a domain nobody owns yet
    assert two.claim(whole=True) == [] and two.tokens == {}  # SYS1 drives the site: SYS2 takes nothing
    assert [t.domain for t in one.claim()] == ["NEW"]  # the driving host takes the new domain
    clock.t += LEASE / 2
    sys2.renew()
    clock.t += LEASE / 2 + 1  # SYS1's lease ran out
    assert sorted(t.domain for t in two.claim(whole=True)) == ["BK", "NEW", "PAY"]


def test_a_site_without_volumes_is_driven_by_one_host_too(catalog):
    clock = Clock()
    sys1, sys2 = host(catalog, clock, "SYS1"), host(catalog, clock, "SYS2")
    sys1.join(), sys2.join()
    one, two = Ownership(sys1), Ownership(sys2)
    assert one.claim(whole=True) == [] and one.tokens == {SITE: 1}  # no domain: the site's own row
    assert one.wanted() <= set(one.tokens)  # SYS1 drives the site
    assert two.claim(whole=True) == [] and not two.wanted() <= set(two.tokens)  # so SYS2 stands by
    with catalog.transaction() as c:
        one.check_writer(c)
        with pytest.raises(Fenced, match="SYS2 does not drive the site"):
            two.check_writer(c)
    clock.t += LEASE / 2
    sys2.renew()
    clock.t += LEASE / 2 + 1  # SYS1's lease ran out
    two.claim(whole=True)
    assert two.tokens == {SITE: 2}
    with catalog.transaction() as c, pytest.raises(Fenced, match="SYS1 no longer holds its lease"):
        one.check_writer(c)
