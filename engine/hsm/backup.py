"""FRBACKUP: EXECUTE (with DUMP, FCINCREMENTAL / FCINCREMENTALLAST, TOKEN, BSG, FORCE), PREPARE,
WITHDRAW and DUMPONLY.

Reuse order for targets (docs/DOMAIN.md 2.2/3): a failed version's targets, else the oldest version's
targets once VERSIONS versions exist (roll-off), else PREPARE assignments, else new targets from
the copy pool backup storage group. All volume pairs are flashed as one point in time; if any
pair is refused, none is kept. Each form is planned first (`plan_*`: every rule from `rules`,
nothing changed) and then carried out as one unit under the FlashCopy lock (docs/ATOMICITY.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlmodel import Session

from engine import messages as msg
from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, CapturedExtentRow, CopyPoolRow, VersionPairRow, VolumeRow
from engine.command import Action, FrBackup, Incremental, ReturnControl, format_token
from engine.errors import FlashCopyError, FlashpoolError
from engine.flashcopy import CopyMode, EstablishRequest, FlashCopyCore
from engine.hsm import dump, intent, rules, standing
from engine.hsm import pool as pools
from engine.hsm.intent import IntentKind
from engine.hsm.rules import Checks, Refusal, Refused, version_name
from engine.messages import CommandResult
from engine.states import DasdState, DumpCopyState, FailedReason, Origin

if TYPE_CHECKING:
    from engine.datasets.info import DataSetInfo
    from engine.hsm.context import Context


def function_of(req: FrBackup) -> tuple[str, str]:
    if req.dump:
        return "BACKUP DUMP", f"COPY POOL {req.copypool}"
    return {
        Action.EXECUTE: "BACKUP",
        Action.PREPARE: "PREPARE",
        Action.WITHDRAW: "BACKUP WITHDRAW",
        Action.DUMPONLY: "BACKUP DUMPONLY",
    }[req.action], f"COPY POOL {req.copypool}"


@dataclass
class Common:
    pool: CopyPoolRow
    classes: tuple[str, ...] = ()  # dump classes, for DUMP and DUMPONLY


def plan_common(ctx: Context, req: FrBackup, checks: Checks) -> Common:
    dumps = req.dump or req.action is Action.DUMPONLY
    checks.require(
        "FRBACKUP and its dumps are not held" if dumps else "FRBACKUP is not held",
        rules.request_hold(ctx.holds(), req),
    )
    with ctx.catalog.session() as s:
        pool = repo.copy_pool(s, req.copypool)
        checks.require(f"copy pool {req.copypool} is defined", rules.pool_defined(pool, req.copypool))
        assert pool is not None
        classes = req.dump_classes
        if req.dump or req.action is Action.DUMPONLY:
            classes = classes or tuple(link.dump_class for link in repo.pool_dump_classes(s, pool.name))
            unknown = [c for c in classes if repo.dump_class(s, c) is None]
            checks.require("the dump classes are defined", rules.dump_classes_defined(pool.name, classes, unknown))
    return Common(pool, classes)


def frbackup(ctx: Context, req: FrBackup, res: CommandResult) -> None:
    function, what = function_of(req)
    try:
        common = plan_common(ctx, req, Checks())
    except Refused as exc:
        _refused(res, function, what, exc.refusal)
        return
    dump.expire(ctx)
    now = ctx.clock()
    res.messages.append(msg.starting(function, what, now, format_token(req.token) if req.token else None))
    try:
        if req.action is Action.PREPARE:
            _prepare(ctx, req, common, res)
        elif req.action is Action.WITHDRAW:
            _withdraw(ctx, req, common, res)
        elif req.action is Action.DUMPONLY:
            _dumponly(ctx, req, common, res)
        else:
            _execute(ctx, req, common, res, now)
    except Refused as exc:
        _refused(res, function, what, exc.refusal)
    res.messages.append(msg.completed(function, what, ctx.clock(), res.rc, res.rc))


def _refused(res: CommandResult, function: str, what: str, r: Refusal) -> None:
    rules.report(res, function, what, r)


# -- EXECUTE ----------------------------------------------------------------------------------------


@dataclass
class Plan:
    pool: CopyPoolRow
    number: int = 0
    pairs: dict[str, str] = field(default_factory=dict)  # source -> target
    groups: dict[str, str] = field(default_factory=dict)  # source -> storage group
    reuse: BackupVersionRow | None = None  # the version whose targets are taken over
    prepared: BackupVersionRow | None = None
    from_prepared: set[str] = field(default_factory=set)  # the sources that keep the target PREPARE gave them
    refresh: bool = False  # refresh the incremental version's relationships
    incremental: bool = False  # the new version is incremental
    owned: dict[str, int | None] = field(default_factory=dict)  # source -> the reused pair's relationship
    moves: dict[str, int] = field(default_factory=dict)  # source -> tracks its background copy moves
    excess: list[BackupVersionRow] = field(default_factory=list)  # valid versions past a lowered VERSIONS
    excess_relationships: list[int] = field(default_factory=list)  # theirs, withdrawn once the flash is made

    @property
    def rolled_off(self) -> BackupVersionRow | None:
        return self.reuse if self.reuse is not None and self.reuse.dasd_state != DasdState.FAILED else None


def _planned_pool(s: Session, common: Common, req: FrBackup, checks: Checks) -> CopyPoolRow:
    """The FRBACKUP prelude EXECUTE and PREPARE plan from: the copy pool as this command sees it,
    its BACKUPSTORAGEGROUP override checked and applied (in the plan only; a backup commits it)."""
    pool = repo.copy_pool(s, common.pool.name)
    assert pool is not None
    if req.backup_group is not None:
        checks.require(
            f"{req.backup_group or 'no override'} can be the backup storage group",
            rules.backup_group_override(s, pool, req.backup_group),
        )
        pool.backup_group_override = req.backup_group or None
    return pool


def plan_execute(ctx: Context, req: FrBackup, checks: Checks, common: Common | None = None) -> Plan:
    """`common`: the checks every FRBACKUP form makes, when the command made them already."""
    common = common or plan_common(ctx, req, checks)
    core: FlashCopyCore = ctx.flashcopy.core
    with ctx.catalog.session() as s:
        pool = _planned_pool(s, common, req, checks)
        plan = Plan(pool)
        vers = repo.versions(s, pool.name)
        dasd = [v for v in vers if v.dasd_state in repo.DASD_STATES]
        prepared = [v for v in vers if v.dasd_state == DasdState.PREPARE]
        plan.reuse, rolls_off = next_replaced(vers, pool.versions)
        plan.excess = excess(vers, pool.versions, plan.reuse)
        for victim in ([plan.reuse] if plan.reuse is not None and rolls_off else []) + plan.excess:
            checks.require(f"{version_name(victim)} may roll off", rules.roll_off(s, pool, victim, req.force))
        for victim in plan.excess:
            checks.require(
                f"no recovery from {version_name(victim)} is still copying",
                rules.recovery_copying(core, victim, repo.pairs(s, victim.key)),
            )
        plan.excess_relationships = [
            p.relationship_id for v in plan.excess for p in repo.pairs(s, v.key) if p.relationship_id is not None
        ]
        # a version that rolls off with the one replaced is no incremental version to refresh
        inc = next((v for v in dasd if v.incremental and v not in plan.excess), None)
        if req.incremental is not None:
            checks.require("an incremental version may be NOCOPY", rules.nocopy_is_not_incremental(pool))
            checks.require(
                "the version FCINCREMENTAL replaces is the incremental one", rules.incremental_replaces(inc, plan.reuse)
            )
            checks.require(
                "there is an incremental version to take a last increment of",
                rules.last_increment_possible(req.incremental is Incremental.FCINCREMENTALLAST, inc, plan.reuse),
            )
            plan.refresh = inc is not None and plan.reuse is not None and plan.reuse.id == inc.id
            plan.incremental = plan.refresh or inc is None
        if plan.reuse is None and prepared:
            plan.prepared = prepared[-1]
        srcs = pools.sources(s, pool)
        old = repo.pairs(s, plan.reuse.key) if plan.reuse else []
        plan.owned = {p.source: p.relationship_id for p in old}
        taken = {p.source: p.target for p in old}
        if not taken and plan.prepared:
            # a target PREPARE assigned stays assigned while it is in its source's backup storage
            # group: after a BACKUPSTORAGEGROUP override, the sources take targets of the new one
            wanted = {src.volser: src.backup_group for src in srcs}
            taken = {
                p.source: p.target
                for p in repo.pairs(s, plan.prepared.key)
                if (vol := repo.volume(s, p.target)) is not None and vol.storage_group == wanted.get(p.source)
            }
            plan.from_prepared = set(taken)
        in_use = repo.targets_in_use(s, {src.backup_group for src in srcs})
        own = {plan.reuse.key if plan.reuse else -1, plan.prepared.key if plan.prepared else -1}
        # a reused version's targets stay with their sources: a new source never picks one
        chosen = {taken[src.volser] for src in srcs if src.volser in taken}
        targets = _Targets(s, in_use, own, chosen, core)
        problems: list[tuple[str, str]] = []
        for source in srcs:
            plan.groups[source.volser] = source.storage_group
            tgt = taken.get(source.volser) or targets.pick(source)
            if isinstance(tgt, Refusal):
                problems.append((source.volser, tgt.text))
            else:
                plan.pairs[source.volser] = tgt
                chosen.add(tgt)
        checks.require(
            "every source volume has an eligible target volume",
            rules.no_targets("no eligible target volume for some source volumes", problems),
        )
        checks.require("the copy pool has volumes to back up", rules.has_volumes(plan.pairs))
        number = _next_number(s, pool)
        checks.require("a version number is free", rules.number_free(number))
        plan.number = number or 0
    checks.require(
        "every source and target volume is available",
        rules.volumes_available([*plan.pairs, *plan.pairs.values()], ctx.unavailable, ctx.volumes),
    )
    checks.require("the targets feed no recovery", rules.targets_free(core, plan.pairs, plan.refresh, plan.owned))
    for src in plan.pairs:
        owned = plan.owned.get(src)
        rel = core.find(owned) if plan.refresh and owned else None
        if rel is not None:
            plan.moves[src] = (rel.changed_src | rel.changed_tgt | rel.uncopied).count()
        else:
            plan.moves[src] = 0 if pool.versions == 0 else core.volume(src).tracks
    return plan


def _valid_oldest_first(vers: list[BackupVersionRow]) -> list[BackupVersionRow]:
    dasd = [v for v in vers if v.dasd_state in repo.DASD_STATES and v.dasd_state != DasdState.FAILED]
    return sorted(dasd, key=lambda v: v.created_at)


def next_replaced(vers: list[BackupVersionRow], versions: int) -> tuple[BackupVersionRow | None, bool]:
    """The version whose targets the next FRBACKUP takes over: the oldest FAILED one, else, when
    all of the pool's VERSIONS are in use, the oldest valid one, which then rolls off (True)."""
    failed = sorted((v for v in vers if v.dasd_state == DasdState.FAILED), key=lambda v: v.created_at)
    if failed:
        return failed[0], False
    valid = _valid_oldest_first(vers)
    if len(valid) >= max(versions, 1):
        return valid[0], True
    return None, False


