"""FRBACKUP: EXECUTE (with FCINCREMENTAL / FCINCREMENTALLAST, TOKEN, BSG, FORCE), PREPARE and
WITHDRAW.

Reuse order for targets (DOMAIN.md 2.2/3): a failed version's targets, else the oldest version's
targets once VERSIONS versions exist (roll-off), else PREPARE assignments, else new targets from
the copy pool backup storage group. All volume pairs are flashed as one point in time; if any
pair is refused, none is kept.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlmodel import Session

from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, CapturedExtentRow, CopyPoolRow, VersionPairRow
from engine.command import Action, FrBackup, Incremental, ReturnControl, format_token
from engine.errors import FlashCopyError, FlashpoolError
from engine.flashcopy import CopyMode, EstablishRequest, FlashCopyCore
from engine.hsm import dump
from engine.hsm import messages as msg
from engine.hsm import pool as pools
from engine.hsm.messages import CommandResult

if TYPE_CHECKING:
    from engine.hsm.service import FastReplication

RC_INCREMENTAL = 58  # emulator-specific: FCINCREMENTAL cannot refresh the version it would replace


@dataclass
class Plan:
    pairs: dict[str, str] = field(default_factory=dict)  # source -> target
    groups: dict[str, str] = field(default_factory=dict)  # source -> storage group
    reuse: BackupVersionRow | None = None  # the version whose targets are taken over
    prepared: BackupVersionRow | None = None
    refresh: bool = False  # refresh the incremental version's relationships
    incremental: bool = False  # the new version is incremental
    problems: list[tuple[str, str]] = field(default_factory=list)  # (source, why no target)


async def frbackup(svc: FastReplication, req: FrBackup, res: CommandResult) -> None:
    what = f"COPY POOL {req.copypool}"
    function = {Action.EXECUTE: "BACKUP", Action.PREPARE: "PREPARE", Action.WITHDRAW: "BACKUP WITHDRAW",
                Action.DUMPONLY: "BACKUP DUMPONLY"}[req.action]
    if req.dump:
        function = "BACKUP DUMP"
    with svc.site.catalog.session() as s:
        pool = repo.copy_pool(s, req.copypool)
    if pool is None:
        res.add("ARC1806E", msg.failed(function, what, 22, f"copy pool {req.copypool} is not defined").text)
        res.fail(22)
        return
    hold = svc.held("FRBACKUP")
    if hold:
        res.messages.append(msg.failed(function, what, msg.RC_HELD, f"FRBACKUP is held ({hold}); RELEASE FRBACKUP to run it"))
        res.fail(msg.RC_HELD)
        return
    dump.expire(svc)
    classes = req.dump_classes
    if req.dump or req.action is Action.DUMPONLY:
        with svc.site.catalog.session() as s:
            classes = classes or tuple(l.dump_class for l in repo.pool_dump_classes(s, pool.name))
            unknown = [c for c in classes if repo.dump_class(s, c) is None]
        if not classes or unknown:
            why = f"dump class {unknown[0]} is not defined" if unknown else f"copy pool {pool.name} has no dump classes; name them with DUMPCLASS"
            res.messages.append(msg.failed(function, what, 48, why))
            res.fail(48)
            return
    now = svc.clock()
    token = format_token(req.token) if req.token else None
    res.messages.append(msg.starting(function, what, now, token))
    if req.action is Action.PREPARE:
        await _prepare(svc, pool, req, res, what)
    elif req.action is Action.WITHDRAW:
        await _withdraw(svc, pool, res, what)
    elif req.action is Action.DUMPONLY:
        await _dumponly(svc, pool, req, classes, res, what)
    else:
        vid = await _execute(svc, pool, req, res, what, now)
        # VERSIONS=0 without DUMP: the NOCOPY copy stays until it is dumped or withdrawn
        if vid is not None and req.dump:
            if req.return_control is ReturnControl.FASTREPLICATIONEND:
                task = asyncio.create_task(_dump_then(svc, pool, vid, classes, CommandResult(res.command), take_lock=True))
                svc.background.add(task)
                task.add_done_callback(svc.background.discard)
                res.add("FPL103I", f"THE DUMP TO {', '.join(classes)} CONTINUES IN THE BACKGROUND (RETURNCONTROL(FASTREPLICATIONEND))")
            else:
                await _dump_then(svc, pool, vid, classes, res)
    res.messages.append(msg.completed(function, what, svc.clock(), res.rc, res.rc))


async def _dump_then(svc: FastReplication, pool: CopyPoolRow, vid: int, classes: tuple[str, ...],
                     res: CommandResult, take_lock: bool = False) -> None:
    """Dump a fresh version; with VERSIONS=0 the NOCOPY relationships are withdrawn afterwards
    and the version lives on as dump copies only. A background dump (FREND) takes the pool's
    lock itself; inside the FRBACKUP command the lock is already held."""
    if take_lock:
        async with svc.lock(pool.name):
            ok = await dump.dump_version(svc, vid, classes, res)
    else:
        ok = await dump.dump_version(svc, vid, classes, res)
    if not ok:
        res.fail(8)
    if pool.versions == 0:
        with svc.site.catalog.session() as s:
            pairs = repo.pairs(s, vid)

        def withdraw(core: FlashCopyCore) -> None:
            for p in pairs:
                if p.relationship_id and core.find(p.relationship_id):
                    core.withdraw(p.relationship_id)

        await svc.flashcopy.batch(withdraw)
        with svc.site.catalog.session() as s:
            v = s.get(BackupVersionRow, vid)
            v.dasd_state, v.frr_eligible = "NONE", False
            s.add(v)
            s.commit()


async def _dumponly(svc: FastReplication, pool: CopyPoolRow, req: FrBackup, classes: tuple[str, ...],
                    res: CommandResult, what: str) -> None:
    with svc.site.catalog.session() as s:
        choice = pools.choose(s, pool.name, req.selection, need_dasd=True)
    if choice.version is None:
        res.messages.append(msg.failed("BACKUP DUMPONLY", what, 2, choice.why))
        res.fail(2)
        return
    ok = await dump.dump_version(svc, choice.version.id, classes, res)
    if not ok:
        res.fail(8)
    res.add("FPL104I", f"VERSION {choice.version.version:03d} OF COPY POOL {pool.name} DUMPED TO {', '.join(classes)}")


# -- EXECUTE ----------------------------------------------------------------------------------------


async def _execute(svc: FastReplication, pool: CopyPoolRow, req: FrBackup, res: CommandResult, what: str, now: float) -> int | None:
    core: FlashCopyCore = svc.flashcopy.core
    with svc.site.catalog.session() as s:
        if req.backup_group is not None and not _override_bsg(s, pool, req.backup_group, res, what):
            return
        if pool.backup_group_override:
            res.add("ARC1847I", f"THE COPY POOL BACKUP STORAGE GROUP DEFINED FOR THE POOL STORAGE GROUPS OF {pool.name} IS OVERRIDDEN BY {pool.backup_group_override}")
        plan = _plan(s, pool, req, core, res, what)
        if plan is None:
            return
        if plan.problems:
            for src, why in plan.problems:
                res.messages.append(msg.no_target(src, why))
            res.messages.append(msg.failed("BACKUP", what, 10, "no eligible target volume for some source volumes"))
            res.fail(10)
            return
        if not plan.pairs:
            res.messages.append(msg.failed("BACKUP", what, 24, "the copy pool has no volumes to back up"))
            res.fail(24)
            return
        old_pairs = {p.source: p for p in repo.pairs(s, plan.reuse.id)} if plan.reuse else {}
    missing = [v for v in [*plan.pairs, *plan.pairs.values()] if v not in svc.site.volumes]
    if missing:
        res.messages.append(msg.failed("BACKUP", what, msg.RC_VOLUME_UNAVAILABLE,
                                       "volume(s) unavailable: " + ", ".join(f"{v} ({svc.site.unavailable.get(v, 'not open')})" for v in missing)))
        res.fail(msg.RC_VOLUME_UNAVAILABLE)
        return
    captured, capture_rc = _capture(svc, pool, list(plan.pairs), res)
    if capture_rc and pool.catalog_capture == "R":
        res.messages.append(msg.failed("BACKUP", what, 12, "catalog information could not be captured and the copy pool requires it"))
        res.fail(12)
        return None
    number = pool.next_version
    label = f"HSM {pool.name} V{number:03d}"
    nocopy = pool.versions == 0
    retire = req.incremental is Incremental.FCINCREMENTALLAST

    def flash(core: FlashCopyCore) -> dict[str, int]:
        """All pairs at one point in time; on any refusal undo what this call made."""
        made: list[int] = []
        rel_ids: dict[str, int] = {}
        try:
            for src, tgt in plan.pairs.items():
                old = old_pairs.get(src)
                rel = core.find(old.relationship_id) if old and old.relationship_id else None
                if plan.refresh and rel is not None and rel.incremental and {rel.source, rel.target} == {src, tgt}:
                    if rel.source == src:
                        core.refresh(rel.id)
                    else:  # recovered earlier by reversal: re-reverse, copying changed tracks only
                        core.reverse(rel.id)
                    rel_ids[src] = rel.id
                    continue
                for stale in core.incoming(tgt):  # the old version's relationships end here
                    core.withdraw(stale.id)
                new = core.establish(EstablishRequest(
                    src, tgt, mode=CopyMode.NOCOPY if nocopy else CopyMode.COPY,
                    persistent=plan.incremental, incremental=plan.incremental, label=label,
                ))
                made.append(new.id)
                rel_ids[src] = new.id
        except FlashCopyError:
            for rid in made:
                core.withdraw(rid)
            raise
        if retire:
            for rid in rel_ids.values():
                core.retire(rid)
        return rel_ids

    try:
        _check_targets_free(core, plan)
        rel_ids = await svc.flashcopy.batch(flash)
    except FlashCopyError as exc:
        res.messages.append(msg.failed("BACKUP", what, 4, str(exc)))
        res.fail(4)
        return
    for src, tgt in plan.pairs.items():
        res.messages.append(msg.dss(f"COPY IDY({src}) ODY({tgt}) DUMPCOND FR(REQ) PUR ALLX ALLD(*) FCFVR"
                                    + (" FCINCREMENTAL" if plan.incremental and not retire else "")
                                    + (" FCINCREMENTALLAST" if retire else "") + (" FCNOCOPY" if nocopy else "")))
    with svc.site.catalog.session() as s:
        pool = repo.copy_pool(s, pool.name)
        assert pool is not None
        version = BackupVersionRow(
            copy_pool=pool.name, version=number, token=req.token or b"", created_at=now,
            incremental=plan.incremental and not retire, fcfrr=pool.fast_reverse_restore,
            frr_eligible=pool.fast_reverse_restore, vtocenq=not req.novtocenq,
            catinfo="N" if pool.catalog_capture == "N" else ("P" if capture_rc else "Y"),
            backup_group=pool.backup_group_override,
        )
        for old in (plan.reuse, plan.prepared):
            if old is not None:
                old = s.get(BackupVersionRow, old.id)
                if repo.dump_copies(s, old.id):
                    old.dasd_state = "NONE"  # lives on as dump copies
                    s.add(old)
                else:
                    repo.delete_version(s, old)
        s.add(version)
        s.flush()
        for src, tgt in plan.pairs.items():
            s.add(VersionPairRow(version_id=version.id, source=src, target=tgt,
                                 storage_group=plan.groups[src], relationship_id=rel_ids[src]))
        for info in captured:
            for seq, e in enumerate(info.extents):
                s.add(CapturedExtentRow(version_id=version.id, name=info.name, seq=seq, volser=e.volser,
                                        first_track=e.first, tracks=e.tracks, bytes_used=info.bytes_used, dsorg=info.dsorg))
        pool.next_version = number % 999 + 1
        s.add(pool)
        s.commit()
    res.messages.append(msg.volumes_ok("BACKUP", pool.name, sorted(plan.pairs)))
    kind = "an incremental refresh" if plan.refresh else "a full copy" if not nocopy else "NOCOPY, until dumped"
    res.add("FPL100I", f"VERSION {number:03d} OF COPY POOL {pool.name} CREATED ({kind}, {len(plan.pairs)} VOLUME PAIRS"
            + (f", TOKEN={format_token(req.token)})" if req.token else ")"))
    return version.id


def _capture(svc: FastReplication, pool: CopyPoolRow, sources: list[str], res: CommandResult) -> tuple[list, int]:
    """Catalog capture: which data sets live where on the pool's volumes, for data set recovery."""
    if pool.catalog_capture == "N":
        return [], 0
    try:
        found = svc.site.datasets.on_volumes(sources)
    except FlashpoolError as exc:
        res.add("ARC1812I", f"OPERATION=CAPTURE FOR CATALOG INFORMATION FOR COPY POOL={pool.name} COMPLETED WITH RETURN CODE 8, REASON CODE 0: {exc}")
        return [], 8
    res.add("ARC1812I", f"OPERATION=CAPTURE FOR CATALOG INFORMATION DATA SET=FLASHPOOL.CATALOG FOR COPY POOL={pool.name} "
            f"COMPLETED WITH RETURN CODE 0, REASON CODE 0 ({len(found)} DATA SETS)")
    return found, 0


