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

from typing import TYPE_CHECKING

from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, VersionPairRow
from engine.command import FrRecov
from engine.errors import FlashCopyError
from engine.flashcopy import CopyMode, EstablishRequest, FlashCopyCore, Relationship
from engine.hsm import dump
from engine.hsm import messages as msg
from engine.hsm import pool as pools
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


def _frr_eligible(core: FlashCopyCore, version: BackupVersionRow, pairs: list[VersionPairRow]) -> bool:
    if not (version.fcfrr and version.frr_eligible):
        return False
    for p in pairs:
        rel = core.find(p.relationship_id) if p.relationship_id else None
        if rel is None or rel.source != p.source or rel.target != p.target:
            return False
        if rel.mode is CopyMode.COPY and not rel.uncopied.any():
            return False
    return True


def _incremental_ready(core: FlashCopyCore, pairs: list[VersionPairRow]) -> tuple[bool, str]:
    for p in pairs:
        rel = core.find(p.relationship_id) if p.relationship_id else None
        if rel is None or not rel.incremental:
            return False, f"the incremental relationship of {p.source} no longer exists"
        if rel.uncopied.any():
            return False, (f"{rel.source} -> {rel.target} still has {rel.out_of_sync:,} tracks to copy; "
                           f"an incremental pair cannot be reversed while copying (QUERY COPYPOOL)")
    return True, ""


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
        choice = pools.choose(s, cp, req.selection, need_dasd=True)
        if choice.version is None:
            res.messages.append(msg.failed("RECOVERY", what, choice.rc, choice.why))
            res.fail(choice.rc)
            return
        version = choice.version
        pairs = repo.pairs(s, version.id)
    unavailable = [v for p in pairs for v in (p.source, p.target) if v not in svc.site.volumes]
    if unavailable:
        res.messages.append(msg.failed("RECOVERY", what, msg.RC_VOLUME_UNAVAILABLE, "volume(s) unavailable: " + ", ".join(unavailable)))
        res.fail(msg.RC_VOLUME_UNAVAILABLE)
        return

    frr = _frr_eligible(core, version, pairs)
    if version.fcfrr and version.frr_eligible and not frr:
        with svc.site.catalog.session() as s:  # recorded: from now on regular recovery (and VERIFY(N))
            v = s.get(BackupVersionRow, version.id)
            v.frr_eligible = False
            s.add(v)
            s.commit()
        res.add("FPL110I", f"VERSION {version.version:03d} IS NO LONGER ELIGIBLE FOR FAST REVERSE RESTORE (ITS RELATIONSHIPS ENDED); REGULAR RECOVERY IS USED")
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
        problem = _verify(core, pool.fast_reverse_restore, frr, incremental, pairs)
        being_dumped = sorted(p.target for p in pairs if p.target in svc.dumping)
        if frr and being_dumped:
            problem = f"target volume(s) {', '.join(being_dumped)} are being dumped to tape"
        if problem:
            res.messages.append(msg.failed("RECOVERY", what, 4, problem))
            res.add("ARC1821I", "QUERY COPYPOOL SHOWS THE RELATIONSHIPS; RECOVER WHEN THEY COMPLETE, OR USE VERIFY(N) ONCE CHECKED")
            res.fail(4)
            return

    def recover(core: FlashCopyCore) -> list[tuple[str, str]]:
        failures: list[tuple[str, str]] = []
        for p in pairs:
            try:
                if frr:
                    core.reverse(p.relationship_id, fast=True)
                elif incremental:
                    rel = core.relationship(p.relationship_id)
                    if rel.source == p.source:
                        core.reverse(rel.id)
                    else:  # already reversed by an earlier recovery: refresh it again
                        core.refresh(rel.id)
                else:
                    core.establish(EstablishRequest(p.target, p.source, label=f"HSM {cp} RECOVER V{version.version:03d}"))
            except FlashCopyError as exc:
                failures.append((p.source, str(exc)))
        return failures

    failures = await svc.flashcopy.batch(recover)
    done = sorted({p.source for p in pairs} - {f[0] for f in failures})
    if frr:
        res.add("FPL111I", f"FAST REVERSE RESTORE OF VERSION {version.version:03d}: ONLY TRACKS CHANGED SINCE THE BACKUP ARE COPIED BACK; THE VERSION IS NOW INVALID")
    with svc.site.catalog.session() as s:
        v = s.get(BackupVersionRow, version.id)
        v.recovery_incomplete = bool(failures)
        if frr:
            v.dasd_state = "FCFRRINCOMPLETE" if failures else "FAILED"
            v.frr_eligible = bool(failures)
        s.add(v)
        s.commit()
    if done:
        res.messages.append(msg.volumes_ok("RECOVERY", cp, done))
        await _recatalog(svc, done, res)
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
            choice = pools.choose(s, cp, req.selection, need_dasd=False)
            if choice.version is None:
                res.messages.append(msg.failed(function, what, choice.rc, choice.why))
                res.fail(choice.rc)
                return
            version = choice.version
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
        if src not in svc.site.volumes:
            failures.append((src, svc.site.unavailable.get(src, "unavailable")))
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
        choice = pools.choose(s, cp, req.selection, need_dasd=True)
        if choice.version is None:
            res.messages.append(msg.failed("RECOVERY", what, choice.rc, choice.why))
            res.fail(choice.rc)
            return
        pair = next((p for p in repo.pairs(s, choice.version.id) if p.source == vol), None)
        if pair is None:
            res.messages.append(msg.failed("RECOVERY", what, 16, f"{vol} was not part of version {choice.version.version:03d}"))
            res.fail(16)
            return
    try:
        await svc.flashcopy.batch(lambda core: core.establish(
            EstablishRequest(pair.target, vol, label=f"HSM {cp} RECOVER V{choice.version.version:03d}")))
    except FlashCopyError as exc:
        res.messages.append(msg.failed("RECOVERY", what, 4, str(exc)))
        res.fail(4)
        return
    res.messages.append(msg.volumes_ok("RECOVERY", cp, [vol]))
    await _recatalog(svc, [vol], res)
