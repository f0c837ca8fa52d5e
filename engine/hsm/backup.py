"""FRBACKUP: EXECUTE (with FCINCREMENTAL / FCINCREMENTALLAST, TOKEN, BSG, FORCE), PREPARE and
WITHDRAW.

Reuse order for targets (DOMAIN.md 2.2/3): a failed version's targets, else the oldest version's
targets once VERSIONS versions exist (roll-off), else PREPARE assignments, else new targets from
the copy pool backup storage group. All volume pairs are flashed as one point in time; if any
pair is refused, none is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlmodel import Session

from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, CapturedExtentRow, CopyPoolRow, VersionPairRow
from engine.command import Action, FrBackup, Incremental, ReturnControl, format_token
from engine.errors import FlashCopyError, FlashpoolError
from engine.flashcopy import CopyMode, EstablishRequest, FlashCopyCore
from engine.hsm import dump, intent
from engine.hsm import messages as msg
from engine.hsm import pool as pools
from engine.hsm.intent import IntentKind
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
        if vid is not None and req.dump:
            if req.return_control is ReturnControl.FASTREPLICATIONEND:
                # the dump keeps the pool's serialisation until the version's state is final
                svc.hand_off(pool.name, _background_dump(svc, pool, vid, classes, res.command))
                res.add("FPL103I", f"THE DUMP TO {', '.join(classes)} CONTINUES IN THE BACKGROUND (RETURNCONTROL(FASTREPLICATIONEND)); "
                        "ITS RESULT GOES TO THE ACTIVITY LOG")
            else:
                await _dump_then(svc, pool, vid, classes, res)
        elif vid is not None and pool.versions == 0:
            res.add("FPL105I", f"VERSIONS=0: THE NOCOPY DASD COPY OF COPY POOL {pool.name} IS KEPT ONLY UNTIL IT IS DUMPED "
                    "(FRBACKUP DUMPONLY)" + ("" if pool.fast_reverse_restore else "; IT CANNOT BE USED FOR RECOVERY"))
    res.messages.append(msg.completed(function, what, svc.clock(), res.rc, res.rc))


async def _background_dump(svc: FastReplication, pool: CopyPoolRow, vid: int, classes: tuple[str, ...], command: str) -> None:
    res = CommandResult(command)
    await _dump_then(svc, pool, vid, classes, res)
    res.add("FPL106I", f"BACKGROUND DUMP OF COPY POOL {pool.name} TO {', '.join(classes)} ENDED, RC={res.rc}")
    await svc.log(res, "AUTO", pool.name)


async def _dump_then(svc: FastReplication, pool: CopyPoolRow, vid: int, classes: tuple[str, ...], res: CommandResult) -> None:
    """Dump a fresh version; with VERSIONS=0 its NOCOPY relationships are then withdrawn and the
    version lives on as dump copies only. The caller holds the pool's serialisation."""
    if not await dump.dump_version(svc, vid, classes, res):
        res.fail(8)
    await svc.finish_nocopy_version(pool.name, vid, res)


def withdraw_nocopy_version(svc: FastReplication, core: FlashCopyCore, pool: str, vid: int, res: CommandResult) -> None:
    """VERSIONS=0 after a dump (see FastReplication.finish_nocopy_version). Runs under the core's lock."""
    with svc.site.catalog.session() as s:
        cp = repo.copy_pool(s, pool)
        v = s.get(BackupVersionRow, vid)
        if cp is None or cp.versions != 0 or v is None or v.dasd_state not in repo.DASD_STATES:
            return
        pairs = repo.pairs(s, vid)
        dumped = {d.source for d in repo.dump_copies(s, vid) if d.state == "COMPLETE"}
    missing = sorted({p.source for p in pairs} - dumped)
    if missing:
        res.add("FPL107I", f"VERSION {v.version:03d} OF COPY POOL {pool} KEEPS ITS NOCOPY DASD COPY: {', '.join(missing)} "
                "HAVE NO COMPLETE DUMP COPY YET; FRBACKUP DUMPONLY RETRIES")
        return
    rels = [r for p in pairs if p.relationship_id and (r := core.find(p.relationship_id)) is not None]

    def none(s: Session) -> None:
        row = s.get(BackupVersionRow, vid)
        row.dasd_state, row.frr_eligible = "NONE", False
        s.add(row)

    intent.withdraw_atomically(svc.site.catalog, core, pool, "VERSIONS=0 WITHDRAWAL", rels, none, svc.clock())
    res.add("FPL108I", f"VERSION {v.version:03d} OF COPY POOL {pool} IS DUMPED; ITS NOCOPY RELATIONSHIPS WERE WITHDRAWN "
            "AND IT LIVES ON AS DUMP COPIES")


