"""The catalog's schema belongs to Alembic (engine/catalog/migrations): a new catalog is created
at the newest revision, an older one is refused at open with the command that upgrades it, and
`flashpool catalog upgrade` applies the migrations (batch mode, so SQLite can alter tables; the
same migrations run on PostgreSQL).

Catalogs made before Alembic carry only `schema_version` in schema_info: version 2 is the
baseline revision 0002, version 1 is first brought to version 2 by the old in-place step.

Opening a catalog reads its revision with one query and compares it with HEAD; Alembic itself
(about a quarter of a second of imports) is loaded only to create, stamp or upgrade."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0012"  # the newest migration's revision (a test checks it against Alembic's scripts)
VERSION_TABLE = "alembic_version"  # where Alembic keeps a catalog's revision, one row
BASELINE = "0002"  # what schema_version 2 (before Alembic) is
V2_TABLES = {"intent", "ended_relationship", "tape"}  # what schema version 2 added to version 1


def _config(conn: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


@functools.cache
def _scripts() -> ScriptDirectory:
    """The migrations, read once per process (every new catalog is stamped with the head)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def known() -> set[str]:
    return {s.revision for s in _scripts().walk_revisions()}


def upgradable(revision: str | None) -> bool:
    """A revision `upgrade` knows how to bring to the head (the head itself included)."""
    return revision is not None and (revision == HEAD or revision.startswith("legacy-") or revision in known())


def current(eng: Engine) -> str | None:
    """The catalog's revision: Alembic's, or what a catalog from before Alembic is equivalent to
    ('legacy-1' for schema version 1, which needs the old step first); None: not a catalog."""
    with eng.connect() as conn:
        tables = inspect(conn)
        if tables.has_table(VERSION_TABLE):
            revs = [r[0] for r in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))]
            if revs:
                return ",".join(sorted(revs))  # several heads: no revision this flashpool made
        if not tables.has_table("schema_info"):
            return None
        row = conn.execute(text("SELECT value FROM schema_info WHERE key = 'schema_version'")).first()
    if row is None:
        return None
    return BASELINE if row[0] == "2" else f"legacy-{row[0]}"


def create(conn: Connection) -> None:
    """A new catalog: the models' tables (and sequences, where the database has them), stamped at
    the newest revision, in the caller's transaction (a test proves the migrations build the same
    schema)."""
    from alembic.runtime.migration import MigrationContext

    SQLModel.metadata.create_all(conn)
    MigrationContext.configure(conn).stamp(_scripts(), "head")


def upgrade(eng: Engine) -> tuple[str | None, str]:
    """Bring the catalog to the newest revision; returns (revision before, revision after)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    before = current(eng)
    if before == "legacy-1":
        _legacy_1_to_2(eng)
    with eng.begin() as conn:
        if MigrationContext.configure(conn).get_current_revision() is None:
            command.stamp(_config(conn), BASELINE)
    with eng.begin() as conn:
        command.upgrade(_config(conn), "head")
    return before, HEAD


def _legacy_1_to_2(eng: Engine) -> None:
    """Schema version 1 -> 2 (before Alembic): new tables and DumpCopyRow.file_offset. Version 1 tapes
    hold one verified-as-a-whole sequence; their offsets are found by scanning at first read."""
    SQLModel.metadata.create_all(eng, tables=[t for t in SQLModel.metadata.sorted_tables if t.name in V2_TABLES])
    with eng.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE dump_copy ADD COLUMN file_offset INTEGER NOT NULL DEFAULT -1")
        conn.exec_driver_sql("ALTER TABLE backup_version DROP COLUMN frr_eligible")  # derived now (rules.frr_methods)
        conn.exec_driver_sql("INSERT INTO tape (volser, file, state) SELECT DISTINCT tape, file, 'FULL' FROM dump_copy")
        conn.exec_driver_sql("UPDATE schema_info SET value = '2' WHERE key = 'schema_version'")