def excess(vers: list[BackupVersionRow], versions: int, reused: BackupVersionRow | None) -> list[BackupVersionRow]:
    """The valid versions, oldest first, that roll off at the next FRBACKUP beside the one whose
    targets it takes over, so that VERSIONS valid versions remain: none unless VERSIONS was
    lowered (IBM: the excess versions roll off at the next FRBACKUP)."""
    valid = [v for v in _valid_oldest_first(vers) if reused is None or v.id != reused.id]
    return valid[: max(len(valid) - (max(versions, 1) - 1), 0)]


def rolled_off_next(vers: list[BackupVersionRow], versions: int) -> list[BackupVersionRow]:
    """Every valid version the next FRBACKUP rolls off with VERSIONS at `versions`, oldest first."""
    reused, rolls = next_replaced(vers, versions)
    return ([reused] if reused is not None and rolls else []) + excess(vers, versions, reused)


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


@dataclass
class _Targets:
    """Each source's target: the first eligible volume of its backup storage group. While a plan
    is made, why a volume is not eligible never changes except by being chosen, so each group
    and volume size is scanned once, onward from its last pick: linear in the group, where a
    scan from the start per source made 1,024 sources cost half a million checks."""

    s: Session
    in_use: dict[str, tuple[str, int]]
    own: set[int]
    chosen: set[str]
    core: FlashCopyCore
    groups: dict[str, list[VolumeRow]] = field(default_factory=dict)  # read once per plan
    onward: dict[tuple[str, int, int], int] = field(default_factory=dict)  # where the next scan starts

    def _why_not(self, v: VolumeRow, src: pools.Source) -> str | None:
        if not v.online:
            return "offline"
        if (v.cylinders * v.tracks_per_cylinder, v.track_size) != (src.tracks, src.track_size):
            return "of another size"
        if v.volser in self.chosen or (v.volser in self.in_use and self.in_use[v.volser][1] not in self.own):
            return "already a target of another version"
        if self.core.volumes.get(v.volser) is None:
            return "unavailable"
        if self.core.incoming(v.volser) or self.core.outgoing(v.volser):
            return "in a FlashCopy relationship"
        return None

    def pick(self, src: pools.Source) -> str | Refusal:
        if not src.backup_group:
            return rules.no_target(f"storage group {src.storage_group} names no copy pool backup storage group")
        if src.backup_group not in self.groups:
            self.groups[src.backup_group] = repo.group_volumes(self.s, src.backup_group)
        vols = self.groups[src.backup_group]
        if not vols:
            return rules.no_target(f"copy pool backup storage group {src.backup_group} has no volumes")
        key = (src.backup_group, src.tracks, src.track_size)
        for i in range(self.onward.get(key, 0), len(vols)):
            if self._why_not(vols[i], src) is None:
                self.onward[key] = i + 1
                return vols[i].volser
        self.onward[key] = len(vols)
        reasons: dict[str, int] = {}
        for v in vols:
            if why := self._why_not(v, src):
                reasons[why] = reasons.get(why, 0) + 1
        detail = ", ".join(f"{n} {why}" for why, n in reasons.items())
        return rules.no_target(f"no eligible volume of {src.tracks:,} tracks in {src.backup_group} ({detail})")


