"""The catalog: open/create with a schema check, and repository functions (no SQL elsewhere)."""

from __future__ import annotations

import asyncio
import inspect
import os
import sqlite3
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Protocol

from sqlalchemy import delete, event, func, insert, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError
from sqlmodel import Session, col, create_engine, select

from engine import diskspace
from engine.catalog import schema
from engine.catalog.models import (
    RELATIONSHIP_IDS,
    SCHEMA_VERSION,
    EndedRelationshipRow,
    RelationshipRow,
    SchemaInfo,
    VolumeRow,
)
from engine.catalog.urls import CONNECT_TIMEOUT, driver_url, is_postgresql, refusal, shown
from engine.errors import FlashpoolError
from engine.flashcopy.core import Ended
from engine.flashcopy.relationship import CopyMode, Relationship
from engine.trackmap import TrackMap


class CatalogError(FlashpoolError):
    """The catalog cannot be used; ARC1806E RC=12 (control data set I/O error) in HSM terms."""


def schema_problem(url: str, revision: str | None) -> CatalogError | None:
    """A catalog this flashpool cannot use as it is: older (say how to upgrade it) or newer."""
    if revision == schema.HEAD:
        return None
    if schema.upgradable(revision):
        return CatalogVersionMismatch(
            f"the catalog at {shown(url)} is at schema revision {revision}; this flashpool needs {schema.HEAD}: "
            "copy the catalog, then run `flashpool catalog upgrade --site SITE`"
        )
    return _too_new(url, revision)


def _too_new(url: str, revision: str | None) -> CatalogVersionMismatch:
    return CatalogVersionMismatch(
        f"the catalog at {shown(url)} has schema revision {revision}, which this flashpool does not know "
        f"(it knows up to {schema.HEAD}); it was made by a newer flashpool"
    )


def unusable(url: str, exc: DatabaseError | sqlite3.Error | UnicodeDecodeError) -> CatalogError:
    """The catalog's database said no while a site was opened: a database server that cannot be
    reached and a full file system are not damage (nothing to restore), anything else is."""
    refused = refusal(url, exc)
    if refused is not None:
        return CatalogError(
            f"the catalog at {shown(url)} cannot be reached: {refused}; nothing was changed - "
            "check the URL (the site's catalog.url once it points there), the server and the login, then try again"
        )
    why = getattr(exc, "orig", None) or exc
    where = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
    url = shown(url)
    if diskspace.full(where, exc):
        return CatalogError(
            f"the catalog at {url} cannot be opened: the file system that holds it is full (ENOSPC: {why}); "
            "it is intact - free space and try again"
        )
    if "i/o error" in str(why).lower():
        return CatalogError(
            f"the catalog at {url} cannot be used: the file system reports an I/O error ({why}); nothing was "
            "changed and it is not known to be damaged - check the device, then try again"
        )
    return CatalogCorrupt(
        f"the catalog at {url} cannot be read ({why}); it is damaged or not a "
        "flashpool catalog - restore it from a copy"
    )


class CatalogMissing(CatalogError):
    pass


class CatalogCorrupt(CatalogError):
    pass


class CatalogVersionMismatch(CatalogError):
    pass


class CatalogOnEventLoop(RuntimeError):
    """A programming error, not an operator's: a catalog query ran on the event loop's thread,
    where it stalls the console and every copy (raised only in strict mode, i.e. in the tests)."""


#: set by the test suite: a query on a live site's event loop raises instead of stalling it
STRICT_LOOP = os.environ.get("FLASHPOOL_STRICT_LOOP") == "1"


