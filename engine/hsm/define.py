"""DEFINE DUMPCYCLE and DEFINE DUMPCLASS: the dump cycle automatic dump runs on, and dump classes
created or changed online (a changed class applies to the next dump made to it; copies made
already keep the retention they were made with)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from engine.catalog.models import DumpClassRow
from engine.command import Define, DumpClassChange
from engine.hsm import dumpcycle
from engine.hsm.dumpclass import DumpClassDef
from engine.messages import CommandResult

if TYPE_CHECKING:
    from engine.hsm.context import Context


def define(ctx: Context, req: Define, res: CommandResult) -> None:
    today = dt.datetime.fromtimestamp(ctx.clock()).date()
    with ctx.catalog.session() as s:
        c = s.connection()
        cycle = dumpcycle.read(c)
        if req.dump_cycle is not None:
            why = dumpcycle.problem(req.dump_cycle, req.cycle_start, today)
            if why:
                _refused(res, why)
                return
            cycle = dumpcycle.write(c, req.dump_cycle, req.cycle_start, today)
            res.add(
                "FPL170I",
                f"DUMP CYCLE {cycle.days} STARTED {cycle.start:%Y/%m/%d}; TODAY IS DAY {cycle.day_of(today)} "
                f"({'Y' if cycle.dumps_on(today) else 'N'})",
            )
        if req.dump_class is not None:
            row = s.get(DumpClassRow, req.dump_class.name)
            wanted = changed(DumpClassDef.of_row(row) if row else DumpClassDef(req.dump_class.name), req.dump_class)
            problems = wanted.problems()
            day = dumpcycle.day_problem(cycle, wanted.day)
            if day:
                problems.append(day)
            if problems:
                _refused(res, "; ".join(problems))
                return
            row = wanted.onto(row)
            s.add(row)
            res.add("FPL171I", f"DUMP CLASS {describe(wanted)}")
        s.commit()
    res.add("ARC0100I", "DEFINE COMMAND COMPLETED")


def _refused(res: CommandResult, why: str) -> None:
    res.add("ARC0101I", f"DEFINE COMMAND FAILED: {why.upper()}")
    res.fail(8)


def changed(dc: DumpClassDef, change: DumpClassChange) -> DumpClassDef:
    out = dc
    if change.frequency is not None:
        out = dataclasses.replace(out, frequency=change.frequency)
    if change.day is not None:
        out = dataclasses.replace(out, day=change.day or None)
    if change.retention_days is not None:
        out = dataclasses.replace(out, retention_days=change.retention_days or None)
    if change.stack is not None:
        out = dataclasses.replace(out, stack=change.stack)
    if change.fast_replication_dump is not None:
        out = dataclasses.replace(out, fast_replication_dump=change.fast_replication_dump)
    if change.available_for_mount is not None:
        out = dataclasses.replace(out, available_for_mount=change.available_for_mount)
    return out


def describe(dc: DumpClassDef) -> str:
    return (
        f"{dc.name} FREQUENCY({dc.frequency}) DAY({dc.day or 0}) "
        f"RETENTIONPERIOD({dc.retention_days or 'NOLIMIT'}) STACK({dc.stack}) "
        f"FASTREPLICATIONDUMP({dc.fast_replication_dump}) "
        f"FASTREPLICATIONRECOVER(AVAILABLEFORMOUNT({'YES' if dc.available_for_mount else 'NO'}))"
    )


__all__ = ["changed", "define", "describe"]
