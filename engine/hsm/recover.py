"""FRRECOV COPYPOOL and FRRECOV TOVOLUME from DASD versions.

How a copy pool version comes back (DOMAIN.md 4, 5, 6):
  * fast reverse restore when the version was made FRR-allowed and its relationships still run:
    each S->T is reversed, only tracks changed on S since the flash move back, and the version
    becomes invalid (its other versions stay valid, thanks to cascading);
  * an incremental version whose copy completed: the persistent pairs are reversed (changed
    tracks only); the version stays valid and the next FCINCREMENTAL re-reverses them;
  * otherwise a regular full FlashCopy T->S; the version stays valid.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, VersionPairRow
from engine.command import FrRecov, format_token
from engine.errors import FlashCopyError
from engine.flashcopy import CopyMode, EstablishRequest, FlashCopyCore, Relationship
from engine.hsm import dump, intent
from engine.hsm import messages as msg
from engine.hsm import pool as pools
from engine.hsm.intent import IntentKind, PairState
from engine.hsm.messages import CommandResult

if TYPE_CHECKING:
    from engine.hsm.service import FastReplication


async def frrecov(svc: FastReplication, req: FrRecov, res: CommandResult) -> None:
    qualifier = "TAPE" if req.from_dump else "DATASET" if req.dsnames else None
    hold = svc.held("FRRECOV", qualifier)
    function = "RECOVERY FROM DUMP" if req.from_dump else "DATA SET RECOVERY" if req.dsnames else "RECOVERY"
    what = (f"COPY POOL {req.copypool}" if req.copypool else f"VOLUME {req.volume}" if req.volume
            else f"DATA SET {req.dsnames[0]}" + (", ***" if len(req.dsnames) > 1 else ""))
    if hold:
        res.messages.append(msg.failed(function, what, msg.RC_HELD, f"FRRECOV is held ({hold}); RELEASE it to run this recovery"))
        res.fail(msg.RC_HELD)
        return
    dump.expire(svc)
    res.messages.append(msg.starting(function, what, svc.clock()))
    if req.dsnames:
        from engine.hsm.dsrecover import frrecov_datasets

        await frrecov_datasets(svc, req, res)
    elif req.from_dump:
        await _from_dump(svc, req, res, what)
    elif req.copypool:
        await _copy_pool(svc, req, res, what)
    else:
        await _volume(svc, req, res, what)
    res.messages.append(msg.completed(function, what, svc.clock(), res.rc, res.rc))


def _chosen(s, cp: str, req: FrRecov, res: CommandResult, function: str, what: str,  # noqa: ANN001
            need_dasd: bool) -> BackupVersionRow | None:
    """The version the request names, or None after the ARC1806E saying why there is none."""
    choice = pools.choose(s, cp, req.selection, need_dasd=need_dasd)
    if choice.version is None:
        res.messages.append(msg.failed(function, what, choice.rc, choice.why))
        res.fail(choice.rc)
    return choice.version


class Method(enum.Enum):
    """How one volume of a fast reverse restore comes back."""

    FAST = "fast reverse"  # its relationship still runs: reverse it, changed tracks only
    REGULAR = "regular"  # its background copy completed (the relationship ended): full FlashCopy
    DONE = "done"  # an earlier, partial fast reverse restore already brought it back


def frr_methods(core: FlashCopyCore, version: BackupVersionRow, pairs: list[VersionPairRow]) -> dict[str, Method] | None:
    """Per source volume, how a fast reverse restore of `version` would recover it now, derived
    from the live relationships; None when the version cannot be recovered that way (it was not
    made FRR-allowed, or no volume's relationship still runs and none was already restored).
    One volume whose copy completed keeps nothing from the others (DOMAIN.md 5)."""
    if not version.fcfrr or version.dasd_state not in ("RECOVERABLE", "FCFRRINCOMPLETE"):
        return None
    out: dict[str, Method] = {}
    for p in pairs:
        if p.state == PairState.RECOVERED.value:
            out[p.source] = Method.DONE
            continue
        rel = core.find(p.relationship_id) if p.relationship_id else None
        if rel is None:
            out[p.source] = Method.REGULAR
        elif rel.source == p.source and rel.target == p.target:
            out[p.source] = Method.FAST
        else:
            return None
    if version.dasd_state == "RECOVERABLE" and Method.FAST not in out.values():
        return None
    return out


def _frr_eligible(core: FlashCopyCore, version: BackupVersionRow, pairs: list[VersionPairRow]) -> bool:
    return frr_methods(core, version, pairs) is not None


def _incremental_ready(core: FlashCopyCore, pairs: list[VersionPairRow]) -> tuple[bool, str]:
    for p in pairs:
        rel = core.find(p.relationship_id) if p.relationship_id else None
        if rel is None or not rel.incremental:
            return False, f"the incremental relationship of {p.source} no longer exists"
        if rel.uncopied.any():
            return False, (f"{rel.source} -> {rel.target} still has {rel.out_of_sync:,} tracks to copy; "
                           f"an incremental pair cannot be reversed while copying (QUERY COPYPOOL)")
        written = rel.changed_tgt if rel.source == p.source else rel.changed_src
        if written.any():
            return False, (f"target volume {p.target} was written since the last increment ({written.count():,} tracks); "
                           f"its reversal would not restore the version's point in time (take a new FCINCREMENTAL backup "
                           f"or recover another version)")
    return True, ""


def _version_name(v: BackupVersionRow) -> str:
    return f"VERSION {v.version:03d}" + (f" (TOKEN={format_token(v.token)})" if v.token else "")


async def _copy_pool(svc: FastReplication, req: FrRecov, res: CommandResult, what: str) -> None:
    core: FlashCopyCore = svc.flashcopy.core
    cp = req.copypool
    assert cp is not None
    with svc.site.catalog.session() as s:
        pool = repo.copy_pool(s, cp)
        if pool is None:
            res.messages.append(msg.failed("RECOVERY", what, 22, f"copy pool {cp} is not defined"))
            res.fail(22)
            return
        version = _chosen(s, cp, req, res, "RECOVERY", what, need_dasd=True)
        if version is None:
            return
        pairs = repo.pairs(s, version.id)
    todo = [p for p in pairs if p.state != PairState.RECOVERED.value]
    unavailable = sorted({v for p in todo for v in (p.source, p.target) if v not in svc.site.volumes})
    if unavailable:
        res.messages.append(msg.failed("RECOVERY", what, msg.RC_VOLUME_UNAVAILABLE, "volume(s) unavailable: " + ", ".join(
            f"{v} ({svc.site.unavailable.get(v, 'not open')})" for v in unavailable)))
        res.fail(msg.RC_VOLUME_UNAVAILABLE)
        return
    methods = frr_methods(core, version, pairs)
    frr = methods is not None
    if version.dasd_state == "FCFRRINCOMPLETE" and not frr:
        res.messages.append(msg.failed("RECOVERY", what, 4, f"{_version_name(version)} was partly restored by fast reverse restore "
                                       f"and its other relationships changed; recover the remaining volumes from a dump or another version"))
        res.fail(4)
        return
    if pool.versions == 0 and not frr:
        res.messages.append(msg.failed("RECOVERY", what, msg.RC_FRR_REFUSED,
                                       f"{_version_name(version)} is a NOCOPY copy of a VERSIONS=0 copy pool; it can be recovered only by "
                                       f"fast reverse restore" + ("" if pool.fast_reverse_restore else ", which the copy pool does not allow")
                                       + "; recover from its dump copies (FRRECOV ... FROMDUMP)"))
        res.fail(msg.RC_FRR_REFUSED)
        return
    if version.fcfrr and version.dasd_state == "RECOVERABLE" and not frr:
        res.add("FPL110I", f"{_version_name(version)} IS NO LONGER ELIGIBLE FOR FAST REVERSE RESTORE (ITS RELATIONSHIPS ENDED); REGULAR RECOVERY IS USED")
    if not req.verify and frr:
        res.messages.append(msg.failed("RECOVERY", what, msg.RC_FRR_REFUSED,
                                       "VERIFY(N) is not accepted for a copy pool whose version is still eligible for fast reverse restore"))
        res.fail(msg.RC_FRR_REFUSED)
        return
    incremental = version.incremental and not frr
    if incremental:
        ready, why = _incremental_ready(core, pairs)
        if not ready:
            res.messages.append(msg.failed("RECOVERY", what, 4, why))
            res.fail(4)
            return
    if req.verify:
        problem = _verify(core, pool.fast_reverse_restore, frr, incremental, todo)
        being_dumped = sorted(p.target for p in todo if p.target in svc.dumping)
        if frr and being_dumped:
            problem = f"target volume(s) {', '.join(being_dumped)} are being dumped to tape"
        if problem:
            res.messages.append(msg.failed("RECOVERY", what, 4, problem))
            res.add("ARC1821I", "QUERY COPYPOOL SHOWS THE RELATIONSHIPS; RECOVER WHEN THEY COMPLETE, OR USE VERIFY(N) ONCE CHECKED")
            res.fail(4)
            return
    catalog = svc.site.catalog
    label = f"HSM {cp} RECOVER V{version.version:03d}"

    def regular(core: FlashCopyCore) -> list[tuple[str, str]]:
        failures: list[tuple[str, str]] = []
        for p in todo:
            try:
                if incremental:
                    rel = core.relationship(p.relationship_id)
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
            v = s.get(BackupVersionRow, version.id)
            prs = repo.pairs(s, version.id)
            now_methods = frr_methods(core, v, prs) if v is not None else None
            if now_methods is None:
                raise FlashCopyError(f"{_version_name(version)} is no longer eligible for fast reverse restore; re-issue FRRECOV")
            work = [p for p in prs if now_methods[p.source] is not Method.DONE]
            iid = intent.begin(s, IntentKind.FAST_REVERSE, cp, svc.clock(), version_id=version.id,
                               sources=[p.source for p in work])
            v.dasd_state, v.frr_eligible = "FCFRRINCOMPLETE", False  # in progress: its targets stop holding the PIT
            s.add(v)
            s.commit()
        failures: list[tuple[str, str]] = []
        done: list[str] = []
        for p in work:
            try:
                if now_methods[p.source] is Method.FAST:
                    core.reverse(p.relationship_id, fast=True)
                else:
                    core.establish(EstablishRequest(p.target, p.source, label=intent.tagged(label, iid)))
                done.append(p.source)
            except FlashCopyError as exc:
                failures.append((p.source, str(exc)))
        with catalog.session() as s:
            v = s.get(BackupVersionRow, version.id)
            intent.settle_fast_reverse(s, v, set(done))
            intent.end(s, iid)
            s.commit()
        return failures, done

    try:
        if frr:
            failures, done = await svc.flashcopy.batch(fast_reverse)
        else:
            failures = await svc.flashcopy.batch(regular)
            done = sorted({p.source for p in todo} - {f[0] for f in failures})
    except FlashCopyError as exc:
        res.messages.append(msg.failed("RECOVERY", what, 4, str(exc)))
        res.fail(4)
        return
    if frr:
        skipped = sorted(p.source for p in pairs if methods and methods.get(p.source) is Method.DONE)
        res.add("FPL111I", f"FAST REVERSE RESTORE OF {_version_name(version)}: ONLY TRACKS CHANGED SINCE THE BACKUP ARE COPIED BACK; "
                + ("THE VERSION IS NOW INVALID" if not failures else "SOME VOLUMES FAILED; THE VERSION IS FCFRRINCOMPLETE")
                + (f"; {' '.join(skipped)} WERE ALREADY RECOVERED BY AN EARLIER FRRECOV AND WERE LEFT ALONE" if skipped else ""))
    else:
        with catalog.session() as s:
            v = s.get(BackupVersionRow, version.id)
            v.recovery_incomplete = bool(failures)
            s.add(v)
            s.commit()
    if done:
        res.messages.append(msg.volumes_ok("RECOVERY", cp, sorted(done)))
        res.add("FPL115I", f"{len(done)} VOLUME(S) OF COPY POOL {cp} RECOVERED FROM {_version_name(version)}")
        await _recatalog(svc, sorted(done), res)
    if failures:
        res.messages.append(msg.volumes_failed("RECOVERY", cp, failures))
        res.fail(8)


async def _recatalog(svc: FastReplication, volumes: list[str], res: CommandResult) -> None:
    """The recovered volumes carry their backup-time VTOCs: the catalog follows them."""
    changed, unreadable = await svc.site.datasets.resync(volumes)
    if unreadable:
        res.add("FPL114I", f"NO VTOC COULD BE READ ON {' '.join(unreadable)}; THEIR CATALOG ENTRIES WERE LEFT AS THEY WERE")
    if changed:
        res.add("FPL113I", f"{len(changed)} DATA SET(S) RECATALOGED FROM THE RECOVERED VTOCS: " + " ".join(changed[:20])
                + (" ..." if len(changed) > 20 else ""))


def _verify(core: FlashCopyCore, pool_frr: bool, frr: bool, incremental: bool, pairs: list[VersionPairRow]) -> str | None:
    """DFSMShsm's VERIFY(Y) checks, before anything is touched (DOMAIN.md 4.1)."""
    version_rels = {p.relationship_id for p in pairs}
    for p in pairs:
        rels: list[Relationship] = core.outgoing(p.source) + core.incoming(p.source)
        others = [r for r in rels if r.id not in version_rels]
        if not pool_frr and others:
            r = others[0]
            return (f"source volume {p.source} is in a FlashCopy relationship ({r.source} -> {r.target}, "
                    f"{r.out_of_sync:,} tracks to copy)")
        if pool_frr and [r for r in others if not r.label.startswith("HSM ") and r.source == p.source]:
            return f"source volume {p.source} has FlashCopy targets DFSMShsm does not manage"
        if sum(1 for r in core.outgoing(p.source) if r.incremental) > 1:
            return f"source volume {p.source} has several incremental FlashCopy targets"
        if not frr and not incremental:
            mine = core.find(p.relationship_id) if p.relationship_id else None
            if mine is not None and mine.uncopied.any():
                return (f"the backup of {p.source} is still copying to {p.target} ({mine.out_of_sync:,} tracks); "
                        f"recover when it completes")
        if any(r.target == p.source for r in others):
            return f"source volume {p.source} is already the target of another relationship (a recovery still copying?)"
    return None


def _pool_of_volume(s, vol: str, from_cp: str | None) -> tuple[str | None, int, str]:
    row = repo.volume(s, vol)
    pools_of = repo.pools_of_group(s, row.storage_group) if row and row.storage_group else []
    if from_cp:
        if from_cp not in pools_of:
            return None, 38, f"{vol} is not a source volume of copy pool {from_cp}"
        return from_cp, 0, ""
    if not pools_of:
        return None, 38, f"{vol} has no fast replication backup (it is in no copy pool)"
    if len(pools_of) > 1:
        return None, 6, f"{vol} belongs to copy pools {', '.join(pools_of)}; name one with FROMCOPYPOOL"
    return pools_of[0], 0, ""


async def _from_dump(svc: FastReplication, req: FrRecov, res: CommandResult, what: str) -> None:
    fd = req.from_dump
    assert fd is not None
    function = "RECOVERY FROM DUMP"
    with svc.site.catalog.session() as s:
        if req.volume:
            cp, rc, why = _pool_of_volume(s, req.volume, req.from_copypool)
        else:
            cp, rc, why = req.copypool, 0, ""
            if repo.copy_pool(s, cp) is None:
                rc, why = 22, f"copy pool {cp} is not defined"
        if cp is None or rc:
            res.messages.append(msg.failed(function, what, rc, why))
            res.fail(rc)
            return
        pool = repo.copy_pool(s, cp)
        version = None
        if not fd.dump_volume:
            version = _chosen(s, cp, req, res, function, what, need_dasd=False)
            if version is None:
                return
        if req.volume:
            sources = [req.volume]
        else:
            sources = sorted({c.source for c in repo.dump_copies(s, version.id)}) if version else []
            if not sources:
                res.messages.append(msg.failed(function, what, 42, "the selected version has no dump copies"))
                res.fail(42)
                return
        picks = {src: dump.choose_dump(s, pool, version, src, fd.dump_class, fd.dump_volume) for src in sources}
    failures = [(src, c.why) for src, c in picks.items() if c.copy is None]
    if failures and req.volume:
        c = picks[req.volume]
        res.messages.append(msg.failed(function, what, c.rc, c.why))
        res.fail(c.rc)
        return
    done = []
    for src, c in picks.items():
        if c.copy is None:
            continue
        rc, text = await dump.restore_volume(svc, c.copy, src)
        if rc:
            res.messages.append(msg.failed(function, f"VOLUME {src}", rc, text))
            res.fail(rc)
            failures.append((src, text))
        else:
            res.add("FPL112I", text)
            done.append(src)
    if done:
        res.messages.append(msg.volumes_ok(function, cp, done))
        sources = {c.version.id: c.version for c in picks.values() if c.copy is not None and c.version is not None}
        for v in sources.values():
            res.add("FPL115I", f"{len(done)} VOLUME(S) OF COPY POOL {cp} RECOVERED FROM THE DUMP OF {_version_name(v)}")
        await _recatalog(svc, done, res)
    if failures and not req.volume:
        res.messages.append(msg.volumes_failed(function, cp, failures))
        res.fail(8)


async def _volume(svc: FastReplication, req: FrRecov, res: CommandResult, what: str) -> None:
    vol = req.volume
    assert vol is not None
    with svc.site.catalog.session() as s:
        cp, rc, why = _pool_of_volume(s, vol, req.from_copypool)
        if cp is None:
            res.messages.append(msg.failed("RECOVERY", what, rc, why))
            res.fail(rc)
            return
        version = _chosen(s, cp, req, res, "RECOVERY", what, need_dasd=True)
        if version is None:
            return
        pair = next((p for p in repo.pairs(s, version.id) if p.source == vol), None)
        pool = repo.copy_pool(s, cp)
        if pair is None:
            res.messages.append(msg.failed("RECOVERY", what, 16, f"{vol} was not part of {_version_name(version).lower()}"))
            res.fail(16)
            return
    if pair.state == PairState.RECOVERED.value:
        res.messages.append(msg.failed("RECOVERY", what, 4, f"{vol} was already restored by a fast reverse restore of "
                                       f"{_version_name(version).lower()}; its target no longer holds the backup"))
        res.fail(4)
        return
    if pool is not None and pool.versions == 0:
        res.messages.append(msg.failed("RECOVERY", what, msg.RC_FRR_REFUSED,
                                       f"{_version_name(version).lower()} is a NOCOPY copy of a VERSIONS=0 copy pool; recover {vol} "
                                       f"from its dump copy (FRRECOV TOVOLUME({vol}) FROMDUMP)"))
        res.fail(msg.RC_FRR_REFUSED)
        return
    unavailable = [v for v in (vol, pair.target) if v not in svc.site.volumes]
    if unavailable:
        res.messages.append(msg.failed("RECOVERY", what, msg.RC_VOLUME_UNAVAILABLE, "volume(s) unavailable: " + ", ".join(
            f"{v} ({svc.site.unavailable.get(v, 'not open')})" for v in unavailable)))
        res.fail(msg.RC_VOLUME_UNAVAILABLE)
        return
    try:
        await svc.flashcopy.batch(lambda core: core.establish(
            EstablishRequest(pair.target, vol, label=f"HSM {cp} RECOVER V{version.version:03d}")))
    except FlashCopyError as exc:
        res.messages.append(msg.failed("RECOVERY", what, 4, str(exc)))
        res.fail(4)
        return
    res.messages.append(msg.volumes_ok("RECOVERY", cp, [vol]))
    res.add("FPL115I", f"VOLUME {vol} OF COPY POOL {cp} RECOVERED FROM {_version_name(version)}")
    await _recatalog(svc, [vol], res)