def _execute(ctx: Context, req: FrBackup, common: Common, res: CommandResult, now: float) -> None:
    plan = plan_execute(ctx, req, Checks(), common)
    pool = plan.pool
    if pool.backup_group_override:
        res.add(
            "ARC1847I",
            f"THE COPY POOL BACKUP STORAGE GROUP DEFINED FOR THE POOL STORAGE GROUPS OF {pool.name} IS OVERRIDDEN BY {pool.backup_group_override}",
        )
    if ctx.setsys().volume_pair_messages:  # SETSYS FASTREPLICATION(VOLUMEPAIRMESSAGES(YES))
        for src, tgt in plan.pairs.items():
            how = (
                "ITS PREPARED TARGET"
                if src in plan.from_prepared
                else "THE OLDEST VERSION'S TARGET"
                if plan.reuse
                else "A FREE"
            )
            res.add("ARC1809I", f"SOURCE VOLUME {src} PAIRED WITH TARGET VOLUME {tgt} ({how} TARGET OF THE SAME SIZE)")
    captured, capture_rc = _capture(ctx, pool, list(plan.pairs), res)
    refusal = rules.catalog_captured(pool, capture_rc)
    if refusal is not None:
        raise Refused(refusal)
    vid = _flash(ctx, req, plan, captured, capture_rc, res, now)
    if vid is None:
        return
    if req.dump:
        if req.return_control is ReturnControl.FASTREPLICATIONEND:
            # the dump keeps the pool's serialisation until the version's state is final
            ctx.background.append(lambda: _background_dump(ctx, pool, vid, common.classes, res.command))
            res.add(
                "FPL103I",
                f"THE DUMP TO {', '.join(common.classes)} CONTINUES IN THE BACKGROUND (RETURNCONTROL(FASTREPLICATIONEND)); "
                "ITS RESULT GOES TO THE ACTIVITY LOG",
            )
        else:
            _dump_then(ctx, pool, vid, common.classes, res)
    elif pool.versions == 0:
        res.add(
            "FPL105I",
            f"VERSIONS=0: THE NOCOPY DASD COPY OF COPY POOL {pool.name} IS KEPT ONLY UNTIL IT IS DUMPED "
            "(FRBACKUP DUMPONLY)" + ("" if pool.fast_reverse_restore else "; IT CANNOT BE USED FOR RECOVERY"),
        )