def _asked_by_a_test() -> bool:
    """Walking up from the query: a test's own frame before the first coroutine means a test is
    inspecting the catalog (allowed); engine or console code running as (or called from) a
    coroutine of its own is what strict mode is there to catch."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if f"{os.sep}tests{os.sep}" in name:
            return True
        if frame.f_code.co_flags & inspect.CO_COROUTINE:
            return False
        frame = frame.f_back  # type: ignore[assignment]
    return False


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def make_engine(url: str, durable: bool = True) -> Engine:
    """The SQLAlchemy engine for a catalog URL: SQLite with its pragmas, PostgreSQL through
    psycopg 3 with a connect timeout; a URL that cannot be used is a CatalogError."""
    connect: dict[str, object] = {"connect_timeout": CONNECT_TIMEOUT} if is_postgresql(url) else {}
    try:
        eng = create_engine(driver_url(url), connect_args=connect)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:  # a malformed URL, an unknown driver
        raise CatalogError(f"the catalog URL {shown(url)!r} cannot be used: {exc}") from None
    if url.startswith("sqlite"):

        @event.listens_for(eng, "connect")
        def _pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # FULL: every commit's WAL frames are flushed before the commit returns, so what a
            # command answered survives a power cut (docs/ATOMICITY.md). NORMAL (a site opened
            # without durability) keeps it through a process crash only.
            cur.execute(f"PRAGMA synchronous={synchronous(durable)}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    return eng


def new_sqlite_file(url: str) -> None:
    """The file of a new SQLite catalog, made the owner's alone before SQLite creates it with the
    umask's mode (0644: every user could read its password and token hashes); its journal files
    follow its mode. Only where a catalog is created (init, migrate), never by an open."""
    if not url.startswith("sqlite:///"):
        return
    path = Path(url.removeprefix("sqlite:///"))
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return  # the create refuses a catalog that exists; an empty file is its to fill
    except OSError as exc:
        raise CatalogError(f"the catalog {path} cannot be created: {exc.strerror or exc}") from None


def synchronous(durable: bool) -> str:
    """SQLite's flush setting for a site with or without power-loss durability."""
    return "FULL" if durable else "NORMAL"


class Fence(Protocol):
    """A host of an HSMplex's right to write the shared catalog (engine.plex.ownership): each
    check raises when the host may not (its lease ran out, or another host took its volumes)."""

    def check(self, c: Connection, volsers: Iterable[str]) -> None:
        """In a relationship commit's transaction, before it writes the state of `volsers`."""

    def check_writer(self, c: Connection) -> None:
        """In any other transaction that wrote, just before it commits."""


def _note_write(conn: Connection, cursor: object, statement: str, *_: object) -> None:
    """Anything but a plain SELECT counts as a write (a WITH may insert, a comment may come first)."""
    if statement.lstrip(" \t\r\n(")[:6].upper() != "SELECT":
        conn.info["wrote"] = True


def _forget_write(conn: Connection) -> None:
    conn.info.pop("wrote", None)
    conn.info.pop("fenced", None)


