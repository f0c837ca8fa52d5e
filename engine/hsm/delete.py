"""FRDELETE: delete DASD copies (withdrawing their relationships first), dump copies, or both.

Planned first (`plan_delete`: the rules and exactly which versions, copies and tapes go), then
carried out as one unit: every catalog change is committed with an intent before a single
relationship is withdrawn (docs/ATOMICITY.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.exc import DatabaseError
from sqlmodel import Session

from engine.catalog import constructs as repo
from engine.catalog import reads
from engine.catalog.models import BackupVersionRow
from engine.command import FrDelete, format_token
from engine.flashcopy import FlashCopyCore
from engine.hsm import dump, intent, rules
from engine.hsm import pool as pools
from engine.hsm.rules import Checks, Refusal, Refused
from engine.messages import CommandResult, resource_problem
from engine.states import DasdState

if TYPE_CHECKING:
    from engine.hsm.context import Context


@dataclass
class Delete:
    chosen: list[BackupVersionRow]
    pairs: dict[int, list[reads.Pair]]
    dasd: bool
    dumps: bool
    deleted: list[int] = field(default_factory=list)  # version numbers that disappear
    kept: list[int] = field(default_factory=list)  # version numbers that live on as their other copies
    tapes: list[str] = field(default_factory=list)  # tapes that hold nothing afterwards


def plan_delete(ctx: Context, req: FrDelete, checks: Checks) -> Delete:
    with ctx.catalog.session() as s:
        checks.require(
            f"copy pool {req.copypool} is defined", rules.pool_defined(repo.copy_pool(s, req.copypool), req.copypool)
        )
        vers = pools.backups(s, req.copypool)
        if req.all:
            chosen = vers + [v for v in repo.versions(s, req.copypool) if v.dasd_state == DasdState.PREPARE]
        elif req.token is not None:
            tok = next((v for v in vers if v.token == req.token), None)
            checks.require(f"a version carries TOKEN({format_token(req.token)})", rules.token_found(tok, req.token))
            assert tok is not None
            chosen = [tok]
        else:
            by_number = {v.version: v for v in vers}
            missing = [n for n in req.versions if n not in by_number]
            checks.require("the versions exist", rules.versions_exist(missing))
            chosen = [by_number[n] for n in dict.fromkeys(req.versions)]
        if req.scope == "DUMPONLY":
            chosen = _with_dump_copies(s, req, chosen, checks)
        elif req.scope == "DASDONLY":
            chosen = _with_dasd_copies(req, chosen, checks)
        plan = Delete(
            chosen,
            repo.pairs_of_versions(s, [v.key for v in chosen]),
            req.scope in ("DASDONLY", "BOTH"),
            req.scope in ("DUMPONLY", "BOTH"),
        )
        gone_files: set[str] = set()
        kept_files: set[str] = set()
        for v in chosen:
            copies = repo.dump_copies(s, v.key)
            goes = [d for d in copies if plan.dumps and (not req.dump_classes or d.dump_class in req.dump_classes)]
            gone_files |= {d.file for d in goes}
            left = [d for d in copies if d not in goes]
            dasd_left = v.dasd_state != DasdState.NONE and not plan.dasd and v.dasd_state != DasdState.PREPARE
            (plan.kept if left or dasd_left else plan.deleted).append(v.version)
        chosen_ids = {v.id for v in chosen}
        for d in repo.all_dump_copies(s):
            if d.version_id not in chosen_ids or d.file not in gone_files:
                kept_files.add(d.file)
        plan.tapes = sorted(f.split("/")[-1].removesuffix(".tape") for f in gone_files - kept_files)
    if plan.dasd:
        checks.require("no recovery from the versions is still copying", _restoring(ctx.flashcopy.core, plan))
    return plan


def _with_dump_copies(
    s: Session, req: FrDelete, chosen: list[BackupVersionRow], checks: Checks
) -> list[BackupVersionRow]:
    """FRDELETE DUMPONLY: the versions whose dump copies it deletes. The classes named must be
    defined; a version named (VERSIONS, TOKEN) must have dump copies in them; ALL takes the
    versions that have, and needs one."""
    if req.dump_classes:
        unknown = [c for c in req.dump_classes if repo.dump_class(s, c) is None]
        checks.require(
            "the dump classes are defined", rules.dump_classes_defined(req.copypool, req.dump_classes, unknown)
        )
    have = {v.id: {d.dump_class for d in repo.dump_copies(s, v.key)} for v in chosen}
    if req.all:
        checks.require(
            "the copy pool has dump copies to delete",
            rules.dump_copies_deletable(f"copy pool {req.copypool}", set().union(*have.values()), req.dump_classes),
        )
        wanted = set(req.dump_classes)
        return [v for v in chosen if have[v.id] & wanted or (have[v.id] and not wanted)]
    for v in chosen:
        checks.require(
            f"{rules.version_name(v)} has dump copies to delete",
            rules.dump_copies_deletable(rules.version_name(v), have[v.id], req.dump_classes),
        )
    return chosen


def _with_dasd_copies(req: FrDelete, chosen: list[BackupVersionRow], checks: Checks) -> list[BackupVersionRow]:
    """FRDELETE DASDONLY: the versions whose DASD copies it deletes. A version named (VERSIONS,
    TOKEN) must have one; ALL takes the versions that have, and needs one."""
    if req.all:
        checks.require(
            "the copy pool has DASD copies to delete",
            rules.dasd_copies_deletable(f"copy pool {req.copypool}", [v.dasd_state for v in chosen]),
        )
        return [v for v in chosen if v.dasd_state != DasdState.NONE]
    for v in chosen:
        checks.require(
            f"{rules.version_name(v)} has a DASD copy to delete",
            rules.dasd_copies_deletable(rules.version_name(v), [v.dasd_state]),
        )
    return chosen


def _restoring(core: FlashCopyCore, plan: Delete) -> Refusal | None:
    for v in plan.chosen:
        refusal = rules.recovery_copying(core, v, plan.pairs[v.key])
        if refusal is not None:
            return refusal
    return None


def frdelete(ctx: Context, req: FrDelete, res: CommandResult) -> None:
    what = f"COPY POOL {req.copypool}"
    try:
        plan = plan_delete(ctx, req, Checks())
    except Refused as exc:
        rules.report(res, "DELETE", what, exc.refusal)
        return

    def change(s: Session) -> None:
        """Every catalog change of the delete, committed before a relationship is withdrawn."""
        for v in plan.chosen:
            row = s.get(BackupVersionRow, v.id)
            if row is None:
                continue
            copies = repo.dump_copies(s, row.key)
            if plan.dumps:
                for d in copies:
                    if not req.dump_classes or d.dump_class in req.dump_classes:
                        s.delete(d)
                copies = [d for d in copies if req.dump_classes and d.dump_class not in req.dump_classes]
            if plan.dasd and row.dasd_state != DasdState.NONE:
                row.dasd_state = DasdState.NONE
            if row.dasd_state in (DasdState.NONE, DasdState.PREPARE) and not copies:
                repo.delete_version(s, row)
            else:
                s.add(row)
                s.flush()
                dump.refresh_dump_state(s, row.key)

    def unit(core: FlashCopyCore) -> None:
        refusal = _restoring(core, plan) if plan.dasd else None
        if refusal is not None:
            raise Refused(refusal)
        rels = [
            r
            for v in plan.chosen
            for p in plan.pairs[v.key]
            if plan.dasd and p.relationship_id and (r := core.find(p.relationship_id)) is not None
        ]
        intent.withdraw_atomically(ctx.catalog, core, req.copypool, "FRDELETE", rels, change, ctx.clock())

    try:
        ctx.batch(unit)
    except Refused as exc:
        rules.report(res, "DELETE", what, exc.refusal)
        return
    unscratched = None
    if plan.dumps:
        try:
            dump.remove_unused_tapes(ctx)
        except (DatabaseError, OSError) as exc:  # the versions are deleted all the same
            unscratched = resource_problem(exc, ctx.root)
    scope = {"DASDONLY": "DASD COPIES", "DUMPONLY": "DUMP COPIES", "BOTH": "DASD AND DUMP COPIES"}[req.scope]
    res.add("ARC0100I", "FRDELETE COMMAND COMPLETED")
    res.add(
        "FPL120I",
        f"{scope} OF COPY POOL {req.copypool} DELETED FOR VERSION(S) "
        + ", ".join(f"{n:03d}" for n in sorted(plan.deleted + plan.kept))
        + (
            f"; VERSION(S) {', '.join(f'{n:03d}' for n in sorted(plan.kept))} LIVE ON AS THEIR OTHER COPIES"
            if plan.kept
            else ""
        )
        + (f"; TAPE(S) {' '.join(plan.tapes)} SCRATCHED" if plan.tapes and not unscratched else ""),
    )
    if unscratched:
        res.add(
            "FPL121W",
            f"TAPES THAT HOLD NO DUMP COPY ANY MORE WERE NOT SCRATCHED ({unscratched}); "
            "THE NEXT FRDELETE OF DUMP COPIES SCRATCHES THEM",
        )
        res.fail(4)
