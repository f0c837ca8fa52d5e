"""Alembic owns the catalog schema (issue "A release people can install and script"): the
migrations build exactly the models' schema, an older catalog is refused at open with the
command that upgrades it, and the upgrade keeps every row and every bitmap."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

from cli.main import main
from engine.catalog import CatalogVersionMismatch, schema
from engine.demo import demo_definition, seed_demo
from engine.site import Site


def test_the_migrations_build_the_models_schema(tmp_path):
    eng = create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    with eng.begin() as conn:
        command.upgrade(schema._config(conn), "head")
    with eng.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    assert schema.current(eng) == schema.HEAD


def test_head_names_the_newest_migration():
    """Opening a catalog compares it with HEAD without loading Alembic: HEAD must be Alembic's head."""
    assert schema._scripts().get_current_head() == schema.HEAD
    assert schema.upgradable(schema.HEAD) and not schema.upgradable("9999")


#: tables that revisions after 0002 add (a downgrade to 0002 drops them with their rows)
LATER_TABLES = {"profile", "permit", "role_grant", "api_token", "audit", "site_setting", "alert"}


LATER_COLUMNS = {  # revisions 0003, 0005 and 0007
    ("activity", "user"),
    ("relationship", "feed"),
    ("backup_version", "failed_reason"),
    ("backup_version", "failed_at"),
    ("backup_version", "failed_by"),
    ("dump_copy", "tracks"),
}


def rows(db: Path) -> dict[str, list[tuple]]:
    """Every row of every table revision 0002 has (without the columns later revisions added), in
    a stable order."""
    con = sqlite3.connect(db)
    try:
        out = {}
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for t in sorted(tables):
            if t == "alembic_version" or t in LATER_TABLES:
                continue
            cols = [c[1] for c in con.execute(f"PRAGMA table_info({t})") if (t, c[1]) not in LATER_COLUMNS]
            out[t] = sorted(con.execute(f"SELECT {', '.join(cols)} FROM {t}").fetchall(), key=repr)
        return out
    finally:
        con.close()


def test_an_older_catalog_is_refused_then_upgraded_with_every_row_and_bitmap_intact(tmp_path, capsys):
    path = tmp_path / "site"
    site = Site.create(path, demo_definition())
    asyncio.run(seed_demo(site))  # pools, versions, relationships with maps, data sets, dumps, activity
    site.close_files()
    before = rows(path / "catalog.db")
    assert before["relationship"] and before["dump_copy"] and before["data_set"] and before["activity"]

    eng = create_engine(f"sqlite:///{path / 'catalog.db'}")
    with eng.begin() as conn:
        command.downgrade(schema._config(conn), "0002")  # the catalog as the previous release left it
    eng.dispose()
    with pytest.raises(
        CatalogVersionMismatch, match=rf"revision 0002; this flashpool needs {schema.HEAD}.*flashpool catalog upgrade"
    ):
        Site.open(path)
    assert main(["catalog", "check", "--site", str(path)]) == 4
    assert main(["catalog", "upgrade", "--site", str(path)]) == 0
    assert f"was at schema revision 0002; it is now at {schema.HEAD}" in capsys.readouterr().out
    assert main(["catalog", "check", "--site", str(path)]) == 0

    assert rows(path / "catalog.db") == before  # every row, every bitmap (stored as bytes), as it was
    site = Site.open(path)
    try:
        assert not site.suspended  # every bitmap decodes to its relationship's length
        assert site.flashcopy.relationships()
        assert site.context.guard.profiles() == []  # an upgraded site without profiles serves its owner only
    finally:
        site.close_files()


def test_a_catalog_from_before_alembic_is_the_baseline(tmp_path):
    path = tmp_path / "site"
    Site.create(path, demo_definition()).close_files()
    eng = create_engine(f"sqlite:///{path / 'catalog.db'}")
    with eng.begin() as conn:
        command.downgrade(schema._config(conn), "0002")
        conn.exec_driver_sql("DROP TABLE alembic_version")  # schema_version 2 is all it has
    assert schema.current(eng) == "0002"
    eng.dispose()
    with pytest.raises(CatalogVersionMismatch, match="0002"):
        Site.open(path)
    assert Site.upgrade_catalog(path) == ("0002", schema.HEAD)
    Site.open(path).close_files()


def test_a_catalog_from_a_newer_flashpool_is_refused(tmp_path):
    path = tmp_path / "site"
    Site.create(path, demo_definition()).close_files()
    con = sqlite3.connect(path / "catalog.db")
    con.execute("UPDATE alembic_version SET version_num = '9999'")
    con.commit()
    con.close()
    with pytest.raises(CatalogVersionMismatch, match=r"does not know.*newer flashpool"):
        Site.open(path)