def _override_bsg(s: Session, pool: CopyPoolRow, bsg: str, res: CommandResult, what: str) -> bool:
    dasd = [v for v in repo.versions(s, pool.name) if v.dasd_state in repo.DASD_STATES]
    if dasd:
        res.messages.append(msg.failed("BACKUP", what, 22, "BACKUPSTORAGEGROUP can change only while the copy pool has no DASD versions"))
        res.fail(22)
        return False
    if bsg:
        group = repo.storage_group(s, bsg)
        if group is None or group.type != "COPYPOOLBACKUP":
            res.messages.append(msg.failed("BACKUP", what, 22, f"{bsg} is not a copy pool backup storage group"))
            res.fail(22)
            return False
    pool.backup_group_override = bsg or None
    s.add(pool)
    s.commit()
    return True


def _plan(s: Session, pool: CopyPoolRow, req: FrBackup, core: FlashCopyCore, res: CommandResult, what: str) -> Plan | None:
    plan = Plan()
    vers = repo.versions(s, pool.name)
    dasd = [v for v in vers if v.dasd_state in repo.DASD_STATES]
    failed = sorted((v for v in dasd if v.dasd_state == "FAILED"), key=lambda v: v.created_at)
    valid = sorted((v for v in dasd if v.dasd_state != "FAILED"), key=lambda v: v.created_at)
    prepared = [v for v in vers if v.dasd_state == "PREPARE"]
    inc = next((v for v in dasd if v.incremental), None)
    limit = max(pool.versions, 1)
    if failed:
        plan.reuse = failed[0]
    elif len(valid) >= limit:
        plan.reuse = valid[0]
        blocking = _required_dump_incomplete(s, pool, plan.reuse)
        if blocking and not req.force:
            res.messages.append(msg.failed("BACKUP", what, msg.RC_REQUIRED_DUMP,
                                           f"version {plan.reuse.version:03d} would roll off but its REQUIRED dump class {blocking} "
                                           f"is incomplete; dump it (FRBACKUP DUMPONLY) or specify FORCE"))
            res.fail(msg.RC_REQUIRED_DUMP)
            return None
    if req.incremental is not None:
        if inc is not None and plan.reuse is not None and plan.reuse.id != inc.id:
            res.messages.append(msg.failed("BACKUP", what, RC_INCREMENTAL,
                                           f"the oldest version ({plan.reuse.version:03d}) is not the incremental one "
                                           f"({inc.version:03d}); FCINCREMENTAL cannot replace it"))
            res.fail(RC_INCREMENTAL)
            return None
        if req.incremental is Incremental.FCINCREMENTALLAST and (inc is None or plan.reuse is None):
            res.messages.append(msg.failed("BACKUP", what, RC_INCREMENTAL, "there is no incremental version to take a last increment of"))
            res.fail(RC_INCREMENTAL)
            return None
        plan.refresh = inc is not None and plan.reuse is not None and plan.reuse.id == inc.id
        plan.incremental = plan.refresh or inc is None
        if pool.versions == 0:
            res.messages.append(msg.failed("BACKUP", what, RC_INCREMENTAL, "an incremental version cannot be NOCOPY (VERSIONS=0)"))
            res.fail(RC_INCREMENTAL)
            return None
    if plan.reuse is None and prepared:
        plan.prepared = prepared[-1]
    srcs = pools.sources(s, pool)
    taken = {p.source: p.target for p in repo.pairs(s, plan.reuse.id)} if plan.reuse else {}
    if not taken and plan.prepared:
        taken = {p.source: p.target for p in repo.pairs(s, plan.prepared.id)}
    in_use = repo.targets_in_use(s)
    own = {plan.reuse.id if plan.reuse else -1, plan.prepared.id if plan.prepared else -1}
    chosen: set[str] = set()
    for src in srcs:
        plan.groups[src.volser] = src.storage_group
        tgt = taken.get(src.volser)
        if tgt is not None:
            plan.pairs[src.volser] = tgt
            chosen.add(tgt)
            continue
        pick = _pick_target(s, src, in_use, own, chosen, core)
        if isinstance(pick, str) and pick.startswith("!"):
            plan.problems.append((src.volser, pick[1:]))
        else:
            plan.pairs[src.volser] = pick
            chosen.add(pick)
    return plan


