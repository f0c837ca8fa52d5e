"""Copy pool commands serialise across the hosts of an HSMplex (DFSMShsm's global ENQ, issue 41):
a NOWAIT request for a pool another host (or a command of this one) holds is refused with RC 28
naming the holder (host, user, command); a request that may wait runs once the other host lets go; other pools go on
meanwhile; a holder whose host died holds the pool no longer than its lease. Both catalogs."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import text

from engine.catalog import Catalog
from engine.plex import Fenced, Membership, PoolEnqueues
from engine.site import Site
from tests.catalogs import both_catalogs

pytestmark = both_catalogs


def other_host(site: Site, lease: float) -> tuple[Catalog, PoolEnqueues]:
    catalog = Catalog.open(Site.catalog_url(site.path))
    m = Membership(catalog, "SYS2", address="/run/sys2.sock", lease=lease)
    m.join()
    return catalog, PoolEnqueues(m)


async def test_a_pool_held_on_another_host_is_named_waited_for_and_taken_back_from_a_dead_one(site: Site):
    here = Membership(site.catalog, "SYS1", address="/run/sys1.sock", lease=60.0)
    await asyncio.to_thread(here.join)
    site.hsm.enqueues = PoolEnqueues(here)
    catalog, there = await asyncio.to_thread(other_host, site, 3.0)
    try:
        assert await asyncio.to_thread(there.take, "PAYROLL", "OPER2", "FRBACKUP COPYPOOL(PAYROLL)") is None

        refused = await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) NOWAIT")
        assert refused.rc == 28, refused.lines()
        assert "SYSTEM SYS2 HOLDS IT FOR USER OPER2 (FRBACKUP COPYPOOL(PAYROLL))" in "\n".join(refused.lines())
        assert (await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE)")).rc == 0  # another pool goes on meanwhile

        # a request that may wait runs once the other host lets go, not before
        await asyncio.to_thread(there.membership.renew)
        waiting = asyncio.create_task(site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL)"))
        await asyncio.sleep(0.6)
        assert not waiting.done()
        let_go = time.monotonic()
        await asyncio.to_thread(there.membership.renew)
        await asyncio.to_thread(there.release, "PAYROLL")
        assert (await waiting).rc == 0 and time.monotonic() - let_go < 1.0
        await asyncio.to_thread(there.membership.renew)  # SYS2 lives on a while (a loaded machine is slow)
        assert await asyncio.to_thread(there.take, "PAYROLL", "OPER2", "X") is None  # free again after it

        # the other host dies holding it (stops renewing): the pool is taken back when its lease ends
        started = time.monotonic()
        done = await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL)")
        assert done.rc == 0 and 0.5 < time.monotonic() - started < 3.0 + 2.0
        assert len(site.views.versions("PAYROLL")) == 2
        with pytest.raises(Fenced):  # the host whose lease ran out may serialise nothing any more
            await asyncio.to_thread(there.take, "ARCHIVE", "OPER2", "Y")
        with site.catalog.reading() as c:  # every command let its pool go
            assert c.execute(text("SELECT count(*) FROM plex_enqueue")).scalar_one() == 0
    finally:
        catalog.close()


async def test_a_nowait_request_for_a_pool_held_here_names_its_holder(site: Site):
    await site.hsm.serialise("PAYROLL", "OPER1", "FRBACKUP COPYPOOL(PAYROLL) DUMP")  # a command runs on it
    refused = await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) NOWAIT")
    assert refused.rc == 28
    assert "(IT IS HELD FOR USER OPER1 (FRBACKUP COPYPOOL(PAYROLL) DUMP))" in "\n".join(refused.lines())
    await site.hsm.unserialise("PAYROLL")
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) NOWAIT")).rc == 0
    assert site.hsm.holders == {}  # every command let its pool go
