"""Sites persist: relationships, bitmaps and progress survive a close/reopen; bad input is named."""

from __future__ import annotations

import os
import sqlite3

import pytest
from sqlmodel import select

from engine.catalog import CatalogCorrupt, CatalogMissing, CatalogVersionMismatch
from engine.catalog.models import RelationshipRow
from engine.definition import Definition, DefinitionError, parse_definition
from engine.errors import FlashCopyError
from engine.flashcopy import CopyMode, EstablishRequest
from engine.site import Site, SiteError
from tests.catalogs import both_catalogs

TS = 64


def definition(n: int = 3) -> Definition:
    return parse_definition({"volume": [{"volser": f"VOL{i:03d}", "tracks": 16, "track_size": TS} for i in range(n)]})


def t(text: str) -> bytes:
    return text.encode().ljust(TS, b".")


@both_catalogs
async def test_relationships_and_progress_survive_reopen(tmp_path, catalog_url):
    site = Site.create(tmp_path / "s", definition(), catalog_url=catalog_url)
    fc = site.flashcopy
    data = [t(f"d{i}") for i in range(16)]
    await fc.write_run("VOL000", 0, data)
    rel = await fc.establish(EstablishRequest("VOL000", "VOL001", incremental=True))
    await fc.copy_step(rel.id, 5)
    await fc.write("VOL000", 15, t("new"))
    nocopy = await fc.establish(EstablishRequest("VOL000", "VOL002", mode=CopyMode.NOCOPY))
    await site.close()

    site = Site.open(tmp_path / "s")
    fc = site.flashcopy
    again = fc.relationship(rel.id)
    assert (again.out_of_sync, again.incremental, again.changed_source_tracks) == (10, True, 1)
    assert fc.relationship(nocopy.id).mode is CopyMode.NOCOPY
    assert await fc.read_run("VOL001", 0, 16) == data
    await site.start()  # resumes the background copy from the persisted map
    await fc.wait_idle(timeout=10)
    assert site.context.volume("VOL001").read_tracks_sync(0, 16) == data
    assert fc.core.next_id > nocopy.id  # ids are never reused after a reopen (PostgreSQL: nor ones reserved)
    await site.close()


@both_catalogs
async def test_missing_volume_image_suspends_only_its_relationships(tmp_path, catalog_url):
    site = Site.create(tmp_path / "s", definition(4), catalog_url=catalog_url)
    await site.flashcopy.establish(EstablishRequest("VOL000", "VOL001"))
    keep = await site.flashcopy.establish(EstablishRequest("VOL002", "VOL003"))
    await site.close()
    os.unlink(tmp_path / "s" / "volumes" / "VOL001.img")
    os.truncate(tmp_path / "s" / "volumes" / "VOL000.img", 100)
    site = Site.open(tmp_path / "s")
    assert "missing" in site.unavailable["VOL001"] and "truncated" in site.unavailable["VOL000"]
    assert list(site.suspended) == [1] and "suspended" in site.suspended[1]
    assert [r.id for r in site.flashcopy.relationships()] == [keep.id]
    with pytest.raises(FlashCopyError):
        await site.flashcopy.establish(EstablishRequest("VOL002", "VOL003"))
    # the suspended relationship is still in the catalog: nothing was forgotten
    with site.catalog.reading() as c:
        assert sorted(c.execute(select(RelationshipRow.id)).scalars()) == [1, 2]
    await site.close()


def test_catalog_errors_are_specific(tmp_path):
    with pytest.raises(CatalogMissing, match="not a flashpool site"):
        Site.open(tmp_path / "nowhere")
    site_dir = tmp_path / "s"
    import asyncio

    asyncio.run(Site.create(site_dir, definition(1)).close())
    with pytest.raises(SiteError, match="already holds"):
        Site.create(site_dir, definition(1))
    db = site_dir / "catalog.db"
    con = sqlite3.connect(db)
    con.execute("update alembic_version set version_num='9999'")
    con.commit()
    con.close()
    with pytest.raises(CatalogVersionMismatch, match="revision 9999, which this flashpool does not know"):
        Site.open(site_dir)
    db.write_bytes(b"this is not a database" * 100)
    for f in site_dir.glob("catalog.db-*"):
        f.unlink()
    with pytest.raises(CatalogCorrupt, match="damaged"):
        Site.open(site_dir)
    db.write_bytes(b"")
    with pytest.raises(CatalogCorrupt, match="empty"):
        Site.open(site_dir)