def _pick_target(s: Session, src: pools.Source, in_use: dict, own: set[int], chosen: set[str], core: FlashCopyCore) -> str:
    if not src.backup_group:
        return f"!storage group {src.storage_group} names no copy pool backup storage group"
    vols = repo.group_volumes(s, src.backup_group)
    if not vols:
        return f"!copy pool backup storage group {src.backup_group} has no volumes"
    reasons: dict[str, int] = {}
    for v in vols:
        why = None
        if not v.online:
            why = "offline"
        elif (v.cylinders * v.tracks_per_cylinder, v.track_size) != (src.tracks, src.track_size):
            why = "of another size"
        elif v.volser in chosen or (v.volser in in_use and in_use[v.volser][1] not in own):
            why = "already a target of another version"
        elif core.volumes.get(v.volser) is None:
            why = "unavailable"
        elif core.incoming(v.volser) or core.outgoing(v.volser):
            why = "in a FlashCopy relationship"
        if why is None:
            return v.volser
        reasons[why] = reasons.get(why, 0) + 1
    detail = ", ".join(f"{n} {why}" for why, n in reasons.items())
    return f"!no eligible volume of {src.tracks:,} tracks in {src.backup_group} ({detail})"


def _check_targets_free(core: FlashCopyCore, plan: Plan) -> None:
    """A reused target may still feed a recovery (reversed relationship): never cut it off."""
    for src, tgt in plan.pairs.items():
        for rel in core.outgoing(tgt):
            if not (plan.refresh and rel.incremental and rel.target == src and not rel.uncopied.any()):
                raise FlashCopyError(
                    f"target {tgt} is still the source of relationship {rel.id} ({rel.source} -> {rel.target}, "
                    f"{rel.out_of_sync:,} tracks to copy); wait for the recovery to finish (QUERY COPYPOOL)"
                )