class Catalog:
    """One catalog database (SQLite in the site directory by default, any SQLAlchemy URL)."""

    def __init__(self, engine: Engine, url: str, durable: bool = True) -> None:
        self.engine = engine
        self.url = url
        self.durable = durable
        self._journals: list[CatalogJournal] = []
        #: a host of an HSMplex's (guard): checked inside every relationship commit on a shared
        #: database with the volumes written, and before every other transaction that wrote
        #: commits. A SQLite catalog is driven by one process, which the site's lock makes sure of.
        self.fence: Fence | None = None
        self._loop_thread: int | None = None  # the live site's event loop thread (see off_loop)

    def guard(self, fence: Fence) -> None:
        """From now on no transaction of this catalog's that wrote commits unless `fence` lets it:
        a host that lost its lease writes no version, intent, tape or log row after another host
        may have taken its volumes over (engine.plex.ownership)."""
        self.fence = fence
        event.listen(self.engine, "before_cursor_execute", _note_write)
        event.listen(self.engine, "commit", self._check_commit)
        event.listen(self.engine, "rollback", _forget_write)

    def _check_commit(self, conn: Connection) -> None:
        wrote, checked = conn.info.pop("wrote", False), conn.info.pop("fenced", False)
        if wrote and not checked and self.fence is not None:
            try:
                self.fence.check_writer(conn)
            except BaseException:
                # a refused commit is never rolled back by an ORM session (it thinks the pool will,
                # and the pool thinks it did): the connection goes, and its transaction with it
                conn.invalidate()
                raise

    def off_loop(self) -> None:
        """From now on every query must come from a worker thread, not the calling loop's."""
        asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    def on_loop_thread(self) -> bool:
        """Whether this thread is the live site's event loop thread (no catalog work here)."""
        return self._loop_thread == threading.get_ident()

    def _check_thread(self) -> None:
        if STRICT_LOOP and self._loop_thread == threading.get_ident() and not _asked_by_a_test():
            raise CatalogOnEventLoop("catalog query on the event loop thread; run it in a worker thread")

    # -- open / create ------------------------------------------------------------------------
    @classmethod
    def create(cls, url: str, durable: bool = True) -> Catalog:
        new_sqlite_file(url)
        eng = make_engine(url, durable)
        try:
            if schema.current(eng) is not None:
                raise CatalogError(f"a catalog already exists at {shown(url)}")
            with eng.begin() as conn:
                schema.create(conn)
            with Session(eng) as s:
                s.add(SchemaInfo(key="schema_version", value=str(SCHEMA_VERSION)))
                s.add(SchemaInfo(key="next_relationship_id", value="1"))
                s.commit()
        except DatabaseError as exc:
            eng.dispose()
            if refusal(url, exc) is not None:
                raise unusable(url, exc) from None
            raise CatalogCorrupt(f"cannot create the catalog at {shown(url)}: {exc.orig}") from None
        except CatalogError:
            eng.dispose()
            raise
        return cls(eng, url, durable)

    @classmethod
    def open(cls, url: str, durable: bool = True) -> Catalog:
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if not path.exists():
                raise CatalogMissing(f"the catalog {path} does not exist (create the site first)")
            if path.stat().st_size == 0:
                raise CatalogCorrupt(f"the catalog {path} is empty (truncated)")
        eng = make_engine(url, durable)
        try:
            with Session(eng) as s:
                row = s.get(SchemaInfo, "schema_version")
        except (DatabaseError, UnicodeDecodeError) as exc:  # a damaged page or text
            eng.dispose()
            raise unusable(url, exc) from None
        if row is None:
            eng.dispose()
            raise CatalogCorrupt(f"the catalog at {shown(url)} has no schema version; not a flashpool catalog")
        problem = schema_problem(url, schema.current(eng))
        if problem is not None:
            eng.dispose()
            raise problem
        return cls(eng, url, durable)

    @staticmethod
    def revision(url: str) -> tuple[str | None, str]:
        """(the catalog's schema revision, the newest this flashpool knows)."""
        eng = make_engine(url)
        try:
            return schema.current(eng), schema.HEAD
        except DatabaseError as exc:
            raise unusable(url, exc) from None
        finally:
            eng.dispose()

    @staticmethod
    def upgrade(url: str) -> tuple[str | None, str]:
        """Apply the migrations (the caller holds the site); returns (before, after)."""
        eng = make_engine(url)
        try:
            before = schema.current(eng)
            if before is None:
                raise CatalogCorrupt(f"the catalog at {shown(url)} has no schema version; not a flashpool catalog")
            if not schema.upgradable(before):
                raise _too_new(url, before)
            return schema.upgrade(eng)
        except DatabaseError as exc:
            raise unusable(url, exc) from None
        finally:
            eng.dispose()

    def close(self) -> None:
        for journal in self._journals:
            journal.close()
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        self._check_thread()
        with Session(self.engine, expire_on_commit=False) as s:
            yield s

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for Core reads (engine.catalog.reads): no Session, no ORM objects."""
        self._check_thread()
        with self.engine.connect() as c:
            yield c

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction without the ORM, committed on leaving: for the rows every command
        appends (its activity entry and its audit entry), where the ORM's unit of work costs
        several times the insert."""
        self._check_thread()
        with self.engine.begin() as c:
            yield c

    # -- volumes ------------------------------------------------------------------------------
    def add_rows(self, rows: list[object]) -> None:
        """Insert rows in the order given (flushing at each change of table, so rows that
        others reference by foreign key go first), in one transaction."""
        with self.session() as s:
            kind: type | None = None
            for row in rows:
                if type(row) is not kind:
                    s.flush()
                    kind = type(row)
                s.add(row)
            s.commit()

    def volumes(self) -> list[VolumeRow]:
        with self.session() as s:
            return list(s.exec(select(VolumeRow).order_by(VolumeRow.volser)).all())

    # -- relationships ------------------------------------------------------------------------
    def load_relationships(self) -> tuple[list[Relationship], int, dict[int, str]]:
        """The persisted relationships, the next id, and the ones whose rows are damaged (a
        bitmap that does not decode, or decodes to the wrong length): those are named, not
        loaded, and the rest of the site keeps working."""
        with self.session() as s:
            rows = list(s.exec(select(RelationshipRow).order_by(col(RelationshipRow.id))).all())
            if s.get_bind().dialect.supports_sequences:  # the sequence counts: past every id it gave, ended ones too
                sequence = text(f"SELECT last_value, is_called FROM {RELATIONSHIP_IDS.name}")
                last, called = s.connection().execute(sequence).one()
                next_id = last + 1 if called else last
            else:
                next_id = int(s.get(SchemaInfo, "next_relationship_id").value)  # type: ignore[union-attr]
        rels: list[Relationship] = []
        damaged: dict[int, str] = {}
        for row in rows:
            try:
                rel = _from_row(row)
            except (ValueError, TypeError) as exc:
                damaged[row.id] = (
                    f"relationship {row.id} ({row.source} -> {row.target}): catalog damage, its row cannot be read ({exc})"
                )
                continue
            wrong = [m for m in _MAPS if len(getattr(rel, m)) != rel.length]
            if wrong:
                damaged[row.id] = (
                    f"relationship {row.id} ({row.source} -> {row.target}): catalog damage, "
                    f"bitmap {', '.join(wrong)} does not cover its {rel.length:,} tracks"
                )
                continue
            rels.append(rel)
        return rels, next_id, damaged

    def journal(self) -> CatalogJournal:
        journal = CatalogJournal(self)
        self._journals.append(journal)
        return journal