def _flash(
    ctx: Context,
    req: FrBackup,
    plan: Plan,
    captured: list[DataSetInfo],
    capture_rc: int,
    res: CommandResult,
    now: float,
) -> int | None:
    pool, number = plan.pool, plan.number
    nocopy = pool.versions == 0
    retire = req.incremental is Incremental.FCINCREMENTALLAST
    victims = ([plan.reuse.key] if plan.reuse is not None else []) + [v.key for v in plan.excess]
    catalog = ctx.catalog
    old_pairs = plan.owned

    def unit(core: FlashCopyCore) -> int:
        """One unit under the core's lock: intent (the version it replaces stops being valid),
        every pair at one point in time, then the new version. On a refusal the relationships
        this unit made are withdrawn again."""
        refusal = rules.targets_free(core, plan.pairs, plan.refresh, plan.owned)
        if refusal is not None:
            raise Refused(refusal)
        with catalog.session() as s:
            iid = intent.begin(s, IntentKind.BACKUP, pool.name, now, number=number, victims=victims)
            for vid in victims:  # their targets are about to change
                refreshed = plan.refresh and plan.reuse is not None and vid == plan.reuse.key
                why = FailedReason.REFRESHED if refreshed else FailedReason.REPLACED
                row = repo.held_version(s, vid)
                standing.mark_failed(row, why, now, number)
                s.add(row)
            s.commit()
        label = intent.tagged(f"HSM {pool.name} V{number:03d}", iid)
        made: list[int] = []
        rel_ids: dict[str, int] = {}
        refused: FlashCopyError | None = None
        with core.one_commit():  # every pair's relationship is committed before the version
            try:
                for src, tgt in plan.pairs.items():
                    owned = old_pairs.get(src)
                    rel = core.find(owned) if owned else None
                    if plan.refresh and rel is not None and rel.incremental and {rel.source, rel.target} == {src, tgt}:
                        if rel.source == src:
                            core.refresh(rel.id)
                        else:  # recovered earlier by reversal: re-reverse, copying changed tracks only
                            core.reverse(rel.id)
                        rel_ids[src] = rel.id
                        continue
                    for stale in core.incoming(tgt):  # the old version's relationships end here
                        core.withdraw(stale.id)
                    new = core.establish(
                        EstablishRequest(
                            src,
                            tgt,
                            mode=CopyMode.NOCOPY if nocopy else CopyMode.COPY,
                            persistent=plan.incremental,
                            incremental=plan.incremental,
                            label=label,
                        )
                    )
                    made.append(new.id)
                    rel_ids[src] = new.id
                if retire:
                    for rid in rel_ids.values():
                        core.retire(rid)
            except FlashCopyError as exc:
                for rid in made:
                    core.withdraw(rid)
                refused = exc
            else:
                for rid in plan.excess_relationships:  # the versions past a lowered VERSIONS: their targets are free
                    if core.find(rid) is not None:
                        core.withdraw(rid)
        if refused is not None:
            with catalog.session() as s:
                intent.end(s, iid)  # the replaced version stays FAILED: its targets were touched
                s.commit()
            raise refused
        with catalog.session() as s:
            cp = repo.copy_pool(s, pool.name)
            assert cp is not None
            cp.backup_group_override = pool.backup_group_override
            version = BackupVersionRow(
                copy_pool=cp.name,
                version=number,
                token=req.token or b"",
                created_at=now,
                incremental=plan.incremental and not retire,
                fcfrr=cp.fast_reverse_restore,
                dasd_state=rules.new_version_state(cp),
                vtocenq=not req.novtocenq,
                catinfo="N" if cp.catalog_capture == "N" else ("P" if capture_rc else "Y"),
                backup_group=cp.backup_group_override,
            )
            for old in (plan.reuse, plan.prepared, *plan.excess):
                if old is not None:
                    old = repo.held_version(s, old.key)
                    if repo.dump_copies(s, old.key):
                        old.dasd_state = DasdState.NONE  # lives on as dump copies
                        s.add(old)
                    else:
                        repo.delete_version(s, old)
            s.add(version)
            s.flush()
            for src, tgt in plan.pairs.items():
                s.add(
                    VersionPairRow(
                        version_id=version.key,
                        source=src,
                        target=tgt,
                        storage_group=plan.groups[src],
                        relationship_id=rel_ids[src],
                    )
                )
            for info in captured:
                for seq, e in enumerate(info.extents):
                    s.add(
                        CapturedExtentRow(
                            version_id=version.key,
                            name=info.name,
                            seq=seq,
                            volser=e.volser,
                            first_track=e.first,
                            tracks=e.tracks,
                            bytes_used=info.bytes_used,
                            dsorg=info.dsorg,
                        )
                    )
            cp.next_version = number % 999 + 1
            s.add(cp)
            intent.end(s, iid)
            s.commit()
            assert version.id is not None
            return version.id

    try:
        vid = ctx.batch(unit)
    except FlashCopyError as exc:
        raise Refused(rules.engine_refused(exc)) from None
    for src, tgt in plan.pairs.items():
        res.messages.append(
            msg.dss(
                f"COPY IDY({src}) ODY({tgt}) DUMPCOND FR(REQ) PUR ALLX ALLD(*) FCFVR"
                + (" FCINCREMENTAL" if plan.incremental and not retire else "")
                + (" FCINCREMENTALLAST" if retire else "")
                + (" FCNOCOPY" if nocopy else "")
            )
        )
    res.messages.append(msg.volumes_ok("BACKUP", pool.name, sorted(plan.pairs)))
    kind = "an incremental refresh" if plan.refresh else "a full copy" if not nocopy else "NOCOPY, until dumped"
    res.add(
        "FPL100I",
        f"VERSION {number:03d} OF COPY POOL {pool.name} CREATED ({kind}, {len(plan.pairs)} VOLUME PAIRS"
        + (f", TOKEN={format_token(req.token)})" if req.token else ")"),
    )
    res.data = {"kind": "backup", "copy_pool": pool.name, "version": number}  # schemas/frbackup-execute
    if plan.excess:
        res.add(
            "FPL109I",
            f"VERSION(S) {', '.join(f'{v.version:03d}' for v in plan.excess)} OF COPY POOL {pool.name} ROLLED OFF "
            f"WITH THE OLDEST: VERSIONS IS {pool.versions} NOW",
        )
    return vid


