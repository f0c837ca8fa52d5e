"""LIST DUMPVOLUME(tape), LIST DUMPCLASS(class) and LIST PRIMARYVOLUME(volser): the dump side of
the control data sets, as DFSMShsm lists it for copy pools (every copy pool, version, source and
dump class a tape or a volume's dump copies belong to, and a dump class's attributes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlmodel import select

from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, DumpCopyRow, TapeRow
from engine.command import ListCopyPool
from engine.hsm.dumpclass import DumpClassDef
from engine.messages import CommandResult, Rc
from engine.visibility import Visibility

if TYPE_CHECKING:
    from engine.hsm.context import Context


def _day(at: float | None) -> str:
    return dt.datetime.fromtimestamp(at).strftime("%Y/%m/%d") if at else "NOLIMIT"


def list_dumps(ctx: Context, req: ListCopyPool, res: CommandResult, seen: Visibility) -> None:
    """One tape, class or volume by name; without a name every one the caller may list (the
    refusals of one named are no refusal of the whole list)."""
    one: Callable[[Context, str, CommandResult, Visibility], None]
    if req.dump_volume is not None:
        names, one = ([req.dump_volume] if req.dump_volume else _tapes(ctx, seen)), _dump_volume
    elif req.dump_class is not None:
        names, one = ([req.dump_class] if req.dump_class else _classes(ctx)), _dump_class
    else:
        assert req.primary_volume is not None
        names = [req.primary_volume] if req.primary_volume else _sources(ctx, seen)
        one = _primary_volume
    if len(names) == 1 and (req.dump_volume or req.dump_class or req.primary_volume):
        one(ctx, names[0], res, seen)
        return
    parts = []
    for name in names:
        part = CommandResult(res.command)
        one(ctx, name, part, seen)
        if part.rc == 0:
            res.listing += part.listing
            parts.append(part.data)
    if not names:
        res.listing.append("NO ENTRIES")
    res.data = {"kind": "list", "entries": parts}


def _tapes(ctx: Context, seen: Visibility) -> list[str]:
    with ctx.catalog.session() as s:
        tapes = [t.volser for t in s.exec(select(TapeRow).order_by(TapeRow.volser)).all()]
    return [t for t in tapes if all(seen.pool(v.copy_pool) for _, v in _copies(ctx, tape=t))]


def _classes(ctx: Context) -> list[str]:
    with ctx.catalog.session() as s:
        return [d.name for d in repo.dump_classes(s)]


def _sources(ctx: Context, seen: Visibility) -> list[str]:
    """The volumes that have dump copies."""
    with ctx.catalog.session() as s:
        found = sorted(set(s.exec(select(DumpCopyRow.source)).all()))
    return [v for v in found if seen.volume(v)]


def _copies(ctx: Context, **where: str) -> list[tuple[DumpCopyRow, BackupVersionRow]]:
    with ctx.catalog.session() as s:
        q = select(DumpCopyRow, BackupVersionRow).join(
            BackupVersionRow,
            BackupVersionRow.id == DumpCopyRow.version_id,  # type: ignore[arg-type]
        )
        for column, value in where.items():
            q = q.where(getattr(DumpCopyRow, column) == value)
        return list(s.exec(q).all())


def _line(c: DumpCopyRow, v: BackupVersionRow) -> dict[str, Any]:
    return {
        "copy_pool": v.copy_pool,
        "version": v.version,
        "source": c.source,
        "dump_class": c.dump_class,
        "tape": c.tape,
        "file": c.file_index + 1,
        "state": c.state,
        "point_in_time": dt.datetime.fromtimestamp(v.created_at).isoformat(timespec="seconds"),
        "expires": _day(c.expires_at),
    }


def _print(out: list[str], rows: list[dict[str, Any]]) -> None:
    out.append("COPYPOOL                VERSION SOURCE DCLASS   DUMPVOL FILE STATE    DATE       EXPIRES")
    for r in rows:
        out.append(
            f"{r['copy_pool']:<23} {r['version']:03d}     {r['source']:<6} {r['dump_class']:<8} {r['tape']:<7} "
            f"{r['file']:>4} {r['state']:<8} {r['point_in_time'][:10].replace('-', '/')} {r['expires']}"
        )


def _refuse(res: CommandResult, what: str, rc: int, why: str) -> None:
    res.add("ARC1806E", f"LIST FAILED, RC={rc:04d} - {what} {why}")
    res.fail(rc)


def _dump_volume(ctx: Context, tape: str, res: CommandResult, seen: Visibility) -> None:
    with ctx.catalog.session() as s:
        row = s.get(TapeRow, tape)
    rows = _copies(ctx, tape=tape)
    if not seen.answers(all(seen.pool(v.copy_pool) for _, v in rows), lambda: row is not None):
        _refuse(res, f"DUMPVOLUME {tape}", Rc.NOT_AUTHORIZED, "holds data of a copy pool you may not list")
        return
    if row is None:
        _refuse(res, f"DUMPVOLUME {tape}", 44, "is not a copy pool dump volume")
        return
    out = res.listing
    out.append(f"DUMPVOLUME={tape} STATE={row.state} FILES={len(rows)}")
    found = [_line(c, v) for c, v in sorted(rows, key=lambda cv: cv[0].file_index)]
    _print(out, found)
    res.data = {"kind": "dump-volume", "tape": tape, "state": row.state, "copies": found}


def _dump_class(ctx: Context, name: str, res: CommandResult, seen: Visibility) -> None:
    with ctx.catalog.session() as s:
        row = repo.dump_class(s, name)
        pools = sorted(p.name for p in repo.copy_pools(s) if name in repo.dump_classes_by_pool(s).get(p.name, ()))
    if row is None:
        _refuse(res, f"DUMPCLASS {name}", 48, "is not defined")
        return
    from engine.hsm.define import describe

    dc = DumpClassDef.of_row(row)
    out = res.listing
    out.append(f"DUMPCLASS={describe(dc)}")
    shown = [p for p in pools if seen.pool(p)]
    out.append(f"COPYPOOLS={' '.join(shown) or 'NONE'}")
    found = [_line(c, v) for c, v in _copies(ctx, dump_class=name) if seen.pool(v.copy_pool)]
    _print(out, found)
    res.data = {
        "kind": "dump-class",
        "name": name,
        "frequency": dc.frequency,
        "day": dc.day,
        "retention_days": dc.retention_days,
        "stack": dc.stack,
        "fast_replication_dump": dc.fast_replication_dump,
        "available_for_mount": dc.available_for_mount,
        "copy_pools": shown,
        "copies": found,
    }


def _primary_volume(ctx: Context, volser: str, res: CommandResult, seen: Visibility) -> None:
    with ctx.catalog.session() as s:
        row = repo.volume(s, volser)
        pools = repo.pools_of_group(s, row.storage_group) if row and row.storage_group else []
    if not seen.answers(seen.volume(volser), lambda: row is not None):
        _refuse(res, f"PRIMARYVOLUME {volser}", Rc.NOT_AUTHORIZED, "holds data of a copy pool you may not list")
        return
    if row is None:
        _refuse(res, f"PRIMARYVOLUME {volser}", 22, "is not defined")
        return
    out = res.listing
    out.append(f"PRIMARYVOLUME={volser} STORAGEGROUP={row.storage_group or '-'} COPYPOOLS={' '.join(pools) or 'NONE'}")
    found = [_line(c, v) for c, v in _copies(ctx, source=volser)]
    _print(out, found)
    res.data = {"kind": "primary-volume", "volume": volser, "copy_pools": pools, "copies": found}


__all__ = ["list_dumps"]