def _required_dump_incomplete(s: Session, pool: CopyPoolRow, version: BackupVersionRow) -> str | None:
    have = {d.dump_class for d in repo.dump_copies(s, version.id) if d.state == "COMPLETE"}
    for link in repo.pool_dump_classes(s, pool.name):
        dc = repo.dump_class(s, link.dump_class)
        if dc and dc.fast_replication_dump == "REQUIRED" and dc.name not in have:
            return dc.name
    return None


# -- PREPARE / WITHDRAW -------------------------------------------------------------------------------


async def _prepare(svc: FastReplication, pool: CopyPoolRow, req: FrBackup, res: CommandResult, what: str) -> None:
    core = svc.flashcopy.core
    with svc.site.catalog.session() as s:
        if req.backup_group is not None and not _override_bsg(s, pool, req.backup_group, res, what):
            return
        vers = repo.versions(s, pool.name)
        for old in [v for v in vers if v.dasd_state == "PREPARE"]:
            repo.delete_version(s, old)
        s.flush()
        dasd = [v for v in vers if v.dasd_state in repo.DASD_STATES]
        sets = max(pool.versions - len(dasd), 0) if pool.versions else 0
        in_use = repo.targets_in_use(s)
        in_use = {t: v for t, v in in_use.items() if v[1] not in {p.id for p in vers if p.dasd_state == "PREPARE"}}
        chosen: set[str] = set()
        srcs = pools.sources(s, pool)
        problems: list[tuple[str, str]] = []
        assignments: list[dict[str, str]] = []
        for _ in range(max(sets, 1)):
            pairs: dict[str, str] = {}
            for src in srcs:
                pick = _pick_target(s, src, in_use, set(), chosen, core)
                if pick.startswith("!"):
                    problems.append((src.volser, pick[1:]))
                else:
                    pairs[src.volser] = pick
                    chosen.add(pick)
            assignments.append(pairs)
        if problems:
            for src, why in problems:
                res.messages.append(msg.no_target(src, why))
            res.messages.append(msg.failed("PREPARE", what, 10, "not enough eligible target volumes"))
            res.fail(10)
            s.rollback()
            return
        groups = {src.volser: src.storage_group for src in srcs}
        for pairs in assignments[:sets]:
            row = BackupVersionRow(copy_pool=pool.name, version=0, created_at=0.0, dasd_state="PREPARE")
            s.add(row)
            s.flush()
            for src, tgt in pairs.items():
                s.add(VersionPairRow(version_id=row.id, source=src, target=tgt, storage_group=groups[src]))
        s.commit()
    res.add("FPL101I", f"PREPARE FOR COPY POOL {pool.name}: {sets} TARGET SET(S) ASSIGNED FOR {len(srcs)} SOURCE VOLUME(S)"
            + ("" if sets else " (checked only: every version already has its targets)"))


