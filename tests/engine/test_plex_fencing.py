"""Fencing tokens on the writes of volume state (issue 41): a host whose lease ran out and whose
volumes another host took over cannot commit their relationships any more, however late its
commit comes, nor any other row (a version, an intent, the logs); the catalog keeps only what
it committed while it owned them."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from engine.catalog import Catalog
from engine.definition import parse_definition
from engine.flashcopy import CopyMode, EstablishRequest
from engine.plex import Fenced, Membership, Ownership
from engine.site import Site
from tests.catalogs import postgresql_only

pytestmark = postgresql_only


def definition():
    return parse_definition({"volume": [{"volser": f"VOL{i:03d}", "tracks": 16, "track_size": 64} for i in range(3)]})


async def test_a_host_that_lost_its_volumes_cannot_commit_their_relationships(tmp_path, catalog_url):
    site = Site.create(tmp_path / "s", definition(), catalog_url=catalog_url)
    sys1 = Membership(site.catalog, "SYS1", address="/run/sys1.sock", lease=1.5)
    await asyncio.to_thread(sys1.join)
    mine = Ownership(sys1)
    assert len(await asyncio.to_thread(mine.claim)) == 3  # three volumes in no pool: three domains
    site.catalog.guard(mine)
    kept = await site.flashcopy.establish(EstablishRequest("VOL000", "VOL001", mode=CopyMode.NOCOPY))

    other = Catalog.open(catalog_url)
    try:
        sys2 = Membership(other, "SYS2", address="/run/sys2.sock", lease=30.0)
        await asyncio.to_thread(sys2.join)
        theirs = Ownership(sys2)
        assert await asyncio.to_thread(theirs.claim) == []  # SYS1's lease runs: nothing to take
        await asyncio.sleep(1.6)  # SYS1 stalls past its lease; SYS2 takes its volumes over
        taken = await asyncio.to_thread(theirs.claim)
        assert sorted((t.domain, t.token, t.previous) for t in taken) == [(f"VOL{i:03d}", 2, "SYS1") for i in range(3)]
        with pytest.raises(Fenced, match=r"SYS1 no longer owns VOL000, (VOL001, )?VOL002 under the tokens"):
            await site.flashcopy.establish(EstablishRequest("VOL000", "VOL002", mode=CopyMode.NOCOPY))
        with other.reading() as c:
            assert list(c.execute(text("SELECT id FROM relationship")).scalars()) == [kept.id]
    finally:
        other.close()
        site.catalog.fence = None
        site.close_files()


def pools():
    return parse_definition(
        {
            "storage_group": [
                {
                    "name": "SG1",
                    "type": "POOL",
                    "backup_group": "BK1",
                    "volumes": [{"volser": "SRC001", "tracks": 16, "track_size": 64}],
                },
                {
                    "name": "BK1",
                    "type": "COPYPOOLBACKUP",
                    "volumes": [{"volser": "TGT001", "tracks": 16, "track_size": 64}],
                },
            ],
            "copy_pool": [{"name": "PAY", "storage_groups": ["SG1"], "versions": 1}],
        }
    )


def rows(catalog, table):
    with catalog.reading() as c:
        return c.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


async def test_a_host_that_lost_its_volumes_writes_no_version_and_no_log_entry(tmp_path, catalog_url):
    site = Site.create(tmp_path / "s", pools(), catalog_url=catalog_url)
    sys1 = Membership(site.catalog, "SYS1", address="/run/sys1.sock", lease=1.5)
    await asyncio.to_thread(sys1.join)
    mine = Ownership(sys1)
    await asyncio.to_thread(mine.claim)
    site.catalog.guard(mine)
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAY) EXECUTE")).rc == 0  # while it owns them
    versions, activity, audit = (rows(site.catalog, t) for t in ("backup_version", "activity", "audit"))

    other = Catalog.open(catalog_url)
    try:
        sys2 = Membership(other, "SYS2", address="/run/sys2.sock", lease=30.0)
        await asyncio.to_thread(sys2.join)
        await asyncio.sleep(1.6)  # SYS1 stalls past its lease; SYS2 takes its volumes over
        assert [(t.domain, t.previous) for t in await asyncio.to_thread(Ownership(sys2).claim)] == [("BK1", "SYS1")]
        res = await site.hsm.execute("FRBACKUP COPYPOOL(PAY) EXECUTE FORCE")
        assert res.rc == 12, res.messages
        assert any("SYS1 no longer" in m.text for m in res.messages), res.messages
        with pytest.raises(Fenced, match="it may not write the catalog"), site.catalog.transaction() as c:
            c.execute(text("DELETE FROM activity"))
        with pytest.raises(Fenced), site.catalog.session() as s:  # the ORM's commit alike
            s.execute(text("DELETE FROM activity"))
            s.commit()
        with site.catalog.transaction() as c:  # a later read's commit commits nothing refused before it
            c.execute(text("SELECT 1"))
        assert (rows(other, "backup_version"), rows(other, "activity"), rows(other, "audit")) == (
            versions,
            activity,
            audit,
        )
    finally:
        other.close()
        site.catalog.fence = None
        site.close_files()
