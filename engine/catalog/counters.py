"""Numbers the catalog hands out: from a sequence where the database has them (PostgreSQL: no two
transactions ever get the same number, and none waits for another), else from a counter row in
schema_info, read and written in the caller's transaction (SQLite: one writer at a time)."""

from __future__ import annotations

from sqlalchemy import Sequence, select
from sqlmodel import Session

from engine.catalog.models import TAPE_NUMBERS, SchemaInfo


def next_number(s: Session, sequence: Sequence, counter: str) -> int:
    """The next number of `sequence`, or of the schema_info row `counter` (starting at 1)."""
    if s.get_bind().dialect.supports_sequences:
        return int(s.execute(select(sequence.next_value())).scalar_one())
    row = s.get(SchemaInfo, counter) or SchemaInfo(key=counter, value="1")
    n = int(row.value)
    row.value = str(n + 1)
    s.add(row)
    return n


def next_tape(s: Session) -> int:
    """A tape number never given before."""
    return next_number(s, TAPE_NUMBERS, "next_tape")
