"""What an online change of the constructs does, and whether it may: the dry run `flashpool
config ... --dry-run` prints and the console's preview shows, and the work `apply` carries out.

The change is made to the live definition and the result judged by `parse_definition` (the
rules of `flashpool init`); then the site itself is asked what the definition cannot know: a
volume that leaves its storage group or goes must hold no version, dump copy, relationship or
(going) data set; a copy pool or dump class that goes must have no versions or dump copies left;
a volume's size and a storage group's type never change. What takes effect later is said with
the change: storage group changes at the next FRBACKUP, and the versions that a lowered VERSIONS
rolls off at the next FRBACKUP, one by one, never silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w
from sqlmodel import Session, col, select

from engine.catalog import constructs as repo
from engine.catalog.models import (
    BackupVersionRow,
    DataSetExtentRow,
    DumpCopyRow,
    IntentRow,
    ProfileRow,
    VersionPairRow,
    VolumeRow,
)
from engine.config import export
from engine.config.change import ChangeError, ConfigChange, ConfigOp, edited
from engine.definition import (
    CopyPoolDef,
    Definition,
    DefinitionError,
    StorageGroupDef,
    VolumeDef,
    parse_definition,
)
from engine.geometry import Geometry
from engine.hsm import backup, dumpcycle, rules
from engine.hsm.define import describe as describe_class
from engine.hsm.dumpclass import DumpClassDef
from engine.hsm.rules import version_name
from engine.states import DasdState, DumpState

if TYPE_CHECKING:
    from engine.hsm.context import Context

VOLUME_DIR = "volumes"


@dataclass(frozen=True, slots=True)
class RollOff:
    """The versions of a copy pool the next FRBACKUP rolls off once the change is made."""

    copy_pool: str
    versions: tuple[int, ...]
    blocked_by: str = ""  # a REQUIRED dump class one of them lacks: that FRBACKUP needs FORCE


@dataclass(frozen=True, slots=True)
class ConfigPlan:
    """The preview of a change: what it changes now, what follows later, why it may not run."""

    change: str
    steps: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    roll_offs: tuple[RollOff, ...] = ()
    images_created: tuple[str, ...] = ()  # volsers whose new images the change creates
    images_deleted: tuple[str, ...] = ()  # volsers whose images it deletes
    digest: str = ""  # the live configuration and the change: apply(expect=digest) runs only this

    @property
    def allowed(self) -> bool:
        return not self.problems


@dataclass
class Work:
    """What `apply` writes, in one transaction."""

    definition: Definition
    classes: list[DumpClassDef] = field(default_factory=list)  # new or changed
    classes_gone: list[str] = field(default_factory=list)
    groups: list[StorageGroupDef] = field(default_factory=list)  # new, or with a new backup group
    groups_gone: list[str] = field(default_factory=list)
    volumes_new: list[tuple[VolumeDef, str | None]] = field(default_factory=list)
    volumes_moved: list[tuple[str, str | None]] = field(default_factory=list)  # volser -> its group now
    volumes_online: list[tuple[str, bool]] = field(default_factory=list)
    volumes_gone: list[str] = field(default_factory=list)
    pools: list[CopyPoolDef] = field(default_factory=list)  # new or changed
    pools_gone: list[str] = field(default_factory=list)
    dump_states: set[str] = field(default_factory=set)  # copy pools whose versions' DUMPSTATE is computed again


@dataclass
class _Draft:
    steps: list[str] = field(default_factory=list)
    effects: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    roll_offs: list[RollOff] = field(default_factory=list)


def prepare(ctx: Context, change: ConfigChange) -> tuple[ConfigPlan, Work | None]:
    """The plan of `change` against the site as it is now (blocking; the caller serialises it
    with every command when it is to be applied)."""
    with ctx.catalog.session() as s:
        live = export.live_definition(s)
        digest = hashlib.sha256(
            "\0".join([tomli_w.dumps(live), change.describe(), change.definition]).encode()
        ).hexdigest()
        text = change.describe()
        try:
            new = edited(live, change)
        except ChangeError as exc:
            return ConfigPlan(text, problems=(str(exc),), digest=digest), None
        draft = _Draft()
        if change.op is ConfigOp.APPLY:
            draft.problems += _other_sections(live, new)
        try:
            defn = parse_definition({k: new[k] for k in export.CONSTRUCTS if k in new})
        except DefinitionError as exc:
            before = _problems_now(live)
            return (
                ConfigPlan(
                    text,
                    problems=tuple(
                        draft.problems
                        + [p + (" (the site has this problem already)" if p in before else "") for p in exc.problems]
                    ),
                    digest=digest,
                ),
                None,
            )
        work = Work(defn)
        _dump_classes(ctx, s, defn, work, draft)
        _groups(s, defn, work, draft)
        _volumes(ctx, s, defn, work, draft)
        _pools(s, defn, work, draft)
    plan = ConfigPlan(
        text,
        tuple(draft.steps),
        tuple(draft.effects),
        tuple(draft.problems),
        tuple(draft.roll_offs),
        tuple(v.volser for v, _ in work.volumes_new),
        tuple(work.volumes_gone),
        digest,
    )
    return plan, work


def _problems_now(live: dict[str, Any]) -> set[str]:
    try:
        parse_definition({k: live[k] for k in export.CONSTRUCTS if k in live})
    except DefinitionError as exc:
        return set(exc.problems)
    return set()


def _other_sections(live: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """A definition applied may carry the sections other commands own: each must say what the
    site has (config changes the constructs; `flashpool security`, SETSYS and DEFINE DUMPCYCLE
    change the rest)."""
    owners = {
        "site": "flashpool security set share-group",
        "parmlib": "SETSYS and DEFINE DUMPCYCLE",
        "role": "flashpool security grant / revoke",
        "profile": "flashpool security define / permit",
    }
    out = []
    for section, owner in owners.items():
        if section not in new:
            continue
        try:
            theirs = parse_definition({section: new[section]})
            ours = parse_definition({section: live[section]} if section in live else {})
        except DefinitionError as exc:
            out += exc.problems
            continue
        if _section(theirs, section) != _section(ours, section):
            out.append(
                f"[{section}] differs from the site's: config changes storage groups, volumes, copy pools and dump "
                f"classes; change it with {owner}, or leave the section out"
            )
    return out


def _section(d: Definition, section: str) -> object:
    if section == "site":
        return d.share_group
    if section == "parmlib":
        return d.parmlib.setsys, d.parmlib.dump_cycle
    if section == "role":
        return sorted((r.role.value, sorted(r.users), sorted(r.groups)) for r in d.roles)
    return sorted((p.name, p.uacc, sorted(p.permits, key=str)) for p in d.profiles)


# -- the constructs, one kind at a time ------------------------------------------------------------


def _dump_classes(ctx: Context, s: Session, defn: Definition, work: Work, draft: _Draft) -> None:
    cycle = dumpcycle.read(s.connection())
    rows = {r.name: r for r in repo.dump_classes(s)}
    users = _pools_using_class(s)
    for dc in defn.dump_classes:
        row = rows.get(dc.name)
        day = dumpcycle.day_problem(cycle, dc.day)
        if day:
            draft.problems.append(f"dump class {dc.name}: {day}")
        if row is None:
            work.classes.append(dc)
            draft.steps.append(f"dump class {describe_class(dc)} is defined")
            continue
        was = DumpClassDef.of_row(row)
        if was == dc:
            continue
        work.classes.append(dc)
        draft.steps.append(f"dump class {dc.name}: {describe_class(was)} becomes {describe_class(dc)}")
        if was.retention_days != dc.retention_days:
            draft.effects.append(
                f"dump class {dc.name}: the new retention applies to dump copies made from now on; those made keep theirs"
            )
        if was.fast_replication_dump != dc.fast_replication_dump:
            work.dump_states |= set(users.get(dc.name, ()))
    wanted = {dc.name for dc in defn.dump_classes}
    for name in sorted(set(rows) - wanted):
        copies = s.exec(select(DumpCopyRow).where(DumpCopyRow.dump_class == name)).all()
        if copies:
            draft.problems.append(
                f"dump class {name} holds {len(copies)} dump copies: delete them (FRDELETE ... DUMPONLY "
                f"DUMPCLASS({name})) or let them expire first"
            )
        work.classes_gone.append(name)
        draft.steps.append(f"dump class {name} is deleted")


def _pools_using_class(s: Session) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pool, classes in repo.dump_classes_by_pool(s).items():
        for c in classes:
            out.setdefault(c, []).append(pool)
    return out


def _groups(s: Session, defn: Definition, work: Work, draft: _Draft) -> None:
    rows = {g.name: g for g in repo.storage_groups(s)}
    users = repo.pools_by_group(s)
    for g in defn.storage_groups:
        row = rows.get(g.name)
        if row is None:
            work.groups.append(g)
            draft.steps.append(
                f"storage group {g.name} ({g.type}"
                + (f", backed up to {g.backup_group}" if g.backup_group else "")
                + f") is defined with {len(g.volumes)} volume(s)"
            )
            continue
        if row.type != g.type:
            draft.problems.append(
                f"storage group {g.name} is a {row.type} group; a storage group's type does not change "
                f"(delete it and define it again)"
            )
        if (row.backup_group or None) != g.backup_group:
            work.groups.append(g)
            draft.steps.append(
                f"storage group {g.name}: copy pool backup storage group {row.backup_group} becomes {g.backup_group}"
            )
            pools = ", ".join(users.get(g.name, [])) or "no copy pool"
            draft.effects.append(
                f"the next FRBACKUP of {pools} takes new targets for {g.name}'s volumes from {g.backup_group}; "
                f"versions taken already keep their targets in {row.backup_group} until they roll off"
            )
    wanted = {g.name for g in defn.storage_groups}
    for name in sorted(set(rows) - wanted):
        work.groups_gone.append(name)
        draft.steps.append(f"storage group {name} is deleted (its volumes stay, in no storage group)")


def _volumes(ctx: Context, s: Session, defn: Definition, work: Work, draft: _Draft) -> None:
    rows = {v.volser: v for v in s.exec(select(VolumeRow)).all()}
    wanted: dict[str, tuple[VolumeDef, str | None]] = {
        v.volser: (v, g.name) for g in defn.storage_groups for v in g.volumes
    } | {v.volser: (v, None) for v in defn.extra_volumes}
    types = {g.name: g.type for g in defn.storage_groups}
    users = _pools_of_groups(defn)
    leaving: list[str] = []
    for volser, (vdef, group) in wanted.items():
        row = rows.get(volser)
        if row is None:
            image = Path(ctx.root) / VOLUME_DIR / f"{volser}.img"
            if image.exists() or image.is_symlink():
                draft.problems.append(
                    f"volume {volser}: {VOLUME_DIR}/{volser}.img exists, but no volume of the catalog uses it "
                    "(left by an interrupted change?); move it out of the site first"
                )
            work.volumes_new.append((vdef, group))
            draft.steps.append(
                f"volume {volser} ({vdef.geometry.describe()}, a new empty image of "
                f"{vdef.geometry.image_size / 1e6:,.1f} MB) joins {group or 'no storage group'}"
            )
            _joins(volser, group, types, users, draft)
            continue
        geo = Geometry(row.model, row.cylinders, row.tracks_per_cylinder, row.track_size)
        if geo != vdef.geometry:
            draft.problems.append(
                f"volume {volser} is a {geo.describe()}; a volume's size does not change "
                f"(add a new volume of {vdef.geometry.describe()})"
            )
        if row.storage_group != group:
            work.volumes_moved.append((volser, group))
            if row.storage_group is not None:
                leaving.append(volser)
            draft.steps.append(
                f"volume {volser} leaves {row.storage_group} and joins {group}"
                if row.storage_group and group
                else f"volume {volser} leaves {row.storage_group} (it stays, in no storage group)"
                if row.storage_group
                else f"volume {volser} joins {group}"
            )
            _joins(volser, group, types, users, draft)
            if group and types.get(group) == "COPYPOOLBACKUP":
                held = _datasets_on(s, [volser])
                if held:
                    draft.problems.append(
                        f"volume {volser} holds data set(s) {', '.join(held[volser][:3])}: as a target of the "
                        f"backup storage group {group} it would be overwritten by the next FRBACKUP"
                    )
        if row.online != vdef.online:
            work.volumes_online.append((volser, vdef.online))
            draft.steps.append(f"volume {volser} is {'online' if vdef.online else 'offline'} (for target selection)")
    gone = sorted(set(rows) - set(wanted))
    work.volumes_gone = gone
    for volser in gone:
        draft.steps.append(f"volume {volser} and its image {rows[volser].image} are deleted")
    for volser, why in _held(ctx, s, [*leaving, *gone]).items():
        draft.problems.append(f"volume {volser} cannot leave its storage group: it {why}")
    for volser, names in _datasets_on(s, gone).items():
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        draft.problems.append(f"volume {volser} cannot be deleted: data set(s) {', '.join(names[:3])}{more} live on it")


def _joins(volser: str, group: str | None, types: dict[str, str], users: dict[str, list[str]], draft: _Draft) -> None:
    if group is None:
        return
    pools = ", ".join(users.get(group, [])) or "no copy pool yet"
    if types.get(group) == "COPYPOOLBACKUP":
        draft.effects.append(f"{volser} is a target for the next FRBACKUP of the copy pools backed up to {group}")
    else:
        draft.effects.append(
            f"the next FRBACKUP of {pools} backs up {volser} too; versions taken already do not hold it"
        )


def _pools_of_groups(defn: Definition) -> dict[str, list[str]]:
    """The copy pools that back up to, or are made of, each storage group."""
    out: dict[str, list[str]] = {}
    for p in defn.copy_pools:
        for sg in p.storage_groups:
            out.setdefault(sg, []).append(p.name)
            bg = next((g.backup_group for g in defn.storage_groups if g.name == sg), None)
            if bg:
                out.setdefault(bg, []).append(p.name)
    return {g: sorted(set(ps)) for g, ps in out.items()}


def _held(ctx: Context, s: Session, volsers: Iterable[str]) -> dict[str, str]:
    """What keeps each volume where it is: a version (as source or target), a dump copy of one,
    a FlashCopy relationship."""
    wanted = set(volsers)
    if not wanted:
        return {}
    out: dict[str, str] = {}
    pairs = s.exec(
        select(VersionPairRow).where(col(VersionPairRow.source).in_(wanted) | col(VersionPairRow.target).in_(wanted))
    ).all()
    ids = list({p.version_id for p in pairs})
    rows = {v.key: v for v in s.exec(select(BackupVersionRow).where(col(BackupVersionRow.id).in_(ids))).all()}
    for p in pairs:
        v = rows.get(p.version_id)
        if v is None:
            continue
        holds_target = v.dasd_state in (*repo.DASD_STATES, DasdState.PREPARE)  # a dump-only version's target is free
        for volser, role in ((p.source, "source"), (p.target, "target")):
            if volser in wanted and volser not in out and (role == "source" or holds_target):
                out[volser] = f"is the {role} of {version_name(v)} of copy pool {v.copy_pool}"
    copies = s.exec(select(DumpCopyRow).where(col(DumpCopyRow.source).in_(wanted))).all()
    for d in copies:
        out.setdefault(d.source, f"has dump copies (class {d.dump_class}, tape {d.tape})")
    core = ctx.flashcopy.core
    for volser in sorted(wanted - set(out)):
        rels = [*core.incoming(volser), *core.outgoing(volser)] if volser in core.volumes else []
        if rels:
            r = rels[0]
            out[volser] = f"is in FlashCopy relationship {r.id} ({r.source} -> {r.target})"
    return out


def _datasets_on(s: Session, volsers: Iterable[str]) -> dict[str, list[str]]:
    wanted = list(volsers)
    if not wanted:
        return {}
    out: dict[str, list[str]] = {}
    q = select(DataSetExtentRow.volser, DataSetExtentRow.name).where(col(DataSetExtentRow.volser).in_(wanted))
    for volser, name in s.exec(q).all():
        names = out.setdefault(volser, [])
        if name not in names:
            names.append(name)
    return out


def _pools(s: Session, defn: Definition, work: Work, draft: _Draft) -> None:
    rows = {p.name: p for p in repo.copy_pools(s)}
    groups = repo.groups_by_pool(s)
    classes = {p: {link.dump_class: link.dump_versions for link in repo.pool_dump_classes(s, p)} for p in rows}
    for p in defn.copy_pools:
        row = rows.get(p.name)
        if row is None:
            work.pools.append(p)
            draft.steps.append(
                f"copy pool {p.name} is defined: VERSIONS({p.versions}), storage groups {', '.join(p.storage_groups)}"
            )
            continue
        was = CopyPoolDef(
            row.name,
            tuple(groups.get(row.name, [])),
            row.versions,
            row.fast_reverse_restore,
            row.catalog_capture,
            row.auto_dump,
            tuple(sorted(classes[row.name].items())),
            row.description,
        )
        now = CopyPoolDef(**{**_fields(p), "dump_classes": tuple(sorted(p.dump_classes))})
        if was == now:
            continue
        work.pools.append(p)
        for name, old, new in _differences(was, now):
            draft.steps.append(f"copy pool {p.name}: {name} {old} becomes {new}")
        if was.versions != now.versions:
            _roll_offs(s, row.name, was.versions, now.versions, draft)
        if was.storage_groups != now.storage_groups:
            draft.effects.append(
                f"the next FRBACKUP of {p.name} backs up the volumes of {', '.join(now.storage_groups)}; versions "
                "taken already recover the volumes they were taken of"
            )
        if was.dump_classes != now.dump_classes:
            work.dump_states.add(p.name)
            draft.effects.append(f"the dump state of {p.name}'s versions is judged by its new dump classes from now on")
        if (was.fast_reverse_restore, was.catalog_capture) != (now.fast_reverse_restore, now.catalog_capture):
            draft.effects.append(
                f"FASTREVERSERESTORE and CATALOG CAPTURE apply to {p.name}'s versions from its next FRBACKUP"
            )
    wanted = {p.name for p in defn.copy_pools}
    for name in sorted(set(rows) - wanted):
        held = repo.versions(s, name)
        if held:
            draft.problems.append(
                f"copy pool {name} has {len(held)} version(s) (DASD, dump or PREPARE): "
                f"FRDELETE COPYPOOL({name}) ALL BOTH first"
            )
        if s.exec(select(IntentRow).where(IntentRow.copy_pool == name)).first() is not None:
            draft.problems.append(
                f"copy pool {name} has an interrupted command still to finish (its next command finishes it)"
            )
        work.pools_gone.append(name)
        draft.steps.append(f"copy pool {name} is deleted")
        named = [
            r.name
            for r in s.exec(select(ProfileRow)).all()
            if r.name.upper().endswith("." + name) and r.name.upper().startswith("STGADMIN.")
        ]
        if named:
            draft.effects.append(
                f"the profiles naming {name} stay ({', '.join(named)}): delete them with flashpool security delete"
            )


def _fields(p: CopyPoolDef) -> dict[str, Any]:
    return {f: getattr(p, f) for f in CopyPoolDef.__slots__}


def _differences(was: CopyPoolDef, now: CopyPoolDef) -> list[tuple[str, str, str]]:
    def show(field_name: str, value: object) -> str:
        if field_name == "dump_classes":
            return ", ".join(f"{c}({n})" for c, n in value) or "none"  # type: ignore[attr-defined]
        if field_name == "storage_groups":
            return ", ".join(value)  # type: ignore[arg-type]
        if isinstance(value, bool):
            return "YES" if value else "NO"
        return repr(value) if field_name == "description" else str(value)

    names = {
        "storage_groups": "storage groups",
        "versions": "VERSIONS",
        "fast_reverse_restore": "FASTREVERSERESTORE",
        "catalog_capture": "CATALOG CAPTURE",
        "auto_dump": "AUTODUMP",
        "dump_classes": "dump classes",
        "description": "description",
    }
    out = []
    for f, label in names.items():
        a, b = getattr(was, f), getattr(now, f)
        if a != b:
            out.append((label, show(f, a), show(f, b)))
    return out


def _roll_offs(s: Session, pool: str, old: int, new: int, draft: _Draft) -> None:
    """The versions the next FRBACKUP rolls off under the new VERSIONS, said before it runs."""
    vers = repo.versions(s, pool)
    gone = backup.rolled_off_next(vers, new)
    row = repo.copy_pool(s, pool)
    assert row is not None
    blocked = ""
    for v in gone:
        blocked = rules.required_dump_incomplete(s, row, v) or ""
        if blocked:
            break
    draft.roll_offs.append(RollOff(pool, tuple(v.version for v in gone), blocked))
    if new < old and len(gone) > len(backup.rolled_off_next(vers, old)):
        listed = ", ".join(version_name(v) for v in gone)
        draft.effects.append(
            f"VERSIONS {old} -> {new}: the next FRBACKUP of {pool} rolls off {listed}"
            + (" (their dump copies stay)" if any(v.dump_state != DumpState.NONE for v in gone) else "")
            + (f"; it is refused without FORCE while REQUIRED dump class {blocked} is incomplete" if blocked else "")
        )
    elif new < old:
        draft.effects.append(
            f"VERSIONS {old} -> {new}: {pool} has no more valid versions than that; the next FRBACKUP rolls off "
            + (", ".join(version_name(v) for v in gone) if gone else "nothing")
        )
    elif new == 0 or old == 0:
        draft.effects.append(
            f"VERSIONS {old} -> {new}: "
            + (
                "FRBACKUP takes NOCOPY versions that live on as dump copies"
                if new == 0
                else "FRBACKUP copies every track"
            )
        )


__all__ = ["ConfigPlan", "RollOff", "Work", "prepare"]
