"""The catalog on PostgreSQL (issue 41, part 1): the migrations build the models' schema there too
and upgrade an older catalog; `flashpool init --catalog` creates a site on it; `flashpool catalog
migrate` moves a SQLite site onto it with every row and an audit chain that still verifies; a
database that cannot be reached is a message, never a traceback."""

from __future__ import annotations

import asyncio
import random
import sqlite3

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, func, select, text
from sqlmodel import SQLModel

from cli.main import main
from engine.catalog import Catalog, CatalogError, CatalogVersionMismatch, schema
from engine.catalog.models import TapeRow
from engine.catalog.urls import driver_url
from engine.demo import demo_definition, seed_demo
from engine.flashcopy.core import ID_BLOCK, FlashCopyCore
from engine.site import MIGRATED_CATALOG, Site
from tests import pg
from tests.catalogs import postgresql_only


def run(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


@postgresql_only
def test_the_migrations_build_the_models_schema_on_postgresql(catalog_url):
    eng = create_engine(catalog_url)
    with eng.begin() as conn:
        command.upgrade(schema._config(conn), "head")
    with eng.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
        assert conn.execute(text("SELECT nextval('tape_number')")).scalar() == 1  # revision 0008's sequence
    assert schema.current(eng) == schema.HEAD
    eng.dispose()


@postgresql_only
def test_an_older_postgresql_catalog_is_refused_then_upgraded(tmp_path, catalog_url):
    path = tmp_path / "site"
    site = Site.create(path, demo_definition(), catalog_url=catalog_url)
    asyncio.run(seed_demo(site))
    rels = sorted(r.id for r in site.flashcopy.relationships())
    site.close_files()
    eng = create_engine(catalog_url)
    with eng.begin() as conn:
        command.downgrade(schema._config(conn), "0002")
    eng.dispose()
    with pytest.raises(CatalogVersionMismatch, match=rf"revision 0002; this flashpool needs {schema.HEAD}"):
        Site.open(path)
    assert Site.upgrade_catalog(path) == ("0002", schema.HEAD)
    site = Site.open(path)
    try:
        assert not site.suspended and sorted(r.id for r in site.flashcopy.relationships()) == rels
    finally:
        site.close_files()


@postgresql_only
def test_init_with_a_postgresql_catalog(tmp_path, capsys, catalog_url):
    plain = catalog_url.replace("postgresql+psycopg://", "postgresql://")  # as an operator writes it
    path = str(tmp_path / "site")
    rc, out, err = run(capsys, "init", path, "--demo", "--catalog", plain)
    assert rc == 0, err
    assert not (tmp_path / "site" / "catalog.db").exists()
    assert (tmp_path / "site" / "catalog.url").read_text().strip() == plain
    assert run(capsys, "catalog", "check", "--site", path)[0] == 0
    rc, out, _ = run(capsys, "hsm", "FRBACKUP COPYPOOL(PAYROLL) DUMP", "--site", path, "--wait")
    assert rc == 0 and "ARC1802I" in out
    rc, out, _ = run(capsys, "hsm", "LIST COPYPOOL(PAYROLL)", "--site", path)
    assert rc == 0 and "PAYROLL" in out
    assert run(capsys, "audit", "verify", "--site", path)[0] == 0


def table_counts(eng) -> dict[str, int]:
    with eng.connect() as c:
        return {
            t.name: c.execute(select(func.count()).select_from(t)).scalar_one() for t in SQLModel.metadata.sorted_tables
        }


@postgresql_only
def test_catalog_migrate_moves_every_row_and_the_audit_chain_still_verifies(tmp_path, capsys, catalog_url):
    path = tmp_path / "site"
    site = Site.create(path, demo_definition())
    asyncio.run(seed_demo(site))  # pools, versions, relationships with maps, data sets, dumps and tapes, activity
    site.close_files()
    assert run(capsys, "hsm", "FRBACKUP COPYPOOL(PAYROLL) DUMP", "--site", str(path), "--wait")[0] == 0
    before = table_counts(create_engine(f"sqlite:///{path / 'catalog.db'}"))
    assert before["relationship"] and before["tape"] and before["audit"] and before["activity"]
    copied_ids = relationship_ids(create_engine(f"sqlite:///{path / 'catalog.db'}"))

    rc, out, err = run(capsys, "catalog", "migrate", "--site", str(path), "--to", catalog_url)
    assert rc == 0, err
    assert f"{sum(before.values()):,} rows in {len(before)} tables, every count verified" in out
    assert not (path / "catalog.db").exists() and (path / MIGRATED_CATALOG).exists()
    assert Site.catalog_url(path) == catalog_url
    assert table_counts(create_engine(driver_url(catalog_url))) == before
    assert run(capsys, "audit", "verify", "--site", str(path))[0] == 0

    # the site carries on there: new keys and tape numbers follow the copied ones
    rc, out, _ = run(capsys, "hsm", "FRBACKUP COPYPOOL(PAYROLL) DUMP", "--site", str(path), "--wait")
    assert rc == 0, out
    site = Site.open(path)
    try:
        with site.catalog.session() as s:
            tapes = sorted(t.volser for t in s.exec(select(TapeRow)).scalars())
        assert len(tapes) == len(set(tapes)) > before["tape"]
        made_here = relationship_ids(site.catalog.engine) - copied_ids
        assert made_here and min(made_here) > max(copied_ids)  # the sequence starts past the copied ids
    finally:
        site.close_files()
    assert run(capsys, "audit", "verify", "--site", str(path))[0] == 0

    rc, _, err = run(capsys, "catalog", "migrate", "--site", str(path), "--to", catalog_url)
    assert rc != 0 and "already in another database" in err and "Traceback" not in err


def relationship_ids(eng) -> set[int]:
    with eng.connect() as c:
        live = c.execute(text("SELECT id FROM relationship")).scalars()
        ended = c.execute(text("SELECT id FROM ended_relationship")).scalars()
        return set(live) | set(ended)


@postgresql_only
def test_hosts_sharing_the_catalog_never_get_one_relationship_id_twice(catalog_url):
    """Relationship ids come from the database's sequence in blocks: two hosts establishing at
    once get disjoint ids, each ascending, and `next_id` stays a floor of what comes next."""
    hosts = [Catalog.create(catalog_url)] + [Catalog.open(catalog_url) for _ in range(2)]
    try:
        journals = [c.journal() for c in hosts]
        cores = [FlashCopyCore({}, journal=j) for j in journals]
        by_core: list[list[int]] = [[], [], []]
        turns = [i for i in range(3) for _ in range(100)]
        random.Random(41).shuffle(turns)  # the hosts establish in an arbitrary interleaving
        for i in turns:
            floor = cores[i].next_id
            n = cores[i]._new_id()
            assert n >= floor
            by_core[i].append(n)
        given = [n for ids in by_core for n in ids]
        assert len(set(given)) == len(given) == 300  # no id twice, across hosts
        assert all(ids == sorted(ids) and len(ids) > ID_BLOCK for ids in by_core)  # each several blocks
        block = journals[1].reserve_ids(5)
        assert block == sorted(block) and not set(block) & set(given)
    finally:
        for c in hosts:
            c.close()


@postgresql_only
def test_migrate_refuses_a_database_that_is_not_empty(tmp_path, catalog_url):
    Site.create(tmp_path / "a", demo_definition(), catalog_url=catalog_url).close_files()
    Site.create(tmp_path / "b", demo_definition()).close_files()
    with pytest.raises(CatalogError, match="is not empty"):
        Site.migrate_catalog(tmp_path / "b", catalog_url)
    assert (tmp_path / "b" / "catalog.db").exists() and not (tmp_path / "b" / "catalog.url").exists()
    con = sqlite3.connect(tmp_path / "b" / "catalog.db")  # untouched, still the site's
    assert con.execute("SELECT count(*) FROM volume").fetchone()[0] > 0
    con.close()
    Site.open(tmp_path / "b").close_files()


def test_a_database_that_cannot_be_used_is_a_message(tmp_path, capsys, pg_cluster):
    nowhere = f"postgresql://flashpool@/x?host={tmp_path / 'no-server'}"
    missing = pg_cluster.url("no_such_database").replace("postgresql+psycopg", "postgresql")
    stranger = f"postgresql://stranger:secret@/postgres?host={pg_cluster.socket_dir}"
    for url, why in (
        (nowhere, "no database server listens on that socket"),
        (missing, 'has no such database .*database "no_such_database" does not exist'),
        (stranger, 'has no such user .*role "stranger" does not exist'),
    ):
        with pytest.raises(CatalogError, match=f"cannot be reached: .*{why}") as caught:
            Catalog.open(url)
        assert "secret" not in str(caught.value)  # a password is never shown
        rc, _, err = run(capsys, "init", str(tmp_path / "site"), "--catalog", url)
        assert rc == 12 and "cannot be reached" in err and "Traceback" not in err and "secret" not in err
        assert not (tmp_path / "site").exists()  # nothing half-made
    Site.create(tmp_path / "site", demo_definition()).close_files()
    rc, _, err = run(capsys, "catalog", "migrate", "--site", str(tmp_path / "site"), "--to", missing)
    assert rc == 12 and "has no such database" in err and "Traceback" not in err
    Site.open(tmp_path / "site").close_files()  # still on its SQLite catalog


def test_without_initdb_the_cluster_fails_and_says_why(monkeypatch):
    """The PostgreSQL tests never skip: no server binaries is a failure naming the package."""
    monkeypatch.setattr(pg.shutil, "which", lambda _: None)
    monkeypatch.setattr(pg.glob, "glob", lambda _: [])
    with pytest.raises(pg.ClusterUnavailable, match=r"initdb is not installed.*apt-get install postgresql"):
        pg.Cluster()
