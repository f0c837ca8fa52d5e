"""LIST COPYPOOL / PVOL / COPYPOOLBACKUPSTORAGEGROUP and QUERY COPYPOOL / SETSYS.

LIST output follows the DFSMShsm control data set listing layout (docs/DOMAIN.md 9.1); tokens are
shown as text and as ASCII hex (the emulator's volumes are ASCII, not EBCDIC).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from engine.catalog import constructs as repo
from engine.catalog import reads
from engine.catalog.models import BackupVersionRow, StorageGroupRow, VolumeRow
from engine.command import ListCopyPool, Query, format_token
from engine.hsm import pool as pools
from engine.hsm import rules, standing
from engine.messages import NOT_DURABLE, CommandResult, Rc
from engine.states import DasdState
from engine.visibility import EVERYTHING, Visibility, known

if TYPE_CHECKING:
    from engine.hsm.context import Context


def _iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at).astimezone().isoformat(timespec="seconds")


def _when(v: reads.Version) -> tuple[str, str]:
    if v.created_at == 0:
        return "0000/00/00", "00:00:00"
    t = dt.datetime.fromtimestamp(v.created_at)
    return f"{t:%Y/%m/%d}", f"{t:%H:%M:%S}"


def _header(ctx: Context) -> str:
    t = dt.datetime.fromtimestamp(ctx.clock())
    return (
        f"-- DFSMShsm CONTROL DATASET --COPY POOL--LISTING --- AT {t:%H:%M:%S} ON {t:%y/%m/%d} FOR SYSTEM={ctx.system}"
    )


def list_command(ctx: Context, req: ListCopyPool, res: CommandResult, seen: Visibility = EVERYTHING) -> None:
    """The listing, leaving out every copy pool `seen` hides and what holds its data (a volume or
    backup storage group named that only holds such data is refused, RC 36, and so is a name the
    site does not know when `seen` hides anything)."""
    from engine.hsm.dump import expire

    if not ctx.flashcopy.core.options.durable:
        res.add("FPL760W", NOT_DURABLE)
    expire(ctx, tidy=False)
    if req.dump_volume is not None or req.dump_class is not None or req.primary_volume is not None:
        from engine.hsm.listing_dumps import list_dumps

        list_dumps(ctx, req, res, seen)
        return
    out = res.listing
    named = req.pvol or req.backup_group
    kind = VolumeRow if req.pvol else StorageGroupRow
    if named and not seen.answers(
        seen.volume(named) if req.pvol else seen.group(named), known(ctx.catalog, kind, named)
    ):
        why = (
            rules.hidden_volume(ctx.who.user, named)
            if req.pvol
            else f"USER {ctx.who.user} IS NOT AUTHORIZED: STORAGE GROUP {named} HOLDS DATA OF A COPY POOL YOU MAY NOT LIST"
        )
        res.add("ARC1806E", f"LIST FAILED, RC={Rc.NOT_AUTHORIZED:04d} - {why}")
        res.fail(Rc.NOT_AUTHORIZED)
        return
    with ctx.catalog.session() as s:
        if req.pvol:
            row = repo.volume(s, req.pvol)
            names = repo.pools_of_group(s, row.storage_group) if row and row.storage_group else []
            out.append(f"PVOL={req.pvol} COPYPOOLS=" + (" ".join(names) if names else "NONE"))
            res.data = {"kind": "pvol", "volume": req.pvol, "copy_pools": list(names)}
            return
        if req.backup_group:
            in_use = repo.targets_in_use(s, [req.backup_group])
            group = repo.storage_group(s, req.backup_group)
            if group is None or group.type != "COPYPOOLBACKUP":
                res.add(
                    "ARC1806E", f"LIST FAILED, RC=0022 - {req.backup_group} is not a copy pool backup storage group"
                )
                res.fail(22)
                return
            out.append(f"COPYPOOLBACKUPSTORAGEGROUP={req.backup_group}")
            out.append("TARGET  STATUS   COPYPOOL                VERSION")
            targets: list[dict[str, Any]] = []
            for vol in repo.group_volumes(s, req.backup_group):
                if not seen.volume(vol.volser):
                    continue
                if vol.volser in in_use:
                    cp, vid = in_use[vol.volser]
                    ver = s.get(BackupVersionRow, vid)
                    assert ver is not None
                    label = DasdState.PREPARE if ver.dasd_state == DasdState.PREPARE else f"{ver.version:03d}"
                    out.append(f"{vol.volser:<7} {'IN USE':<8} {cp:<23} {label}")
                    targets.append(
                        {
                            "volser": vol.volser,
                            "status": "IN USE",
                            "copy_pool": cp,
                            "version": None if label == "PREPARE" else ver.version,
                        }
                    )
                else:
                    status = "ONLINE" if vol.online else "OFFLINE"
                    out.append(f"{vol.volser:<7} {status:<8} {'-':<23} -")
                    targets.append({"volser": vol.volser, "status": status, "copy_pool": None, "version": None})
            res.data = {"kind": "backup-group", "name": req.backup_group, "targets": targets}
            return
        c = s.connection()  # the listing's reads: prebuilt, no ORM objects (nothing is pending)
        names = [req.copypool] if req.copypool else [p.name for p in repo.copy_pools(s) if seen.pool(p.name)]
        if req.copypool and reads.copy_pool(c, req.copypool) is None:
            res.add("ARC1806E", f"LIST FAILED, RC=0022 - copy pool {req.copypool} is not defined")
            res.fail(22)
            return
        out.append(_header(ctx))
        listed = 0
        found: list[dict[str, Any]] = []
        res.data = {"kind": "copy-pools", "at": _iso(ctx.clock()), "copy_pools": found}
        for name in names:
            every = reads.versions(c, name)
            vers = every
            if req.select:
                vers = [v for v in vers if _selected(v, req.select)]
            if not vers and not req.copypool:
                continue
            if req.select and not vers:
                continue
            listed += 1
            out.append(f"COPYPOOL={name}")
            pool = reads.copy_pool(c, name)
            assert pool is not None
            out.append(f"ALLOWPPRCP FRB={pool.allow_pprc_frb} FRR={pool.allow_pprc_frr}")
            versions: list[dict[str, Any]] = []
            found.append(
                {
                    "name": name,
                    "allow_pprc": {"frb": pool.allow_pprc_frb, "frr": pool.allow_pprc_frr},
                    "versions": versions,
                }
            )
            if not vers:
                out.append("  NO VERSIONS")
                continue
            detail = req.copypool is not None
            out.append("VERSION VTOCENQ DATE       TIME     FASTREPLICATIONSTATE DUMPSTATE")
            chosen = _versions_to_detail(req, every, vers) if detail else set()
            counts = reads.pair_counts(c, [v.key for v in vers]) if detail else {}
            shown = [v.id for v in vers if v.id in chosen and v.dasd_state != DasdState.NONE]
            pairs = reads.pair_tuples(c, shown) if req.volumes in ("ALLVOLS", "FASTREPLICATIONVOLS") else {}
            for v in vers:
                date, time_ = _when(v)
                state = DasdState.PREPARE if v.dasd_state == DasdState.PREPARE else v.dasd_state
                number = "PREP" if v.dasd_state == DasdState.PREPARE else f"{v.version:03d}"
                out.append(f"{number:<7} {'Y' if v.vtocenq else 'N':<7} {date} {time_} {state:<20} {v.dump_state}")
                entry: dict[str, Any] = {
                    "version": None if v.dasd_state == DasdState.PREPARE else v.version,
                    "state": state,
                    "dump_state": v.dump_state,
                    "vtocenq": v.vtocenq,
                    "created": _iso(v.created_at) if v.created_at else None,
                    "token": None,
                }
                versions.append(entry)
                if v.token.rstrip(b"\0"):
                    text = v.token.rstrip(b"\0")
                    typed = "".join(chr(b) if 32 <= b < 127 else "." for b in text)  # IBM: the characters
                    out.append(f"TOKEN(C)=C'{typed}' TOKEN(H)=X'{text.hex().upper()}'")
                    entry["token"] = {"text": format_token(text), "hex": text.hex().upper()}
                if not detail:
                    continue
                out.append(
                    f"TOTAL NUM OF VOLUMES={counts.get(v.key, 0):05d},INCREMENTAL={'Y' if v.incremental else 'N'},"
                    f"CATINFO={v.catinfo},FCFRR={'Y' if v.fcfrr else 'N'},"
                    f"RECOVERYINCOMPLETE={'Y' if v.recovery_incomplete else 'N'}"
                )
                entry.update(
                    volumes=counts.get(v.key, 0),
                    incremental=v.incremental,
                    catinfo=v.catinfo,
                    fcfrr=v.fcfrr,
                    recovery_incomplete=v.recovery_incomplete,
                )
                if v.id in pairs:
                    out.extend(_pair_lines(pairs[v.id]))
                    entry["pairs"] = [
                        {"storage_group": sg, "source": src, "target": tgt} for src, tgt, sg in pairs[v.id]
                    ]
                if req.volumes == "DATASETS" and v.id in chosen:
                    rows = repo.captured(s, v.id)
                    out.append(f"DATASETS CAPTURED={len({r.name for r in rows}):05d}")
                    for r in rows:
                        out.append(f"  {r.name:<44} {r.volser} {r.first_track:>7} {r.tracks:>6}")
                    entry["datasets"] = [
                        {"name": r.name, "volser": r.volser, "first_track": r.first_track, "tracks": r.tracks}
                        for r in rows
                    ]
                if v.id in chosen or req.volumes in ("DUMPVOLS", "NOVOLS"):
                    classes = _dump_classes(c, v, req.volumes != "NOVOLS")
                    out.extend(_dump_lines(classes))
                    entry["dump_classes"] = classes
        if listed == 0 and not req.copypool:
            out.append("NO COPY POOL HAS A BACKUP VERSION" if not req.select else "NO COPY POOL MATCHES THE SELECTION")
        out.append("--- END OF -- COPY POOL -- LISTING ---")


def _versions_to_detail(req: ListCopyPool, every: list[reads.Version], listed: list[reads.Version]) -> set[int]:
    """The versions a LIST details: of those listed (after SELECT), or the one a selection
    names among every version of the pool."""
    if req.all_versions or req.volumes == "FASTREPLICATIONVOLS":
        return {v.key for v in listed}
    sel = req.selection
    if sel.given:
        found = rules.select_version(pools.backups_among(every), sel, need_dasd=False)
        return set() if isinstance(found, rules.Refusal) else {found.key}
    backups = pools.backups_among(listed)
    return {backups[0].key} if backups else set()


def _pair_lines(ps: list[tuple[str, str, str]]) -> list[str]:
    lines = []
    by_group: dict[str, list[tuple[str, str, str]]] = {}
    for p in ps:
        by_group.setdefault(p[2], []).append(p)
    lines.append("SGNAME   " + " ".join(["SOURCE - TARGET"] * min(4, max(len(ps), 1))))
    for sg, group in sorted(by_group.items()):
        for i in range(0, len(group), 4):
            chunk = " ".join(f"{src:<6} - {tgt:<6}" for src, tgt, _ in group[i : i + 4])
            lines.append(f"{(sg if i == 0 else ''):<8} {chunk}")
    return lines


def _dump_classes(c: Connection, v: reads.Version, volumes: bool) -> list[dict[str, Any]]:
    """The version's dump classes, their states and (with `volumes`) each copy's tape."""
    from engine.hsm.dump import state_of_class

    copies = reads.dump_copies(c, v.id)
    if not copies:
        return []
    required = reads.required_dump_classes(c)
    sources = reads.pair_sources(c, v.id)
    out: list[dict[str, Any]] = []
    for name in sorted({d.dump_class for d in copies}):
        mine = sorted((d for d in copies if d.dump_class == name), key=lambda d: d.source)
        out.append(
            {
                "name": name,
                "required": name in required,
                "state": state_of_class(copies, sources, name),
                "copies": [{"source": d.source, "tape": d.tape} for d in mine] if volumes else None,
            }
        )
    return out


def _dump_lines(classes: list[dict[str, Any]]) -> list[str]:
    lines = []
    for dc in classes:
        lines.append(f"DUMPCLASS={dc['name']:<8} REQUIRED={'Y' if dc['required'] else 'N'} DUMPSTATE={dc['state']}")
        mine = dc["copies"] or []
        for i in range(0, len(mine), 4):
            lines.append("  " + " ".join(f"{c['source']:<6} - {c['tape']:<6}" for c in mine[i : i + 4]))
    return lines


def _selected(v: reads.Version, select: tuple[str, str]) -> bool:
    kind, value = select
    if kind == "DUMPSTATE":
        return v.dump_state == value
    if kind == "FASTREPLICATIONSTATE":
        return v.dasd_state == value
    if kind == "INCOMPLETERECOVERY":
        return v.recovery_incomplete
    return False


def query_command(ctx: Context, req: Query, res: CommandResult) -> None:
    if req.setsys:
        opts = ctx.flashcopy.core.options
        values = ctx.setsys()
        res.data = {
            "kind": "setsys",
            "cascading": opts.cascading,
            "max_relationships": opts.max_relationships_per_track,
            "fast_replication": {
                "dataset_recovery": values.dataset_recovery,
                "fc_relation": values.fc_relation,
                "volume_pair_messages": values.volume_pair_messages,
            },
            "max_copy_pool_tasks": {
                "frbackup": values.frbackup_tasks,
                "frrecov": values.frrecov_tasks,
                "dss": values.dss_tasks,
            },
            "autodump_start": [f"{t:04d}" for t in values.autodump_start],
        }
        res.add("ARC1823I", values.arc1823i())
        res.add("ARC0638I", values.arc0638i())
        res.add(
            "FPL161I",
            f"FLASHCOPY CASCADING={'ON' if opts.cascading else 'OFF'}, "
            f"MAXRELATIONSHIPS={opts.max_relationships_per_track} PER SOURCE TRACK",
        )
        return
    core = ctx.flashcopy.core
    assert req.copypool is not None  # the parser: QUERY names SETSYS or a copy pool
    with ctx.catalog.reading() as c:
        if reads.copy_pool(c, req.copypool) is None:
            res.add("ARC1806E", f"QUERY FAILED, RC=0022 - copy pool {req.copypool} is not defined")
            res.fail(22)
            return
        vers = pools.backups_among(reads.versions(c, req.copypool))
        pairs = reads.pairs(c, [v.key for v in vers])
        volumes = reads.pool_volumes(c, req.copypool)
    any_listed = False
    active: list[dict[str, Any]] = []
    res.data = {"kind": "query", "copy_pool": req.copypool, "versions": active}
    for v in vers:
        lines = []
        rels: list[dict[str, Any]] = []
        for p in pairs[v.key]:
            rel = core.find(p.relationship_id) if p.relationship_id else None
            if rel is None:
                continue
            if v.incremental and not rel.uncopied.any():
                continue  # incremental: only pairs with an active background copy
            pct = int(100 * (1 - rel.out_of_sync / rel.length)) if rel.length else 100
            arrow = f"{rel.source} - {rel.target}"
            lines.append(f"{arrow} PCT-COMP={pct:03d}" + (" (REVERSED)" if rel.source != p.source else ""))
            rels.append(
                {
                    "source": rel.source,
                    "target": rel.target,
                    "percent_complete": pct,
                    "reversed": rel.source != p.source,
                    "mode": rel.mode.value,
                    "tracks": rel.length,
                    "tracks_to_copy": rel.out_of_sync,
                }
            )
        if lines:
            any_listed = True
            active.append({"version": v.version, "relationships": rels})
            res.add(
                "ARC1820I",
                f"THE FOLLOWING VOLUMES IN COPY POOL {req.copypool}, VERSION {v.version:03d}, "
                f"ARE IN AN ACTIVE FLASHCOPY RELATIONSHIP: " + "; ".join(lines),
            )
    owned = [p.relationship_id for ps in pairs.values() for p in ps if p.relationship_id]
    back = standing.recovering(core, volumes, owned)
    if back:  # a recovery copying back onto the pool's volumes: they are busy as much as a backup's
        any_listed = True
        lines = [
            f"{r.source} - {r.target} PCT-COMP={int(100 * (1 - r.out_of_sync / r.length)) if r.length else 100:03d}"
            for r in back
        ]
        res.add(
            "ARC1820I",
            f"THE FOLLOWING VOLUMES IN COPY POOL {req.copypool} ARE THE TARGETS OF A RECOVERY IN AN ACTIVE "
            f"FLASHCOPY RELATIONSHIP: " + "; ".join(lines),
        )
        res.data["recovering"] = [
            {"source": r.source, "target": r.target, "tracks": r.length, "tracks_to_copy": r.out_of_sync} for r in back
        ]
    if not any_listed:
        res.add("ARC1821I", f"NONE OF THE VOLUMES IN COPY POOL {req.copypool} ARE IN AN ACTIVE FLASHCOPY RELATIONSHIP")
