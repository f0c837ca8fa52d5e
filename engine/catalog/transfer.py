"""Moving a catalog into another database (`flashpool catalog migrate`): every row of every table
copied into an empty database in one transaction (PostgreSQL's DDL is transactional: a failure
leaves it empty), the database's own counters set past what was copied, and every table's row
count compared on both sides before the caller switches the site over."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, Table, func, insert, inspect, select, text
from sqlalchemy.exc import DatabaseError
from sqlmodel import SQLModel, col

from engine.catalog import schema
from engine.catalog.models import RELATIONSHIP_IDS, TAPE_NUMBERS, SchemaInfo
from engine.catalog.store import Catalog, CatalogError, make_engine, new_sqlite_file, unusable
from engine.catalog.urls import shown

BATCH = 1_000  # rows per INSERT: a relationship row carries four compressed bitmaps


def copy_catalog(source: Catalog, url: str) -> dict[str, int]:
    """Copy `source` (open, at the newest revision, nobody writing it) into the empty database
    at `url`; returns the rows copied per table, each count verified in the new database."""
    new_sqlite_file(url)
    target = make_engine(url)
    try:
        with source.reading() as src:
            _refuse_unless_empty(target, url)
            with target.begin() as dst:
                schema.create(dst)
                counts = {t.name: _copy_table(src, dst, t) for t in SQLModel.metadata.sorted_tables}
                _set_counters(src, dst)
            _verify(target, url, counts)
        return counts
    except DatabaseError as exc:
        raise unusable(url, exc) from None
    finally:
        target.dispose()


def _refuse_unless_empty(target: Engine, url: str) -> None:
    tables = inspect(target).get_table_names()
    if tables:
        raise CatalogError(
            f"the database at {shown(url)} is not empty ({len(tables)} tables, among them {sorted(tables)[0]}); "
            "a catalog is copied only into an empty database - create a new one"
        )


def _copy_table(src: Connection, dst: Connection, table: Table) -> int:
    rows = src.execute(select(table)).mappings()
    n = 0
    while batch := [dict(r) for r in rows.fetchmany(BATCH)]:
        dst.execute(insert(table), batch)
        n += len(batch)
    return n


def _set_counters(src: Connection, dst: Connection) -> None:
    """The database's sequences past every number the copied catalog ever gave: generated keys
    past the highest copied (and past SQLite's AUTOINCREMENT record, which remembers deleted
    ones), tape numbers and relationship ids where schema_info's counters stood."""
    if not dst.dialect.supports_sequences:
        return
    ever = _sqlite_sequences(src)
    for table in SQLModel.metadata.sorted_tables:
        key = table.autoincrement_column
        if key is None:
            continue
        highest = max(dst.execute(select(func.max(key))).scalar() or 0, ever.get(table.name, 0))
        if highest:
            dst.execute(
                text("SELECT setval(pg_get_serial_sequence(:t, :c), :n)"),
                {"t": table.name, "c": key.name, "n": highest},
            )
    for sequence, counter in ((TAPE_NUMBERS, "next_tape"), (RELATIONSHIP_IDS, "next_relationship_id")):
        counted = src.execute(select(col(SchemaInfo.value)).where(col(SchemaInfo.key) == counter)).scalar()
        if counted is not None:
            dst.execute(text("SELECT setval(:s, :n, false)"), {"s": sequence.name, "n": int(counted)})


def _sqlite_sequences(src: Connection) -> dict[str, int]:
    """SQLite's AUTOINCREMENT record: the highest key each such table ever gave."""
    if src.dialect.name != "sqlite" or not inspect(src).has_table("sqlite_sequence"):
        return {}
    return {name: int(seq) for name, seq in src.execute(text("SELECT name, seq FROM sqlite_sequence"))}


def _verify(target: Engine, url: str, counts: dict[str, int]) -> None:
    with target.connect() as c:
        found = {
            t.name: c.execute(select(func.count()).select_from(t)).scalar_one() for t in SQLModel.metadata.sorted_tables
        }
    wrong = [f"{name}: {counts[name]} copied, {found[name]} found" for name in counts if found[name] != counts[name]]
    if wrong:
        raise CatalogError(
            f"the copy of the catalog at {shown(url)} is incomplete ({'; '.join(wrong)}); the site was not switched"
        )