async def _dumponly(svc: FastReplication, pool: CopyPoolRow, req: FrBackup, classes: tuple[str, ...],
                    res: CommandResult, what: str) -> None:
    with svc.site.catalog.session() as s:
        choice = pools.choose(s, pool.name, req.selection, need_dasd=True)
    if choice.version is None:
        res.messages.append(msg.failed("BACKUP DUMPONLY", what, choice.rc, choice.why))
        res.fail(choice.rc)
        return
    if choice.version.dasd_state != "RECOVERABLE":
        why = f"version {choice.version.version:03d} is {choice.version.dasd_state}; only a valid DASD copy can be dumped"
        res.messages.append(msg.failed("BACKUP DUMPONLY", what, 2, why))
        res.fail(2)
        return
    ok = await dump.dump_version(svc, choice.version.id, classes, res)
    if not ok:
        res.fail(8)
    res.add("FPL104I", f"VERSION {choice.version.version:03d} OF COPY POOL {pool.name} DUMPED TO {', '.join(classes)}")
    await svc.finish_nocopy_version(pool.name, choice.version.id, res)


# -- EXECUTE ----------------------------------------------------------------------------------------


def _next_number(s: Session, pool: CopyPoolRow) -> int | None:
    """The next version number, 1-999 wrapping; numbers still held by a version are skipped (as
    DFSMShsm does), so VERSION(n) always names one version. None when all 999 are in use."""
    used = {v.version for v in pools.backups(s, pool.name)}
    n = pool.next_version
    for _ in range(999):
        if n not in used:
            return n
        n = n % 999 + 1
    return None