def test_duplicate_and_invalid_volumes_in_a_definition(tmp_path):
    with pytest.raises(DefinitionError, match="volume V1 is listed twice in the volume list"):
        Site.create(
            tmp_path / "a", parse_definition({"volume": [{"volser": "V1", "tracks": 4}, {"volser": "v1", "tracks": 4}]})
        )
    with pytest.raises(DefinitionError, match="invalid volser"):
        Site.create(tmp_path / "b", parse_definition({"volume": [{"volser": "TOOLONG1", "tracks": 4}]}))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing half-made


@both_catalogs
async def test_catalog_in_another_database_and_the_portable_journal(tmp_path, catalog_url):
    url = catalog_url or f"sqlite:///{tmp_path / 'elsewhere.db'}"
    site = Site.create(tmp_path / "s", definition(2), catalog_url=url)
    assert not (tmp_path / "s" / "catalog.db").exists()
    site.flashcopy.core.journal._raw = None  # take the SQLAlchemy Core path used for PostgreSQL
    await site.flashcopy.write("VOL000", 3, t("x"))
    rel = await site.flashcopy.establish(EstablishRequest("VOL000", "VOL001", mode=CopyMode.NOCOPY))
    await site.flashcopy.write("VOL000", 3, t("y"))  # copy-on-write, committed portably
    await site.close()
    site = Site.open(tmp_path / "s")
    assert site.flashcopy.relationship(rel.id).out_of_sync == 15
    assert await site.flashcopy.read("VOL001", 3) == t("x")
    await site.close()


@both_catalogs
async def test_full_disk_during_copy_on_write_refuses_the_write_and_loses_nothing(tmp_path, monkeypatch, catalog_url):
    import errno

    site = Site.create(tmp_path / "s", definition(2), catalog_url=catalog_url)
    fc = site.flashcopy
    await fc.write("VOL000", 0, t("before"))
    await fc.establish(EstablishRequest("VOL000", "VOL001", mode=CopyMode.NOCOPY))

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "copy_file_range", full)
    monkeypatch.setattr(os, "pwrite", full)
    monkeypatch.setattr(os, "pwritev", full)
    from engine.errors import VolumeSpaceExhausted

    with pytest.raises(VolumeSpaceExhausted, match="no space left"):
        await fc.write("VOL000", 0, t("after"))
    monkeypatch.undo()
    assert await fc.read("VOL000", 0) == t("before")  # the write did not happen
    assert await fc.read("VOL001", 0) == t("before")  # the copy is intact
    await fc.write("VOL000", 0, t("after"))  # space is back: it works
    await site.close()
    site = Site.open(tmp_path / "s")
    assert await site.flashcopy.read("VOL000", 0) == t("after")
    assert await site.flashcopy.read("VOL001", 0) == t("before")
    await site.close()


@both_catalogs
async def test_one_process_at_a_time(tmp_path, catalog_url):
    site = Site.create(tmp_path / "s", definition(1), catalog_url=catalog_url)
    with pytest.raises(SiteError, match="in use by process"):
        Site.open(tmp_path / "s")
    (tmp_path / "s" / "site.lock").unlink()  # deleting the holder's name does not unlock the site
    with pytest.raises(SiteError, match="in use by another process"):
        Site.open(tmp_path / "s")
    await site.close()
    again = Site.open(tmp_path / "s")
    await again.close()


def test_a_relationship_row_is_the_relationships_own_fields():
    """The catalog maps a relationship field by field by name (engine.catalog.store): a field
    added on one side only must fail here, not lose state silently at the next open."""
    import dataclasses

    from engine.catalog.models import RelationshipRow
    from engine.flashcopy.relationship import Relationship

    fields = {f.name for f in dataclasses.fields(Relationship)} - {"extra"}
    assert set(RelationshipRow.__table__.columns.keys()) == fields