class CatalogJournal:
    """Persists relationship state at the FlashCopy core's crash-safe points, one transaction
    per commit (rows replaced whole; maps stored compressed).

    On SQLite it keeps its own DBAPI connection and writes with INSERT OR REPLACE: a commit
    then costs tens of microseconds instead of SQLAlchemy's ~270 (measured, bench.persist).
    Other databases take the portable SQLAlchemy Core path.
    """

    _COLUMNS: ClassVar[list[str]] = [c.name for c in RelationshipRow.__table__.columns]  # type: ignore[attr-defined]

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.commits = 0
        self._raw: sqlite3.Connection | None = None
        if catalog.url.startswith("sqlite:///"):
            self._raw = sqlite3.connect(
                catalog.url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
            )
            self._raw.execute("PRAGMA journal_mode=WAL")
            self._raw.execute(f"PRAGMA synchronous={synchronous(catalog.durable)}")
            cols = ", ".join(self._COLUMNS)
            marks = ", ".join("?" * len(self._COLUMNS))
            self._upsert = f"INSERT OR REPLACE INTO relationship ({cols}) VALUES ({marks})"

    def reserve_ids(self, n: int) -> list[int] | None:
        """`n` relationship ids no one else is given, ascending, from the database's sequence
        (several hosts establish at once); None on SQLite, where the core's own counter is the
        site's (one process drives it) and each commit records it."""
        if not self.catalog.engine.dialect.supports_sequences:
            return None
        self.catalog._check_thread()
        try:
            with self.catalog.engine.begin() as conn:
                taken = conn.execute(select(RELATIONSHIP_IDS.next_value()).select_from(func.generate_series(1, n)))
                return sorted(int(i) for i in taken.scalars())
        except DatabaseError as exc:
            raise CatalogError(f"the catalog could not give relationship ids: {exc}") from exc

    def commit(self, changed: list[Relationship], removed: list[Ended], next_id: int) -> None:
        self.catalog._check_thread()
        try:
            if self._raw is not None:
                self._commit_sqlite(changed, removed, next_id)
            else:
                self._commit_portable(changed, removed, next_id)
        except (sqlite3.Error, DatabaseError) as exc:
            raise CatalogError(f"the catalog could not record FlashCopy state: {exc}") from exc
        self.commits += 1

    def _commit_sqlite(self, changed: list[Relationship], removed: list[Ended], next_id: int) -> None:
        con = self._raw
        assert con is not None
        con.execute("BEGIN IMMEDIATE")
        try:
            if removed:
                con.executemany("DELETE FROM relationship WHERE id = ?", [(e.relationship.id,) for e in removed])
                con.executemany(
                    "INSERT OR REPLACE INTO ended_relationship (id, source, target, label, reason) VALUES (?, ?, ?, ?, ?)",
                    [tuple(_ended_row(e).values()) for e in removed],
                )
            if changed:
                rows = [_to_row(r) for r in changed]
                con.executemany(self._upsert, [tuple(row[c] for c in self._COLUMNS) for row in rows])
            con.execute("UPDATE schema_info SET value = ? WHERE key = 'next_relationship_id'", (str(next_id),))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _commit_portable(self, changed: list[Relationship], removed: list[Ended], next_id: int) -> None:
        gone = [e.relationship.id for e in removed]
        ids = [r.id for r in changed] + gone
        with self.catalog.engine.begin() as conn:
            if self.catalog.fence is not None:
                written = {r.source for r in changed} | {r.target for r in changed}
                self.catalog.fence.check(
                    conn, written | {e.relationship.source for e in removed} | {e.relationship.target for e in removed}
                )
                conn.info["fenced"] = True  # checked for these volumes: the commit's own check is this one
            if ids:
                conn.execute(delete(RelationshipRow).where(col(RelationshipRow.id).in_(ids)))
            if gone:
                conn.execute(delete(EndedRelationshipRow).where(col(EndedRelationshipRow.id).in_(gone)))
                conn.execute(insert(EndedRelationshipRow), [_ended_row(e) for e in removed])
            if changed:
                conn.execute(insert(RelationshipRow), [_to_row(r) for r in changed])
            if not conn.dialect.supports_sequences:  # else the sequence is the counter (reserve_ids)
                conn.execute(
                    update(SchemaInfo).where(col(SchemaInfo.key) == "next_relationship_id").values(value=str(next_id))
                )

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None


def _ended_row(e: Ended) -> dict[str, object]:
    r = e.relationship
    return {"id": r.id, "source": r.source, "target": r.target, "label": r.label, "reason": e.reason.name}


_MAPS = ("uncopied", "through", "changed_src", "changed_tgt")  # TrackMap <-> compressed bytes


def _to_row(r: Relationship) -> dict[str, object]:
    """The row is the relationship's own fields (checked in tests/catalog), maps as bytes."""
    row: dict[str, object] = {c: getattr(r, c) for c in CatalogJournal._COLUMNS}
    row["mode"] = r.mode.value
    row["feed"] = r.feed if r.chained else None
    for m in _MAPS:
        row[m] = getattr(r, m).to_bytes()
    return row


def _from_row(row: RelationshipRow) -> Relationship:
    kw: dict[str, Any] = {c: getattr(row, c) for c in CatalogJournal._COLUMNS}
    kw["mode"] = CopyMode(row.mode)
    kw["feed"] = row.feed or ""
    for m in _MAPS:
        kw[m] = TrackMap.from_bytes(getattr(row, m), row.length)
    return Relationship(**kw)
