"""FRDELETE: delete DASD copies (withdrawing their relationships first), dump copies, or both."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow
from engine.command import FrDelete, format_token
from engine.errors import FlashCopyError
from engine.flashcopy import FlashCopyCore
from engine.hsm import dump, intent
from engine.hsm import messages as msg
from engine.hsm import pool as pools
from engine.hsm.messages import CommandResult

if TYPE_CHECKING:
    from engine.hsm.service import FastReplication


async def frdelete(svc: FastReplication, req: FrDelete, res: CommandResult) -> None:
    what = f"COPY POOL {req.copypool}"
    with svc.site.catalog.session() as s:
        pool = repo.copy_pool(s, req.copypool)
        if pool is None:
            res.messages.append(msg.failed("DELETE", what, 22, f"copy pool {req.copypool} is not defined"))
            res.fail(22)
            return
        vers = pools.backups(s, req.copypool)
        if req.all:
            chosen = vers + [v for v in repo.versions(s, req.copypool) if v.dasd_state == "PREPARE"]
        elif req.token is not None:
            tok = next((v for v in vers if v.token == req.token), None)
            if tok is None:
                res.messages.append(msg.failed("DELETE", what, 14, f"no version carries TOKEN({format_token(req.token)})"))
                res.fail(14)
                return
            chosen = [tok]
        else:
            by_number = {v.version: v for v in vers}
            missing = [n for n in req.versions if n not in by_number]
            if missing:
                res.messages.append(msg.failed("DELETE", what, 2, "no version " + ", ".join(f"{n:03d}" for n in missing)))
                res.fail(2)
                return
            chosen = [by_number[n] for n in dict.fromkeys(req.versions)]
        pairs = repo.pairs_of_versions(s, [v.id for v in chosen])
    dasd = req.scope in ("DASDONLY", "BOTH")
    dumps = req.scope in ("DUMPONLY", "BOTH")
    outcome: dict[int, bool] = {}  # version number -> kept (lives on as its other copies)

    def change(s: Session) -> None:
        """Every catalog change of the delete, committed before a relationship is withdrawn."""
        for v in chosen:
            row = s.get(BackupVersionRow, v.id)
            if row is None:
                continue
            copies = repo.dump_copies(s, row.id)
            if dumps:
                for d in copies:
                    if not req.dump_classes or d.dump_class in req.dump_classes:
                        s.delete(d)
                copies = [d for d in copies if req.dump_classes and d.dump_class not in req.dump_classes]
            if dasd and row.dasd_state != "NONE":
                row.dasd_state, row.frr_eligible = "NONE", False
            if row.dasd_state in ("NONE", "PREPARE") and not copies:
                repo.delete_version(s, row)
                outcome[row.version] = False
            else:
                s.add(row)
                s.flush()
                dump.refresh_dump_state(s, row.id)
                outcome[row.version] = True

    def unit(core: FlashCopyCore) -> None:
        rels = []
        for v in chosen:
            for p in pairs[v.id]:
                rel = core.find(p.relationship_id) if p.relationship_id else None
                if rel is None:
                    continue
                if rel.source != p.source and rel.uncopied.any():
                    raise FlashCopyError(
                        f"version {v.version:03d} is restoring {p.source} ({rel.out_of_sync:,} tracks still to copy); "
                        f"its relationships cannot be withdrawn until the recovery completes"
                    )
                rels.append(rel)
        if not dasd:
            rels = []
        intent.withdraw_atomically(svc.site.catalog, core, req.copypool, "FRDELETE", rels, change, svc.clock())

    try:
        await svc.flashcopy.batch(unit)
    except FlashCopyError as exc:
        res.messages.append(msg.failed("DELETE", what, 4, str(exc)))
        res.fail(4)
        return
    deleted = [n for n, k in outcome.items() if not k]
    kept = [n for n, k in outcome.items() if k]
    if dumps:
        dump.remove_unused_tapes(svc)
    scope = {"DASDONLY": "DASD COPIES", "DUMPONLY": "DUMP COPIES", "BOTH": "DASD AND DUMP COPIES"}[req.scope]
    res.add("ARC0100I", "FRDELETE COMMAND COMPLETED")
    res.add("FPL120I", f"{scope} OF COPY POOL {req.copypool} DELETED FOR VERSION(S) "
            + ", ".join(f"{n:03d}" for n in sorted(deleted + kept))
            + (f"; VERSION(S) {', '.join(f'{n:03d}' for n in sorted(kept))} LIVE ON AS THEIR OTHER COPIES" if kept else ""))
