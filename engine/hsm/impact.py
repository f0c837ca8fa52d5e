"""What a command would do before it runs: volumes overwritten, versions that become invalid or
roll off, tracks that will move and an estimated time. Used to confirm destructive actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.catalog import constructs as repo
from engine.command import Action, FrBackup, FrDelete, FrRecov, Request, parse_command
from engine.hsm import pool as pools

if TYPE_CHECKING:
    from engine.site import Site

#: Planning rate for estimates (bytes per second): what bench.copy measures on this machine.
ESTIMATE_RATE = 1.0e9


@dataclass
class Impact:
    command: str
    copy_pool: str | None
    destructive: bool
    lines: list[str] = field(default_factory=list)
    volumes_overwritten: list[str] = field(default_factory=list)
    versions_invalidated: list[int] = field(default_factory=list)
    tracks_to_move: int = 0
    bytes_to_move: int = 0

    @property
    def seconds(self) -> float:
        return self.bytes_to_move / ESTIMATE_RATE

    def estimate(self) -> str:
        s = self.seconds
        return "instant (bitmaps only), background copy under a second" if s < 1 else (
            f"about {s:.0f} s of background copy" if s < 120 else f"about {s / 60:.0f} min of background copy")


def impact(site: Site, command: str | Request) -> Impact:
    req = parse_command(command) if isinstance(command, str) else command
    text = command if isinstance(command, str) else repr(command)
    core = site.flashcopy.core
    if isinstance(req, FrRecov) and req.copypool and not req.from_dump:
        im = Impact(text, req.copypool, True)
        with site.catalog.session() as s:
            choice = pools.choose(s, req.copypool, req.selection, need_dasd=True)
            if choice.version is None:
                im.lines.append(f"nothing: {choice.why} (the command will fail with RC {choice.rc})")
                return im
            v = choice.version
            prs = repo.pairs(s, v.id)
        frr = v.fcfrr and v.frr_eligible and all(
            (r := core.find(p.relationship_id)) is not None and r.source == p.source and r.uncopied.any() for p in prs)
        for p in prs:
            vol = core.volumes.get(p.source)
            im.volumes_overwritten.append(p.source)
            rel = core.find(p.relationship_id) if p.relationship_id else None
            if frr and rel is not None:
                n = rel.changed_src.count()
            elif v.incremental and rel is not None:
                n = (rel.changed_src | rel.changed_tgt).count()
            else:
                n = vol.tracks if vol else 0
            im.tracks_to_move += n
            im.bytes_to_move += n * (vol.geometry.track_size if vol else 0)
        how = ("fast reverse restore: only tracks changed since the backup move back" if frr else
               "reversal of the incremental pairs: changed tracks only" if v.incremental else
               "regular FlashCopy: every track of every volume is copied back")
        im.lines.append(f"recovers version {v.version:03d} of {req.copypool} by {how}")
        im.lines.append(f"overwrites {len(prs)} volume(s): {' '.join(im.volumes_overwritten)}")
        if frr:
            im.versions_invalidated.append(v.version)
            im.lines.append(f"version {v.version:03d} becomes INVALID afterwards; the other versions stay valid")
        else:
            im.lines.append(f"version {v.version:03d} stays valid; the other versions stay valid")
    elif isinstance(req, FrRecov) and (req.volume or req.from_dump):
        im = Impact(text, req.copypool or req.from_copypool, True)
        target = req.volume or f"every volume of {req.copypool}"
        vol = core.volumes.get(req.volume) if req.volume else None
        im.volumes_overwritten.append(target)
        if vol:
            im.tracks_to_move, im.bytes_to_move = vol.tracks, vol.tracks * vol.geometry.track_size
        im.lines.append(f"overwrites {target} " + ("from its dump tape" if req.from_dump else "from its DASD copy"))
    elif isinstance(req, FrRecov):
        im = Impact(text, req.from_copypool, True)
        im.lines.append(f"overwrites data set(s) {', '.join(req.dsnames)} " + ("(REPLACE)" if req.replace else "(only if they no longer exist)"))
    elif isinstance(req, FrDelete):
        im = Impact(text, req.copypool, True)
        with site.catalog.session() as s:
            vers = pools.backups(s, req.copypool)
        chosen = vers if req.all else [v for v in vers if v.version in req.versions] if req.versions else [
            next((v for v in vers if v.token.rstrip(b"\0") == (req.token or b"").rstrip(b"\0")), None)]
        nums = [v.version for v in chosen if v is not None]
        im.versions_invalidated = nums
        im.lines.append(f"deletes {req.scope.replace('ONLY', ' only').lower()} copies of version(s) "
                        + (", ".join(f"{n:03d}" for n in nums) or "none"))
    elif isinstance(req, FrBackup) and req.action is Action.WITHDRAW:
        im = Impact(text, req.copypool, True)
        with site.catalog.session() as s:
            v = next((v for v in pools.backups(s, req.copypool) if v.dasd_state == "RECOVERABLE"), None)
        if v:
            im.versions_invalidated.append(v.version)
            im.lines.append(f"withdraws version {v.version:03d}: it becomes invalid (unless an incremental copy completed)")
    elif isinstance(req, FrBackup) and req.action is Action.EXECUTE:
        im = Impact(text, req.copypool, False)
        with site.catalog.session() as s:
            pool = repo.copy_pool(s, req.copypool)
            vers = [v for v in pools.backups(s, req.copypool) if v.dasd_state in repo.DASD_STATES]
            srcs = pools.sources(s, pool) if pool else []
        valid = [v for v in vers if v.dasd_state == "RECOVERABLE"]
        failed = [v for v in vers if v.dasd_state == "FAILED"]
        if pool and not failed and len(valid) >= max(pool.versions, 1):
            oldest = sorted(valid, key=lambda v: v.created_at)[0]
            im.destructive = True
            im.versions_invalidated.append(oldest.version)
            im.lines.append(f"version {oldest.version:03d} rolls off: its DASD copy is replaced")
        im.lines.append(f"flashes {len(srcs)} volume(s) at one point in time")
        for src in srcs:
            im.tracks_to_move += src.tracks
            im.bytes_to_move += src.tracks * src.track_size
    else:
        im = Impact(text, None, False)
    im.lines.append(f"tracks to move: {im.tracks_to_move:,} ({im.bytes_to_move / 1e6:,.0f} MB); time: {im.estimate()}")
    return im
