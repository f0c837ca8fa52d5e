"""The checks DFSMShsm makes before a fast replication command touches anything, answered
without running it: so a walkthrough can show *why* a command would be refused, and what to do
instead, before the operator commits. Each check uses the same rule functions the commands use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.catalog import constructs as repo
from engine.command import Action, FrBackup, FrDelete, FrRecov, Incremental, Request, parse_command
from engine.datasets.names import is_filter
from engine.hsm import dump
from engine.hsm import pool as pools
from engine.hsm.backup import _required_dump_incomplete
from engine.hsm.dsrecover import _clash, _find
from engine.hsm.recover import _frr_eligible, _incremental_ready, _verify

if TYPE_CHECKING:
    from engine.site import Site


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    label: str
    reason: str = ""
    code: str = ""  # a stable name for the rule, so callers can offer the right alternative


def precheck(site: Site, command: str | Request) -> list[Check]:
    req = parse_command(command) if isinstance(command, str) else command
    if isinstance(req, FrRecov):
        return _recov(site, req)
    if isinstance(req, FrBackup):
        return _backup(site, req)
    if isinstance(req, FrDelete):
        return _delete(site, req)
    return []


def _hold(site: Site, function: str, qualifier: str | None = None) -> Check:
    held = site.hsm.held(function, qualifier)
    if held:
        return Check(False, f"{function} is not held", f"HOLD {held} is in effect: the command would be refused "
                     f"(ARC1806E RC=50); RELEASE {held} first", "held")
    return Check(True, f"{function} is not held")


def _pool_exists(s, name: str | None) -> Check:  # noqa: ANN001
    if name and repo.copy_pool(s, name) is not None:
        return Check(True, f"copy pool {name} is defined")
    return Check(False, f"copy pool {name} is defined", f"copy pool {name} is not defined (RC=8)", "no-pool")


def _recov(site: Site, req: FrRecov) -> list[Check]:
    core = site.flashcopy.core
    out = [_hold(site, "FRRECOV", "TAPE" if req.from_dump else "DASD")]
    cp = req.copypool or req.from_copypool
    with site.catalog.session() as s:
        if req.dsnames and not cp:
            return out + _datasets(site, req)
        pc = _pool_exists(s, cp)
        out.append(pc)
        if not pc.ok:
            return out
        pool = repo.copy_pool(s, cp)
        choice = pools.choose(s, cp, req.selection, need_dasd=not req.from_dump)
        if choice.version is None:
            out.append(Check(False, f"the backup copy {req.selection.describe()} is usable", choice.why, "version"))
            return out
        v = choice.version
        out.append(Check(True, f"version {v.version:03d} ({req.selection.describe()}) is "
                         + ("on tape" if req.from_dump else f"{v.dasd_state} on DASD")))
        prs = list(repo.pairs(s, v.id))
        if req.from_dump:
            sources = [p.source for p in prs] or sorted({c.source for c in repo.dump_copies(s, v.id)})
            if req.volume:
                sources = [x for x in sources if x == req.volume]
            for src in sources:
                pick = dump.choose_dump(s, pool, v, src, req.from_dump.dump_class, req.from_dump.dump_volume)
                out.append(Check(pick.copy is not None, f"a dump of {src} exists",
                                 "" if pick.copy else f"{pick.why} (RC={pick.rc})", "" if pick.copy else "no-dump"))
            if req.dsnames:
                out += _datasets(site, req)
            return out
    if req.dsnames:
        return out + _datasets(site, req)
    if req.volume:
        mine = [p for p in prs if p.source == req.volume]
        out.append(Check(bool(mine), f"{req.volume} is a source volume of version {v.version:03d}",
                         "" if mine else f"version {v.version:03d} of {cp} has no copy of {req.volume} (RC=16)",
                         "" if mine else "not-in-version"))
        return out
    frr = _frr_eligible(core, v, prs)
    if pool.fast_reverse_restore:
        why = ("" if frr else "the version is not the newest, its background copy has completed, or its "
               "relationships have changed" if v.fcfrr else "the version was taken before fast reverse restore was allowed")
        out.append(Check(frr, f"version {v.version:03d} can be recovered by fast reverse restore", why,
                         "" if frr else "frr-not-eligible"))
    else:
        out.append(Check(False, "the copy pool allows fast reverse restore",
                         f"copy pool {cp} was not defined with fast reverse restore (FRRECOV uses regular FlashCopy)",
                         "frr-not-allowed"))
    if v.incremental and not frr:
        ready, why = _incremental_ready(core, prs)
        out.append(Check(ready, "the incremental pairs can be reversed", why, "" if ready else "incremental-copying"))
        if not ready:
            return out
    if req.verify:
        problem = _verify(core, pool.fast_reverse_restore, frr, v.incremental, prs)
        out.append(Check(problem is None, "no unexpected FlashCopy relationship on the source volumes (VERIFY(Y))",
                         problem or "", "" if problem is None else "relationships"))
    offline = [p.target for p in prs if p.target in site.unavailable]
    if offline:
        out.append(Check(False, "every target volume is available", f"unavailable: {' '.join(offline)}", "offline"))
    return out


def _datasets(site: Site, req: FrRecov) -> list[Check]:
    out = []
    names = []
    for pattern in req.dsnames:
        if is_filter(pattern):
            found = [d.name for d in site.datasets.list(pattern)]
            if not found:
                out.append(Check(False, f"{pattern} matches cataloged data sets",
                                 "filters match only cataloged data sets; give a deleted data set its full name",
                                 "no-match"))
            names += found
        else:
            names.append(pattern)
    for name in names:
        current = site.datasets.get(name)
        found = _find(site.hsm, req, name, current)
        if isinstance(found, tuple):
            rc, why = found
            out.append(Check(False, f"{name} is in a backup version", f"{why} (ARC1866I RC={rc})", "not-in-version"))
            continue
        if current is not None and not req.replace:
            out.append(Check(False, f"{name} may be overwritten", "it exists and REPLACE was not given (ARC1866I RC=22)",
                             "exists"))
            continue
        other = _clash(site.hsm, found.info, current)
        if other:
            out.append(Check(False, f"{name}'s backup-time extents are free", f"they now belong to {other} (RC=24)",
                             "moved"))
            continue
        out.append(Check(True, f"{name} can be recovered from {found.pool} version {found.version.version:03d}"))
    return out


def _backup(site: Site, req: FrBackup) -> list[Check]:
    out = [_hold(site, "FRBACKUP")]
    with site.catalog.session() as s:
        pc = _pool_exists(s, req.copypool)
        out.append(pc)
        if not pc.ok:
            return out
        pool = repo.copy_pool(s, req.copypool)
        vers = pools.backups(s, req.copypool)
        valid = [v for v in vers if v.dasd_state == "RECOVERABLE"]
        srcs = pools.sources(s, pool)
        if req.action is Action.WITHDRAW:
            ok = len(valid) > 1
            out.append(Check(ok, "another valid version remains after the withdraw",
                             "" if ok else "this is the only valid version: withdrawing it leaves nothing to recover "
                             "from; take a new backup first", "" if ok else "only-version"))
            return out
        if req.action in (Action.EXECUTE, Action.PREPARE) and pool.versions == 0 and not req.dump:
            out.append(Check(False, "the copy pool keeps DASD versions", "VERSIONS=0: only DUMPONLY is possible",
                             "versions-zero"))
        # targets: every source needs a same-size volume per version in its backup group
        need: dict[tuple[str, int], int] = {}
        for src in srcs:
            need[(src.backup_group, src.tracks)] = need.get((src.backup_group, src.tracks), 0) + max(pool.versions, 1)
        for (bg, tracks), n in need.items():
            have = sum(1 for v in repo.group_volumes(s, bg) if v.cylinders * v.tracks_per_cylinder == tracks
                       and v.online and v.volser not in site.unavailable)
            out.append(Check(have >= n, f"backup group {bg} has {n} target volume(s) of {tracks:,} tracks",
                             "" if have >= n else f"only {have} online: add same-size volumes to {bg} or vary "
                             "offline ones online (ARC1807I / ARC1806E RC=10)", "" if have >= n else "targets"))
        if req.action is Action.EXECUTE:
            if req.incremental is not None and pool.versions > 1 and not req.incremental_all:
                oldest_inc = next((v for v in vers if v.incremental), None)
                ok = oldest_inc is not None or len(valid) < pool.versions
                if not ok:
                    out.append(Check(False, "an incremental version can be refreshed",
                                     "the version that would be reused is not incremental (RC=8)", "incremental"))
            if valid and len(valid) >= max(pool.versions, 1) and req.incremental is not Incremental.FCINCREMENTAL:
                oldest = sorted(valid, key=lambda v: v.created_at)[0]
                missing = _required_dump_incomplete(s, pool, oldest)
                if missing and not req.force:
                    out.append(Check(False, f"version {oldest.version:03d} may roll off",
                                     f"its REQUIRED dump class {missing} is not complete; FORCE overrides",
                                     "required-dump"))
            if req.dump and not repo.pool_dump_classes(s, req.copypool) and not req.dump_classes:
                out.append(Check(False, "the copy pool has dump classes", "DUMP needs a dump class (RC=8)", "no-dump-class"))
    return out


def _delete(site: Site, req: FrDelete) -> list[Check]:
    with site.catalog.session() as s:
        pc = _pool_exists(s, req.copypool)
        if not pc.ok:
            return [pc]
        vers = pools.backups(s, req.copypool)
        nums = {v.version for v in vers}
        missing = [n for n in req.versions if n not in nums]
        out = [pc]
        if missing:
            out.append(Check(False, "the versions exist", f"no version {', '.join(f'{n:03d}' for n in missing)}",
                             "version"))
        return out


__all__ = ["Check", "precheck"]
