"""AUDIT COPYPOOLCONTROLS[(cp)] [FIX]: where the fast replication records disagree with the
relationships, the dump copies, the tapes and the images, each a numbered finding in the
listing (IBM's AUDIT reports `*ERR nnn`); with FIX each is repaired the one way that keeps every
promise true (a version whose bytes are gone stops being RECOVERABLE; it is never made
RECOVERABLE again). Findings (flashpool's numbers):

 ERR 401  a RECOVERABLE version's target volume is unavailable          FIX: the version FAILED
 ERR 402  a RECOVERABLE version's relationship was withdrawn before its copy completed
                                                                        FIX: the version FAILED
 ERR 403  an HSM relationship of the copy pool that no version owns     FIX: withdrawn
 ERR 404  a COMPLETE dump copy whose tape file is missing or damaged    FIX: the copy FAILED
 ERR 405  a version's DUMPSTATE disagrees with its dump copies          FIX: derived again
 ERR 406  one target volume held by two versions' DASD copies            (no fix: FRDELETE one)
 ERR 407  a tape file no tape record names (unnamed audit only)         FIX: removed
 ERR 408  a full tape record with no dump copy on it (unnamed audit)    FIX: scratched
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import select

from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, DumpCopyRow, EndedRelationshipRow, TapeRow
from engine.flashcopy.relationship import EndReason
from engine.hsm import dump, standing
from engine.hsm.tape import TapeError
from engine.messages import CommandResult
from engine.paths import OutsideSite, inside
from engine.states import DasdState, DumpCopyState, FailedReason, TapeState
from engine.visibility import EVERYTHING, Visibility

if TYPE_CHECKING:
    from engine.hsm.context import Context

DASD = tuple(s for s in DasdState if s.frr_possible)


@dataclass(frozen=True, slots=True)
class Finding:
    code: int
    text: str
    fix: Callable[[], str] | None  # repairs it; returns what was done


def audit(ctx: Context, pool: str | None, fix: bool, res: CommandResult, seen: Visibility = EVERYTHING) -> None:
    """`seen`: an unnamed audit leaves out the copy pools the caller may not list."""
    pools = [pool] if pool else [p for p in pool_names(ctx) if seen.pool(p)]
    if pool is not None and pool not in pool_names(ctx):
        res.add("ARC1806E", f"AUDIT FAILED, RC=0022 - copy pool {pool} is not defined")
        res.fail(22)
        return
    findings: list[Finding] = []
    for p in pools:
        findings += copy_pool_findings(ctx, p)
    if pool is None and seen.everything:
        findings += tape_findings(ctx)
    out = res.listing
    out.append(f"-- AUDIT COPYPOOLCONTROLS{f'({pool})' if pool else ''} {'FIX' if fix else 'NOFIX'} --")
    fixed = 0
    for f in findings:
        out.append(f"*ERR {f.code} {f.text}")
        if fix and f.fix is not None:
            out.append(f"  FIXED: {f.fix()}")
            fixed += 1
        elif f.fix is None:
            out.append("  NOT FIXABLE BY AUDIT: SEE THE FINDING")
    out.append(f"-- END OF AUDIT: {len(findings)} ERROR(S), {fixed} FIXED --")
    res.data = {
        "kind": "audit",
        "findings": [{"code": f.code, "text": f.text, "fixable": f.fix is not None} for f in findings],
        "fixed": fixed,
    }
    res.add(
        "ARC0100I",
        f"AUDIT COMMAND COMPLETED: {len(findings)} ERROR(S) IN {len(pools)} COPY POOL(S)"
        + (f", {fixed} FIXED" if fix else ""),
    )
    if findings:
        res.fail(4)


def pool_names(ctx: Context) -> list[str]:
    with ctx.catalog.session() as s:
        return [p.name for p in repo.copy_pools(s)]


def copy_pool_findings(ctx: Context, pool: str) -> list[Finding]:
    core = ctx.flashcopy.core
    out: list[Finding] = []
    with ctx.catalog.session() as s:
        versions = repo.versions(s, pool)
        pairs = {v.key: repo.pairs(s, v.key) for v in versions}
        ended = {e.id: e for e in s.exec(select(EndedRelationshipRow)).all()}
        copies = {v.key: repo.dump_copies(s, v.key) for v in versions}
    owned = {p.relationship_id for ps in pairs.values() for p in ps if p.relationship_id}
    holders: dict[str, list[str]] = {}
    for v in versions:
        name = f"COPYPOOL={pool} VERSION={v.version:03d}"
        for p in pairs[v.key]:
            if v.dasd_state in DASD:
                holders.setdefault(p.target, []).append(f"{v.version:03d}")
            if v.dasd_state != DasdState.RECOVERABLE:
                continue
            if p.target not in ctx.volumes or p.target in ctx.unavailable:
                why = ctx.unavailable.get(p.target, "not in the catalog")
                out.append(
                    Finding(401, f"{name} IS RECOVERABLE BUT TARGET {p.target} IS UNAVAILABLE ({why})", _failed(ctx, v))
                )
            elif p.relationship_id and core.find(p.relationship_id) is None:
                gone = ended.get(p.relationship_id)
                if gone is not None and gone.reason == EndReason.WITHDRAWN.name:
                    out.append(
                        Finding(
                            402,
                            f"{name} IS RECOVERABLE BUT THE RELATIONSHIP {p.source}->{p.target} WAS WITHDRAWN "
                            "BEFORE ITS BACKGROUND COPY COMPLETED",
                            _failed(ctx, v),
                        )
                    )
        for c in copies[v.key]:
            if c.state != DumpCopyState.COMPLETE:
                continue
            try:
                dump.read_copy(ctx.root, c)
            except (TapeError, OutsideSite, OSError) as exc:
                out.append(
                    Finding(
                        404, f"{name} DUMP COPY OF {c.source} ({c.dump_class}) ON {c.tape}: {exc}", _copy_failed(ctx, c)
                    )
                )
        with ctx.catalog.session() as s:
            current = s.get(BackupVersionRow, v.key)
            if current is not None:
                stored = current.dump_state
                dump.refresh_dump_state(s, v.key)
                derived = current.dump_state
                s.rollback()
                if stored != derived:
                    out.append(
                        Finding(405, f"{name} DUMPSTATE IS {stored}, ITS DUMP COPIES SAY {derived}", _rederive(ctx, v))
                    )
    for target, which in holders.items():
        if len(which) > 1:
            out.append(
                Finding(
                    406,
                    f"COPYPOOL={pool} TARGET {target} IS HELD BY THE DASD COPIES OF VERSIONS {', '.join(which)}: "
                    "FRDELETE ALL BUT ONE OF THEM",
                    None,
                )
            )
    for r in core.relationships():
        if r.label.startswith(f"HSM {pool} V") and r.id not in owned:
            out.append(
                Finding(
                    403,
                    f"COPYPOOL={pool} RELATIONSHIP {r.id} {r.source}->{r.target} ({r.label}) BELONGS TO NO VERSION",
                    _withdraw(ctx, r.id),
                )
            )
    return out


def tape_findings(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    with ctx.catalog.session() as s:
        tapes = list(s.exec(select(TapeRow)).all())
        used = {c.tape for c in s.exec(select(DumpCopyRow)).all()}
    named = set()
    for t in tapes:
        try:
            named.add(inside(ctx.root, t.file, "tapes").name)
        except OutsideSite:
            continue
        if t.state == TapeState.FULL and t.volser not in used:
            out.append(Finding(408, f"TAPE {t.volser} IS FULL AND HOLDS NO DUMP COPY", _scratch(ctx)))
    folder = ctx.root / "tapes"
    for f in sorted(folder.iterdir()) if folder.exists() else []:
        if f.is_file() and f.name not in named:
            out.append(Finding(407, f"TAPE FILE {f.name} BELONGS TO NO TAPE RECORD", _remove(f)))
    return out


def _failed(ctx: Context, v: BackupVersionRow) -> Callable[[], str]:
    def run() -> str:
        with ctx.catalog.session() as s:
            row = s.get(BackupVersionRow, v.key)
            if row is not None and row.dasd_state == DasdState.RECOVERABLE:
                standing.mark_failed(row, FailedReason.AUDITED, ctx.clock())
                s.add(row)
                s.commit()
        return f"VERSION {v.version:03d} OF {v.copy_pool} IS FAILED: ITS DASD COPY IS NO LONGER RECOVERABLE"

    return run


def _copy_failed(ctx: Context, c: DumpCopyRow) -> Callable[[], str]:
    def run() -> str:
        with ctx.catalog.session() as s:
            row = s.get(DumpCopyRow, c.key)
            if row is not None:
                row.state = DumpCopyState.FAILED
                s.add(row)
                s.flush()
                dump.refresh_dump_state(s, row.version_id)
                s.commit()
        return f"THE DUMP COPY OF {c.source} ON {c.tape} IS FAILED"

    return run


def _rederive(ctx: Context, v: BackupVersionRow) -> Callable[[], str]:
    def run() -> str:
        with ctx.catalog.session() as s:
            dump.refresh_dump_state(s, v.key)
            s.commit()
            row = s.get(BackupVersionRow, v.key)
        return f"DUMPSTATE OF VERSION {v.version:03d} IS {row.dump_state if row else 'GONE'}"

    return run


def _withdraw(ctx: Context, rel_id: int) -> Callable[[], str]:
    def run() -> str:
        ctx.batch(lambda core: core.withdraw(rel_id))
        return f"RELATIONSHIP {rel_id} WITHDRAWN"

    return run


def _scratch(ctx: Context) -> Callable[[], str]:
    def run() -> str:
        dump.remove_unused_tapes(ctx)
        return "TAPES WITH NO DUMP COPY SCRATCHED"

    return run


def _remove(path: Path) -> Callable[[], str]:
    def run() -> str:
        path.unlink(missing_ok=True)
        return f"TAPE FILE {path.name} REMOVED"

    return run


__all__ = ["Finding", "audit", "copy_pool_findings", "pool_names", "tape_findings"]
