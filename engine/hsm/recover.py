"""FRRECOV COPYPOOL, FRRECOV TOVOLUME and recovery from dump tapes.

How a copy pool version comes back (docs/DOMAIN.md 4, 5, 6):
  * fast reverse restore while the version was made FRR-allowed and a relationship still runs:
    each running S->T is reversed, only tracks changed on S since the flash move back (volumes
    whose copy completed come back by regular FlashCopy), and the version becomes invalid (the
    other versions stay valid, thanks to cascading);
  * an incremental version whose copy completed: the persistent pairs are reversed (changed
    tracks only); the version stays valid and the next FCINCREMENTAL re-reverses them;
  * otherwise a regular full FlashCopy T->S; the version stays valid.

Each form is planned first (`plan_*`: every rule from `rules`, what will move and from where,
nothing changed) and then carried out; the console's checks and impact run the same planning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import DatabaseError
from sqlmodel import Session

from engine import messages as msg
from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, CopyPoolRow, DumpCopyRow, VersionPairRow
from engine.command import FrRecov
from engine.errors import FlashCopyError
from engine.flashcopy import EstablishRequest, FlashCopyCore
from engine.hsm import dump, intent, rules
from engine.hsm import pool as pools
from engine.hsm.intent import IntentKind
from engine.hsm.rules import Checks, Method, Rc, Refusal, Refused, version_name
from engine.messages import CommandResult, resource_problem
from engine.states import DasdState, PairState

if TYPE_CHECKING:
    from engine.hsm.context import Context


def function_of(req: FrRecov) -> tuple[str, str]:
    """(function, what) as ARC1801I/ARC1806E name them."""
    function = "RECOVERY FROM DUMP" if req.from_dump else "DATA SET RECOVERY" if req.dsnames else "RECOVERY"
    what = (
        f"COPY POOL {req.copypool}"
        if req.copypool
        else f"VOLUME {req.volume}"
        if req.volume
        else f"DATA SET {req.dsnames[0]}" + (", ***" if len(req.dsnames) > 1 else "")
    )
    return function, what


def plan_hold(ctx: Context, req: FrRecov, checks: Checks) -> None:
    quals = rules.frrecov_qualifiers(req.from_dump is not None, bool(req.dsnames))
    checks.require(
        "FRRECOV is not held" + (f" (nor FRRECOV({'/'.join(quals)}))" if quals else ""),
        rules.request_hold(ctx.holds(), req),
    )


def frrecov(ctx: Context, req: FrRecov, res: CommandResult) -> None:
    function, what = function_of(req)
    try:
        plan_hold(ctx, req, Checks())
    except Refused as exc:
        rules.report(res, function, what, exc.refusal)
        return
    dump.expire(ctx)
    res.messages.append(msg.starting(function, what, ctx.clock()))
    try:
        if req.dsnames:
            from engine.hsm import dsrecovery

            dsrecovery.run(ctx, req, res)
        elif req.from_dump:
            _from_dump(ctx, req, res, what)
        elif req.copypool:
            _copy_pool(ctx, req, res, what)
        else:
            _volume(ctx, req, res, what)
    except Refused as exc:
        rules.report(res, function, what, exc.refusal)
    res.messages.append(msg.completed(function, what, ctx.clock(), res.rc, res.rc))


# -- FRRECOV COPYPOOL from DASD ------------------------------------------------------------------------


@dataclass
class PoolRecovery:
    """What FRRECOV COPYPOOL will do: the version, how each volume comes back, what moves."""

    pool: CopyPoolRow
    version: BackupVersionRow
    pairs: list[VersionPairRow]
    todo: list[VersionPairRow]  # the volumes it recovers (not those a partial FRR already did)
    methods: dict[str, Method] | None  # fast reverse restore, per volume; None: no FRR
    incremental: bool
    moves: dict[str, int] = field(default_factory=dict)  # source -> tracks that will be copied back

    @property
    def frr(self) -> bool:
        return self.methods is not None


def plan_copy_pool(ctx: Context, req: FrRecov, checks: Checks) -> PoolRecovery:
    core: FlashCopyCore = ctx.flashcopy.core
    cp = req.copypool
    assert cp is not None  # the parser: FRRECOV names a copy pool, a volume or data sets
    with ctx.catalog.session() as s:
        pool = repo.copy_pool(s, cp)
        checks.require(f"copy pool {cp} is defined", rules.pool_defined(pool, cp))
        assert pool is not None
        version = _select(s, cp, req, checks, need_dasd=True)
        pairs = repo.pairs(s, version.key)
    todo = [p for p in pairs if p.state != PairState.RECOVERED]
    checks.require(
        "every source and target volume is available",
        rules.volumes_available([v for p in todo for v in (p.source, p.target)], ctx.unavailable, ctx.volumes),
    )
    methods = rules.frr_methods(core, version, pairs)
    checks.advise(
        f"{version_name(version)} can be recovered by fast reverse restore",
        rules.frr_possible(pool, version, methods),
        "frr-not-allowed" if not pool.fast_reverse_restore else "frr-not-eligible",
        (
            rules.Alternative(
                f"recover {version_name(version)} with regular FlashCopy", walkthrough="W2", version=version.version
            ),
        ),
    )
    checks.require(f"{version_name(version)} is not left half restored", rules.partial_frr_blocked(version, methods))
    checks.require(
        "the version is not a VERSIONS=0 NOCOPY copy", rules.nocopy_recovery(pool, version, methods is not None)
    )
    if not req.verify:  # a VERIFY(Y) command has nothing to check here: no line that says otherwise
        checks.require("VERIFY(N) is acceptable", rules.verify_n_with_frr(req.verify, methods is not None))
    incremental = version.incremental and methods is None
    if incremental:
        checks.require("the incremental pairs can be reversed", rules.incremental_ready(core, pairs))
    if req.verify:
        checks.require(
            "no unexpected FlashCopy relationship on the volumes (VERIFY(Y))",
            rules.verify_relationships(
                core, pool.fast_reverse_restore, methods is not None, incremental, todo, ctx.shared.dumping
            ),
        )
    plan = PoolRecovery(pool, version, pairs, todo, methods, incremental)
    for p in todo:  # the engine's own refusals, asked without flashing: those volumes fail (RC 8)
        checks.record(f"{p.source} can be flashed back from {p.target}", _volume_refusal(core, p, plan))
    for p in todo:
        rel = core.find(p.relationship_id) if p.relationship_id else None
        vol = core.volumes.get(p.source)
        if methods is not None and methods[p.source] is Method.FAST and rel is not None:
            plan.moves[p.source] = rel.changed_src.count()
        elif incremental and rel is not None:
            plan.moves[p.source] = (rel.changed_src | rel.changed_tgt).count()
        else:
            plan.moves[p.source] = vol.tracks if vol else 0
    return plan


def _volume_refusal(core: FlashCopyCore, p: VersionPairRow, plan: PoolRecovery) -> Refusal | None:
    try:
        method = plan.methods[p.source] if plan.methods else None
        if method is Method.FAST:
            core.check_reverse(_relationship_id(p), fast=True)
        elif plan.incremental:
            rel = core.relationship(_relationship_id(p))
            if rel.source == p.source:
                core.check_reverse(rel.id)
        else:
            core.check_establish(EstablishRequest(p.target, p.source))
    except FlashCopyError as exc:
        return rules.volume_refused(p.source, exc)
    return None


def _relationship_id(p: VersionPairRow) -> int:
    """The relationship a fast reverse or incremental recovery reverses."""
    if p.relationship_id is None:
        raise FlashCopyError(f"{p.source} has no FlashCopy relationship with {p.target}")
    return p.relationship_id


def _select(s: Session, cp: str, req: FrRecov, checks: Checks, need_dasd: bool) -> BackupVersionRow:
    found = rules.select_version(pools.backups(s, cp), req.selection, need_dasd)
    label = f"the backup copy {req.selection.describe()} exists" + (" on DASD" if need_dasd else "")
    checks.require(label, found if isinstance(found, Refusal) else None)
    assert isinstance(found, BackupVersionRow)
    return found


def _copy_pool(ctx: Context, req: FrRecov, res: CommandResult, what: str) -> None:
    plan = _plan(plan_copy_pool, ctx, req)
    cp, version, todo = plan.pool.name, plan.version, plan.todo
    if version.fcfrr and version.dasd_state == DasdState.RECOVERABLE and not plan.frr:
        res.add(
            "FPL110I",
            f"{version_name(version).upper()} IS NO LONGER ELIGIBLE FOR FAST REVERSE RESTORE (ITS RELATIONSHIPS ENDED); REGULAR RECOVERY IS USED",
        )
    catalog = ctx.catalog
    label = f"HSM {cp} RECOVER V{version.version:03d}"

    def regular(core: FlashCopyCore) -> list[tuple[str, str]]:
        failures: list[tuple[str, str]] = []
        with core.one_commit():
            for p in todo:
                try:
                    if plan.incremental:
                        rel = core.relationship(_relationship_id(p))
                        if rel.source == p.source:
                            core.reverse(rel.id)
                        else:  # already reversed by an earlier recovery: refresh it again
                            core.refresh(rel.id)
                    else:
                        core.establish(EstablishRequest(p.target, p.source, label=label))
                except FlashCopyError as exc:
                    failures.append((p.source, str(exc)))
        return failures

    def fast_reverse(core: FlashCopyCore) -> tuple[list[tuple[str, str]], list[str]]:
        """Under the core's lock: the methods again (a copy may have completed meanwhile), the
        version FCFRRINCOMPLETE with an intent, the reversals, then the outcome per volume."""
        with catalog.session() as s:
            v = s.get(BackupVersionRow, version.key)
            prs = repo.pairs(s, version.key)
            now_methods = rules.frr_methods(core, v, prs) if v is not None else None
            if v is None or now_methods is None:
                raise FlashCopyError(
                    f"{version_name(version)} is no longer eligible for fast reverse restore; re-issue FRRECOV"
                )
            work = [p for p in prs if now_methods[p.source] is not Method.DONE]
            iid = intent.begin(
                s, IntentKind.FAST_REVERSE, cp, ctx.clock(), version_id=version.key, sources=[p.source for p in work]
            )
            v.dasd_state = DasdState.FCFRRINCOMPLETE  # in progress: its targets stop holding the PIT
            s.add(v)
            s.commit()
        failures: list[tuple[str, str]] = []
        done: list[str] = []
        with core.one_commit():  # the reversals are committed before the version says so
            for p in work:
                try:
                    if now_methods[p.source] is Method.FAST:
                        core.reverse(_relationship_id(p), fast=True)
                    else:
                        core.establish(EstablishRequest(p.target, p.source, label=intent.tagged(label, iid)))
                    done.append(p.source)
                except FlashCopyError as exc:
                    failures.append((p.source, str(exc)))
        with catalog.session() as s:
            intent.settle_fast_reverse(s, repo.held_version(s, version.key), set(done), ctx.clock())
            intent.end(s, iid)
            s.commit()
        return failures, done

    try:
        if plan.frr:
            failures, done = ctx.batch(fast_reverse)
        else:
            failures = ctx.batch(regular)
            done = sorted({p.source for p in todo} - {f[0] for f in failures})
    except FlashCopyError as exc:
        res.messages.append(msg.failed("RECOVERY", what, Rc.IN_THE_WAY, str(exc)))
        res.fail(Rc.IN_THE_WAY)
        return
    if plan.frr:
        skipped = sorted(p.source for p in plan.pairs if plan.methods and plan.methods.get(p.source) is Method.DONE)
        res.add(
            "FPL111I",
            f"FAST REVERSE RESTORE OF {version_name(version).upper()}: ONLY TRACKS CHANGED SINCE THE BACKUP ARE COPIED BACK; "
            + ("THE VERSION IS NOW INVALID" if not failures else "SOME VOLUMES FAILED; THE VERSION IS FCFRRINCOMPLETE")
            + (
                f"; {' '.join(skipped)} WERE ALREADY RECOVERED BY AN EARLIER FRRECOV AND WERE LEFT ALONE"
                if skipped
                else ""
            ),
        )
    else:

        def mark(core: FlashCopyCore) -> None:
            with catalog.session() as s:
                v = repo.held_version(s, version.key)
                v.recovery_incomplete = bool(failures)
                s.add(v)
                s.commit()

        ctx.batch(mark)
    if done:
        res.messages.append(msg.volumes_ok("RECOVERY", cp, sorted(done)))
        res.add("FPL115I", f"{len(done)} VOLUME(S) OF COPY POOL {cp} RECOVERED FROM {version_name(version).upper()}")
        _recatalog(ctx, sorted(done), res)
    if failures:
        res.messages.append(msg.volumes_failed("RECOVERY", cp, failures))
        res.fail(8)


PlanT = TypeVar("PlanT")


def _plan(fn: Callable[[Context, FrRecov, Checks], PlanT], ctx: Context, req: FrRecov) -> PlanT:
    """Run a planning function off the event loop (it reads the catalog and the maps)."""
    return fn(ctx, req, Checks())


def _recatalog(ctx: Context, volumes: list[str], res: CommandResult) -> None:
    """The recovered volumes carry their backup-time VTOCs: the catalog follows them. The volumes
    are recovered whatever happens here, so a full disk is a warning that says so, not a failure
    that invites a second recovery."""
    try:
        changed, unreadable = ctx.datasets.resync(volumes)
    except (DatabaseError, OSError) as exc:
        res.add(
            "FPL116W",
            f"{' '.join(volumes)} ARE RECOVERED, BUT THE CATALOG COULD NOT FOLLOW THEIR VTOCS "
            f"({resource_problem(exc, ctx.root)}); THEIR DATA SETS' CATALOG ENTRIES ARE AS BEFORE THE RECOVERY",
        )
        res.fail(4)
        return
    if unreadable:
        res.add(
            "FPL114I", f"NO VTOC COULD BE READ ON {' '.join(unreadable)}; THEIR CATALOG ENTRIES WERE LEFT AS THEY WERE"
        )
    if changed:
        res.add(
            "FPL113I",
            f"{len(changed)} DATA SET(S) RECATALOGED FROM THE RECOVERED VTOCS: "
            + " ".join(changed[:20])
            + (" ..." if len(changed) > 20 else ""),
        )


# -- FRRECOV TOVOLUME from DASD ----------------------------------------------------------------------


@dataclass
class VolumeRecovery:
    pool: str
    version: BackupVersionRow
    pair: VersionPairRow
    tracks: int


def _pool_for(s: Session, vol: str, from_cp: str | None, checks: Checks) -> str:
    if from_cp:  # a FROMCOPYPOOL that names no copy pool is that, not a volume outside it (RC 22)
        checks.require(f"copy pool {from_cp} is defined", rules.pool_defined(repo.copy_pool(s, from_cp), from_cp))
    cp = pools.of_volume(s, vol, from_cp)
    checks.require(f"{vol} has a copy pool backup", cp if isinstance(cp, Refusal) else None)
    assert isinstance(cp, str)
    return cp


def plan_volume(ctx: Context, req: FrRecov, checks: Checks) -> VolumeRecovery:
    vol = req.volume
    assert vol is not None
    with ctx.catalog.session() as s:
        cp = _pool_for(s, vol, req.from_copypool, checks)
        version = _select(s, cp, req, checks, need_dasd=True)
        pair = next((p for p in repo.pairs(s, version.key) if p.source == vol), None)
        pool = repo.copy_pool(s, cp)
        assert pool is not None
    checks.require(f"{vol} is a source volume of {version_name(version)}", rules.volume_in_version(pair, vol, version))
    assert pair is not None
    checks.require(f"{vol}'s target still holds the backup", rules.already_restored(pair, version))
    checks.require("the version is not a VERSIONS=0 NOCOPY copy", rules.nocopy_recovery(pool, version, False, vol))
    checks.require(
        "the volume and its target are available",
        rules.volumes_available([vol, pair.target], ctx.unavailable, ctx.volumes),
    )
    refusal = rules.volume_backup_in_relationship(ctx.flashcopy.core, pair, version)
    if refusal is None:
        try:
            ctx.flashcopy.core.check_establish(EstablishRequest(pair.target, vol))
        except FlashCopyError as exc:
            refusal = rules.engine_refused(exc)
    checks.require(f"{vol} can be flashed back from {pair.target}", refusal)
    g = ctx.flashcopy.core.volume(vol).geometry
    return VolumeRecovery(cp, version, pair, g.tracks)


def _volume(ctx: Context, req: FrRecov, res: CommandResult, what: str) -> None:
    plan = _plan(plan_volume, ctx, req)
    vol, pair, version, cp = plan.pair.source, plan.pair, plan.version, plan.pool
    try:
        ctx.batch(
            lambda core: core.establish(
                EstablishRequest(pair.target, vol, label=f"HSM {cp} RECOVER V{version.version:03d}")
            )
        )
    except FlashCopyError as exc:
        res.messages.append(msg.failed("RECOVERY", what, Rc.IN_THE_WAY, str(exc)))
        res.fail(Rc.IN_THE_WAY)
        return
    res.messages.append(msg.volumes_ok("RECOVERY", cp, [vol]))
    res.add("FPL115I", f"VOLUME {vol} OF COPY POOL {cp} RECOVERED FROM {version_name(version).upper()}")
    _recatalog(ctx, [vol], res)


# -- from dump tapes ---------------------------------------------------------------------------------


@dataclass
class DumpRecovery:
    pool: str
    version: BackupVersionRow | None
    copies: dict[str, DumpCopyRow]  # source -> the copy it comes back from
    refused: list[tuple[str, Refusal]]  # sources without a usable copy (copy pool form only)


def plan_from_dump(ctx: Context, req: FrRecov, checks: Checks) -> DumpRecovery:
    fd = req.from_dump
    assert fd is not None
    with ctx.catalog.session() as s:
        if req.volume:
            cp = _pool_for(s, req.volume, req.from_copypool, checks)
        else:
            assert req.copypool is not None  # the parser: FROMDUMP names a copy pool or a volume
            cp = req.copypool
            checks.require(f"copy pool {cp} is defined", rules.pool_defined(repo.copy_pool(s, cp), cp))
        pool = repo.copy_pool(s, cp)
        assert pool is not None
        version = None if fd.dump_volume else _select(s, cp, req, checks, need_dasd=False)
        if req.volume:
            sources = [req.volume]
        else:
            sources = sorted({c.source for c in repo.dump_copies(s, version.key)}) if version else []
            checks.require("the version has dump copies", rules.has_dump_copies(sources))
        picks = {src: dump.choose_dump(s, pool, version, src, fd.dump_class, fd.dump_volume) for src in sources}
    copies = {src: c.copy for src, c in picks.items() if c.copy is not None}
    refused = [(src, rules.dump_copy(c.rc, c.why)) for src, c in picks.items() if c.copy is None]
    if req.volume:
        checks.require(f"a dump copy of {req.volume} exists", refused[0][1] if refused else None)
        checks.require(
            f"{req.volume} is available", rules.volumes_available([req.volume], ctx.unavailable, ctx.volumes)
        )
    else:
        for src, r in refused:  # the copy pool form goes on without it: that volume fails (RC 8)
            checks.record(f"a dump of {src} exists", rules.volume_without_dump(src, r))
        for src, c in copies.items():
            checks.require(
                f"a dump of {src} exists on tape {c.tape}, and {src} is available",
                rules.volumes_available([src], ctx.unavailable, ctx.volumes),
            )
    return DumpRecovery(cp, version, copies, refused)


def _from_dump(ctx: Context, req: FrRecov, res: CommandResult, what: str) -> None:
    function = "RECOVERY FROM DUMP"
    plan = _plan(plan_from_dump, ctx, req)
    cp = plan.pool
    failures = [(src, r.text) for src, r in plan.refused]
    done = []
    for src, copy in plan.copies.items():
        rc, text = dump.restore_volume(ctx, copy, src)
        if rc:
            res.messages.append(msg.failed(function, f"VOLUME {src}", rc, text))
            res.fail(rc)
            failures.append((src, text))
        else:
            res.add("FPL112I", text)
            done.append(src)
    if done:
        res.messages.append(msg.volumes_ok(function, cp, done))

        def versions() -> dict[int, BackupVersionRow | None]:
            with ctx.catalog.session() as s:
                return {c.version_id: s.get(BackupVersionRow, c.version_id) for c in plan.copies.values()}

        for v in (versions()).values():
            if v is not None:
                res.add(
                    "FPL115I",
                    f"{len(done)} VOLUME(S) OF COPY POOL {cp} RECOVERED FROM THE DUMP OF {version_name(v).upper()}",
                )
        _recatalog(ctx, done, res)
    if failures and not req.volume:
        res.messages.append(msg.volumes_failed(function, cp, failures))
        res.fail(8)