def _capture(ctx: Context, pool: CopyPoolRow, sources: list[str], res: CommandResult) -> tuple[list[DataSetInfo], int]:
    """Catalog capture: which data sets live where on the pool's volumes, for data set recovery."""
    if pool.catalog_capture == "N":
        return [], 0
    try:
        found = ctx.datasets.on_volumes(sources)
    except FlashpoolError as exc:
        res.add(
            "ARC1812I",
            f"OPERATION=CAPTURE FOR CATALOG INFORMATION FOR COPY POOL={pool.name} COMPLETED WITH RETURN CODE 8, REASON CODE 0: {exc}",
        )
        return [], 8
    res.add(
        "ARC1812I",
        f"OPERATION=CAPTURE FOR CATALOG INFORMATION DATA SET=FLASHPOOL.CATALOG FOR COPY POOL={pool.name} "
        f"COMPLETED WITH RETURN CODE 0, REASON CODE 0 ({len(found)} DATA SETS)",
    )
    return found, 0


# -- DUMP / DUMPONLY --------------------------------------------------------------------------------


def _background_dump(ctx: Context, pool: CopyPoolRow, vid: int, classes: tuple[str, ...], command: str) -> None:
    res = CommandResult(command)
    _dump_then(ctx, pool, vid, classes, res)
    res.add("FPL106I", f"BACKGROUND DUMP OF COPY POOL {pool.name} TO {', '.join(classes)} ENDED, RC={res.rc}")
    ctx.log(res, pool.name, origin=Origin.AUTO)