async def _execute(svc: FastReplication, pool: CopyPoolRow, req: FrBackup, res: CommandResult, what: str, now: float) -> int | None:
    core: FlashCopyCore = svc.flashcopy.core
    with svc.site.catalog.session() as s:
        if req.backup_group is not None and not _override_bsg(s, pool, req.backup_group, res, what):
            return None
        if pool.backup_group_override:
            res.add("ARC1847I", f"THE COPY POOL BACKUP STORAGE GROUP DEFINED FOR THE POOL STORAGE GROUPS OF {pool.name} IS OVERRIDDEN BY {pool.backup_group_override}")
        plan = _plan(s, pool, req, core, res, what)
        if plan is None:
            return None
        if plan.problems:
            for src, why in plan.problems:
                res.messages.append(msg.no_target(src, why))
            res.messages.append(msg.failed("BACKUP", what, 10, "no eligible target volume for some source volumes"))
            res.fail(10)
            return None
        if not plan.pairs:
            res.messages.append(msg.failed("BACKUP", what, 24, "the copy pool has no volumes to back up"))
            res.fail(24)
            return None
        number = _next_number(s, pool)
        if number is None:
            res.messages.append(msg.failed("BACKUP", what, 24, "all 999 version numbers are in use; FRDELETE old versions"))
            res.fail(24)
            return None
        old_pairs = {p.source: p for p in repo.pairs(s, plan.reuse.id)} if plan.reuse else {}
    missing = [v for v in [*plan.pairs, *plan.pairs.values()] if v not in svc.site.volumes]
    if missing:
        res.messages.append(msg.failed("BACKUP", what, msg.RC_VOLUME_UNAVAILABLE,
                                       "volume(s) unavailable: " + ", ".join(f"{v} ({svc.site.unavailable.get(v, 'not open')})" for v in missing)))
        res.fail(msg.RC_VOLUME_UNAVAILABLE)
        return None
    captured, capture_rc = _capture(svc, pool, list(plan.pairs), res)
    if capture_rc and pool.catalog_capture == "R":
        res.messages.append(msg.failed("BACKUP", what, 12, "catalog information could not be captured and the copy pool requires it"))
        res.fail(12)
        return None
    nocopy = pool.versions == 0
    retire = req.incremental is Incremental.FCINCREMENTALLAST
    victims = [v.id for v in (plan.reuse,) if v is not None]
    catalog = svc.site.catalog

    def unit(core: FlashCopyCore) -> tuple[int, dict[str, int]]:
        """One unit under the core's lock: intent (the version it replaces stops being valid),
        every pair at one point in time, then the new version. On a refusal the relationships
        this unit made are withdrawn again."""
        _check_targets_free(core, plan, old_pairs)
        with catalog.session() as s:
            iid = intent.begin(s, IntentKind.BACKUP, pool.name, now, number=number, victims=victims)
            for vid in victims:
                row = s.get(BackupVersionRow, vid)
                row.dasd_state, row.frr_eligible = "FAILED", False  # its targets are about to change
                s.add(row)
            s.commit()
        label = intent.tagged(f"HSM {pool.name} V{number:03d}", iid)
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
            if retire:
                for rid in rel_ids.values():
                    core.retire(rid)
        except FlashCopyError:
            for rid in made:
                core.withdraw(rid)
            with catalog.session() as s:
                intent.end(s, iid)  # the replaced version stays FAILED: its targets were touched
                s.commit()
            raise
        with catalog.session() as s:
            cp = repo.copy_pool(s, pool.name)
            assert cp is not None
            version = BackupVersionRow(
                copy_pool=cp.name, version=number, token=req.token or b"", created_at=now,
                incremental=plan.incremental and not retire, fcfrr=cp.fast_reverse_restore,
                frr_eligible=cp.fast_reverse_restore, vtocenq=not req.novtocenq,
                catinfo="N" if cp.catalog_capture == "N" else ("P" if capture_rc else "Y"),
                backup_group=cp.backup_group_override,
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
            cp.next_version = number % 999 + 1
            s.add(cp)
            intent.end(s, iid)
            s.commit()
            assert version.id is not None
            return version.id, rel_ids

    try:
        vid, rel_ids = await svc.flashcopy.batch(unit)
    except FlashCopyError as exc:
        res.messages.append(msg.failed("BACKUP", what, 4, str(exc)))
        res.fail(4)
        return None
    for src, tgt in plan.pairs.items():
        res.messages.append(msg.dss(f"COPY IDY({src}) ODY({tgt}) DUMPCOND FR(REQ) PUR ALLX ALLD(*) FCFVR"
                                    + (" FCINCREMENTAL" if plan.incremental and not retire else "")
                                    + (" FCINCREMENTALLAST" if retire else "") + (" FCNOCOPY" if nocopy else "")))
    res.messages.append(msg.volumes_ok("BACKUP", pool.name, sorted(plan.pairs)))
    kind = "an incremental refresh" if plan.refresh else "a full copy" if not nocopy else "NOCOPY, until dumped"
    res.add("FPL100I", f"VERSION {number:03d} OF COPY POOL {pool.name} CREATED ({kind}, {len(plan.pairs)} VOLUME PAIRS"
            + (f", TOKEN={format_token(req.token)})" if req.token else ")"))
    return vid


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


def _check_targets_free(core: FlashCopyCore, plan: Plan, old_pairs: dict[str, VersionPairRow]) -> None:
    """A reused target may still feed a recovery (reversed relationship): never cut it off."""
    for src, tgt in plan.pairs.items():
        for rel in core.outgoing(tgt):
            if plan.refresh and rel.incremental and rel.target == src and not rel.uncopied.any():
                continue
            old = old_pairs.get(src)
            mine = old is not None and old.relationship_id == rel.id
            if rel.uncopied.any():
                raise FlashCopyError(
                    f"target {tgt} is still the source of relationship {rel.id} ({rel.source} -> {rel.target}, "
                    f"{rel.out_of_sync:,} tracks to copy); wait for the recovery to finish (QUERY COPYPOOL)"
                )
            if mine and rel.incremental:
                raise FlashCopyError(
                    f"the incremental version on {tgt} was recovered by reversing its relationship ({rel.source} -> {rel.target}); "
                    f"take the next backup with FRBACKUP COPYPOOL(...) FCINCREMENTAL (it re-reverses, copying changed tracks only), "
                    f"or FRDELETE the version first"
                )
            raise FlashCopyError(
                f"target {tgt} is the source of relationship {rel.id} ({rel.source} -> {rel.target}); "
                f"withdraw it (or FRDELETE the version that owns it) first"
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
    with svc.site.catalog.session() as s:
        vers = pools.backups(s, pool.name)
        target = next((v for v in vers if v.dasd_state == "RECOVERABLE"), None)
        if target is None:
            res.messages.append(msg.failed("BACKUP WITHDRAW", what, 2, "the copy pool has no valid DASD version to withdraw"))
            res.fail(2)
            return
        pairs = repo.pairs(s, target.id)
        generation = vers.index(target)
        has_dumps = bool(repo.dump_copies(s, target.id))

    def unit(core: FlashCopyCore) -> str:
        rels = [r for p in pairs if p.relationship_id and (r := core.find(p.relationship_id)) is not None]
        restoring = [r for r in rels if r.target in {p.source for p in pairs} and r.uncopied.any()]
        if restoring:
            r = restoring[0]
            raise FlashCopyError(f"version {target.version:03d} is restoring {r.target} ({r.out_of_sync:,} tracks still to copy); "
                                 f"its relationships cannot be withdrawn until the recovery completes")
        # bytes stay only where every copy had completed: an incremental version keeps them
        keep_valid = target.incremental and not any(r.uncopied.any() for r in rels)
        state = "STILL RECOVERABLE (ITS COPY WAS COMPLETE)" if keep_valid else (
            "DELETED" if generation != 0 and not has_dumps else "INVALID")

        def change(s: Session) -> None:
            v = s.get(BackupVersionRow, target.id)
            if keep_valid:
                v.incremental = False
                s.add(v)
            elif generation != 0 and not has_dumps:
                repo.delete_version(s, v)
            else:
                v.dasd_state = "NONE" if has_dumps else "FAILED"
                v.frr_eligible = False
                s.add(v)

        intent.withdraw_atomically(svc.site.catalog, core, pool.name, "FRBACKUP WITHDRAW", rels, change, svc.clock())
        return state

    try:
        state = await svc.flashcopy.batch(unit)
    except FlashCopyError as exc:
        res.messages.append(msg.failed("BACKUP WITHDRAW", what, 4, str(exc)))
        res.fail(4)
        return
    res.add("FPL102I", f"RELATIONSHIPS OF VERSION {target.version:03d} OF COPY POOL {pool.name} WITHDRAWN; THE VERSION IS {state}")