async def _withdraw(svc: FastReplication, pool: CopyPoolRow, res: CommandResult, what: str) -> None:
    core = svc.flashcopy.core
    with svc.site.catalog.session() as s:
        vers = pools.backups(s, pool.name)
        target = next((v for v in vers if v.dasd_state == "RECOVERABLE"), None)
        if target is None:
            res.messages.append(msg.failed("BACKUP WITHDRAW", what, 2, "the copy pool has no valid DASD version to withdraw"))
            res.fail(2)
            return
        pairs = repo.pairs(s, target.id)
        generation = vers.index(target)

    def withdraw(core: FlashCopyCore) -> int:
        copying = 0
        for p in pairs:
            rel = core.find(p.relationship_id) if p.relationship_id else None
            if rel is not None and rel.source == p.source:
                copying += rel.uncopied.any()
                core.withdraw(rel.id)
        return copying

    copying = await svc.flashcopy.batch(withdraw)
    with svc.site.catalog.session() as s:
        v = s.get(BackupVersionRow, target.id)
        keep_valid = v.incremental and not copying
        has_dumps = bool(repo.dump_copies(s, v.id))
        if keep_valid:
            v.incremental = False
            s.add(v)
        elif generation != 0 and not has_dumps:
            repo.delete_version(s, v)
        else:
            v.dasd_state = "NONE" if has_dumps else "FAILED"
            v.frr_eligible = False
            s.add(v)
        s.commit()
    state = "STILL RECOVERABLE (ITS COPY WAS COMPLETE)" if keep_valid else (
        "DELETED" if generation != 0 and not has_dumps else "INVALID")
    res.add("FPL102I", f"RELATIONSHIPS OF VERSION {target.version:03d} OF COPY POOL {pool.name} WITHDRAWN; THE VERSION IS {state}")