def _dump_then(ctx: Context, pool: CopyPoolRow, vid: int, classes: tuple[str, ...], res: CommandResult) -> None:
    """Dump a fresh version; with VERSIONS=0 its NOCOPY relationships are then withdrawn and the
    version lives on as dump copies only. The caller holds the pool's serialisation."""
    if not dump.dump_version(ctx, vid, classes, res):
        res.fail(8)
    finish_nocopy_version(ctx, pool.name, vid, res)


def finish_nocopy_version(ctx: Context, pool: str, version_id: int, res: CommandResult) -> None:
    """VERSIONS=0: once every volume of the version has a COMPLETE dump copy, its NOCOPY
    relationships are withdrawn and the version lives on as dump copies only (the catalog
    says NONE before a single relationship goes)."""
    ctx.batch(lambda core: _withdraw_nocopy_version(ctx, core, pool, version_id, res))


def _withdraw_nocopy_version(ctx: Context, core: FlashCopyCore, pool: str, vid: int, res: CommandResult) -> None:
    """Runs under the core's lock."""
    with ctx.catalog.session() as s:
        cp = repo.copy_pool(s, pool)
        v = s.get(BackupVersionRow, vid)
        if cp is None or cp.versions != 0 or v is None or v.dasd_state not in repo.DASD_STATES:
            return
        pairs = repo.pairs(s, vid)
        dumped = {d.source for d in repo.dump_copies(s, vid) if d.state == DumpCopyState.COMPLETE}
    missing = sorted({p.source for p in pairs} - dumped)
    if missing:
        res.add(
            "FPL107I",
            f"VERSION {v.version:03d} OF COPY POOL {pool} KEEPS ITS NOCOPY DASD COPY: {', '.join(missing)} "
            "HAVE NO COMPLETE DUMP COPY YET; FRBACKUP DUMPONLY RETRIES",
        )
        return
    rels = [r for p in pairs if p.relationship_id and (r := core.find(p.relationship_id)) is not None]

    def none(s: Session) -> None:
        row = repo.held_version(s, vid)
        row.dasd_state = DasdState.NONE
        s.add(row)

    intent.withdraw_atomically(ctx.catalog, core, pool, "VERSIONS=0 WITHDRAWAL", rels, none, ctx.clock())
    res.add(
        "FPL108I",
        f"VERSION {v.version:03d} OF COPY POOL {pool} IS DUMPED; ITS NOCOPY RELATIONSHIPS WERE WITHDRAWN "
        "AND IT LIVES ON AS DUMP COPIES",
    )


