"""A dump class's attributes and their rules: what the site definition, DEFINE DUMPCLASS and
LIST DUMPCLASS share."""

from __future__ import annotations

from dataclasses import dataclass

from engine.catalog.models import DumpClassRow


@dataclass(frozen=True, slots=True)
class DumpClassDef:
    name: str
    fast_replication_dump: str = "OPTIONAL"
    retention_days: int | None = None
    available_for_mount: bool = True
    stack: int = 1
    frequency: int = 7  # days between automatic dumps of a copy pool to this class (IBM's default 7)
    day: int | None = None  # automatic dump to this class only on this day of the dump cycle

    @classmethod
    def of_row(cls, row: DumpClassRow) -> DumpClassDef:
        return cls(
            row.name,
            row.fast_replication_dump,
            row.retention_days,
            row.available_for_mount,
            row.stack,
            row.frequency,
            row.day,
        )

    def onto(self, row: DumpClassRow | None) -> DumpClassRow:
        """The catalog row (a new one when None) with these attributes."""
        row = row or DumpClassRow(name=self.name)
        row.fast_replication_dump = self.fast_replication_dump
        row.retention_days = self.retention_days
        row.available_for_mount = self.available_for_mount
        row.stack = self.stack
        row.frequency = self.frequency
        row.day = self.day
        return row

    def problems(self) -> list[str]:
        """What is wrong with this dump class's attributes (the definition's and DEFINE's rule)."""
        out = []
        if self.fast_replication_dump not in ("REQUIRED", "OPTIONAL"):
            out.append(f"fast_replication_dump is REQUIRED or OPTIONAL, not {self.fast_replication_dump}")
        ret = self.retention_days
        if ret is not None and not (isinstance(ret, int) and 1 <= ret <= 9999):
            out.append(f"retention_days is 1-9999 (omit it for NOLIMIT), not {ret!r}")
        if not (isinstance(self.stack, int) and 1 <= self.stack <= 255):
            out.append(f"stack is 1-255, not {self.stack!r}")
        if not (isinstance(self.frequency, int) and 0 <= self.frequency <= 999):
            out.append(f"frequency is 0-999 days, not {self.frequency!r}")
        if self.day is not None and not (isinstance(self.day, int) and 1 <= self.day <= 31):
            out.append(f"day is a day of the dump cycle, 1-31, not {self.day!r}")
        return [f"dump class {self.name}: {p}" for p in out]