def plan_dumponly(
    ctx: Context, req: FrBackup, checks: Checks, common: Common | None = None
) -> tuple[Common, BackupVersionRow]:
    common = common or plan_common(ctx, req, checks)
    with ctx.catalog.session() as s:
        found = rules.select_version(pools.backups(s, req.copypool), req.selection, need_dasd=True, dumping=True)
    checks.require(
        f"the backup copy {req.selection.describe()} exists on DASD", found if isinstance(found, Refusal) else None
    )
    assert isinstance(found, BackupVersionRow)
    checks.require(f"{version_name(found)} is a valid DASD copy", rules.valid_dasd_copy(found, "dump"))
    return common, found


def _dumponly(ctx: Context, req: FrBackup, common: Common, res: CommandResult) -> None:
    _, version = plan_dumponly(ctx, req, Checks(), common)
    classes = common.classes
    if not dump.dump_version(ctx, version.key, classes, res):
        res.fail(8)
    res.add("FPL104I", f"VERSION {version.version:03d} OF COPY POOL {req.copypool} DUMPED TO {', '.join(classes)}")
    finish_nocopy_version(ctx, req.copypool, version.key, res)


# -- PREPARE ------------------------------------------------------------------------------------------


@dataclass
class Prepare:
    pool: CopyPoolRow
    sets: int
    assignments: list[dict[str, str]]
    groups: dict[str, str]
    sources: int


def plan_prepare(ctx: Context, req: FrBackup, checks: Checks, common: Common | None = None) -> Prepare:
    common = common or plan_common(ctx, req, checks)
    core = ctx.flashcopy.core
    with ctx.catalog.session() as s:
        pool = _planned_pool(s, common, req, checks)
        vers = repo.versions(s, pool.name)
        dasd = [v for v in vers if v.dasd_state in repo.DASD_STATES]
        sets = max(pool.versions - len(dasd), 0) if pool.versions else 0
        prepared = {p.id for p in vers if p.dasd_state == DasdState.PREPARE}
        srcs = pools.sources(s, pool)
        in_use = {
            t: v for t, v in repo.targets_in_use(s, {src.backup_group for src in srcs}).items() if v[1] not in prepared
        }
        targets = _Targets(s, in_use, set(), set(), core)
        problems: list[tuple[str, str]] = []
        assignments: list[dict[str, str]] = []
        for _ in range(max(sets, 1)):
            pairs: dict[str, str] = {}
            for src in srcs:
                pick = targets.pick(src)
                if isinstance(pick, Refusal):
                    problems.append((src.volser, pick.text))
                else:
                    pairs[src.volser] = pick
                    targets.chosen.add(pick)
            assignments.append(pairs)
    groups = ", ".join(sorted({src.backup_group for src in srcs}))
    checks.require(
        f"backup group {groups} has eligible target volumes for {max(sets, 1)} version(s) of {len(srcs)} "
        f"source volume(s)",
        rules.no_targets("not enough eligible target volumes", problems),
    )
    return Prepare(pool, sets, assignments[:sets], {src.volser: src.storage_group for src in srcs}, len(srcs))


def _prepare(ctx: Context, req: FrBackup, common: Common, res: CommandResult) -> None:
    plan = plan_prepare(ctx, req, Checks(), common)

    def write() -> None:
        with ctx.catalog.session() as s:
            cp = repo.held_copy_pool(s, plan.pool.name)
            cp.backup_group_override = plan.pool.backup_group_override
            s.add(cp)
            for old in [v for v in repo.versions(s, plan.pool.name) if v.dasd_state == DasdState.PREPARE]:
                repo.delete_version(s, old)
            s.flush()
            for pairs in plan.assignments:
                row = BackupVersionRow(
                    copy_pool=plan.pool.name, version=0, created_at=0.0, dasd_state=DasdState.PREPARE
                )
                s.add(row)
                s.flush()
                for src, tgt in pairs.items():
                    s.add(VersionPairRow(version_id=row.key, source=src, target=tgt, storage_group=plan.groups[src]))
            s.commit()

    write()
    res.add(
        "FPL101I",
        f"PREPARE FOR COPY POOL {plan.pool.name}: {plan.sets} TARGET SET(S) ASSIGNED FOR {plan.sources} SOURCE VOLUME(S)"
        + ("" if plan.sets else " (checked only: every version already has its targets)"),
    )


# -- WITHDRAW -----------------------------------------------------------------------------------------


@dataclass
class Withdraw:
    version: BackupVersionRow
    pairs: list[VersionPairRow]
    generation: int
    has_dumps: bool


def plan_withdraw(ctx: Context, req: FrBackup, checks: Checks, common: Common | None = None) -> Withdraw:
    if common is None:
        plan_common(ctx, req, checks)
    with ctx.catalog.session() as s:
        vers = pools.backups(s, req.copypool)
        target = next((v for v in vers if DasdState(v.dasd_state).dumpable), None)
        checks.require("the copy pool has a valid DASD version", rules.valid_dasd_copy(target, "withdraw"))
        assert target is not None
        plan = Withdraw(target, repo.pairs(s, target.key), vers.index(target), bool(repo.dump_copies(s, target.key)))
    checks.advise(
        "another valid version remains after the withdraw",
        None
        if sum(v.dasd_state == DasdState.RECOVERABLE for v in vers) > 1
        else "this is the only valid version: withdrawing it leaves nothing to recover from; take a new backup first",
        "only-version",
    )
    checks.require("no recovery from the version is still copying", _restoring(ctx.flashcopy.core, plan))
    return plan


def _restoring(core: FlashCopyCore, plan: Withdraw) -> Refusal | None:
    return rules.recovery_copying(core, plan.version, plan.pairs)


def _withdraw(ctx: Context, req: FrBackup, common: Common, res: CommandResult) -> None:
    plan = plan_withdraw(ctx, req, Checks(), common)
    target = plan.version

    def unit(core: FlashCopyCore) -> str:
        refusal = _restoring(core, plan)
        if refusal is not None:
            raise Refused(refusal)
        rels = [r for p in plan.pairs if p.relationship_id and (r := core.find(p.relationship_id)) is not None]
        # bytes stay only where every copy had completed: an incremental version keeps them
        keep_valid = target.incremental and not any(r.uncopied.any() for r in rels)
        delete = not keep_valid and plan.generation != 0 and not plan.has_dumps

        def change(s: Session) -> None:
            v = repo.held_version(s, target.key)
            if keep_valid:
                v.incremental = False
                s.add(v)
            elif delete:
                repo.delete_version(s, v)
            else:
                if plan.has_dumps:
                    v.dasd_state = DasdState.NONE
                else:
                    standing.mark_failed(v, FailedReason.WITHDRAWN, ctx.clock())
                s.add(v)

        intent.withdraw_atomically(ctx.catalog, core, req.copypool, "FRBACKUP WITHDRAW", rels, change, ctx.clock())
        state = "STILL RECOVERABLE (ITS COPY WAS COMPLETE)" if keep_valid else "DELETED" if delete else "INVALID"
        return (
            f"RELATIONSHIPS OF VERSION {target.version:03d} OF COPY POOL {req.copypool} WITHDRAWN ({len(rels)}); "
            f"THE VERSION IS {state}"
        )

    res.add("FPL102I", ctx.batch(unit))
