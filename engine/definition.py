"""The site definition: storage groups, volumes, copy pools and dump classes, from TOML.

Every mistake an administrator can make in it gets its own clear error, listing all problems
at once, before anything is created.

    [[dump_class]]
    name = "ONSITE"
    fast_replication_dump = "REQUIRED"   # or OPTIONAL
    retention_days = 14                  # omit for NOLIMIT
    frequency = 7                        # days between automatic dumps to it (0-999)
    day = 1                              # optional: only on this day of the dump cycle

    [[storage_group]]
    name = "DB0ADATA"
    type = "POOL"
    backup_group = "DB0ABK"
    model = "3390-1"                     # or tracks = 300 (+ track_size) for a small demo device
    volumes = ["DB0A01", "DB0A02"]

    [[storage_group]]
    name = "DB0ABK"
    type = "COPYPOOLBACKUP"
    model = "3390-1"
    volumes = ["BK0A01", "BK0A02", "BK0A03", "BK0A04"]

    [[copy_pool]]
    name = "DSN$DB0A$DB"
    storage_groups = ["DB0ADATA"]
    versions = 2
    fast_reverse_restore = true
    dump_classes = [{ name = "ONSITE", versions = 2 }]

    [site]
    group = "stgadmin"                   # optional: share the site with this group (else owner only)

    [parmlib]                            # ARCCMDxx: the SETSYS and DEFINE DUMPCYCLE commands it starts with
    arccmd = ["SETSYS FASTREPLICATION(DATASETRECOVERY(PREFERRED))", "SETSYS AUTODUMPSTART(0100 0300 0500)",
              "DEFINE DUMPCYCLE(NNNNNNY CYCLESTARTDATE(2026/11/29))"]

    [[role]]                             # who may do what (engine/security): role bundles ...
    name = "operator"                    # monitor | operator | administrator | security
    users = ["alice"]
    groups = ["stgops"]

    [[profile]]                          # ... and FACILITY profiles with their access lists
    name = "STGADMIN.ARC.FRRECOV.DSN$DB0A$DB"
    uacc = "NONE"
    permit = [{ group = "db2adm", access = "READ" }]

The user who creates the site is its first security administrator.
"""

from __future__ import annotations

import datetime as dt
import grp
import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.catalog.models import CopyPoolDumpClassRow, CopyPoolGroupRow, CopyPoolRow, VolumeRow
from engine.command import CommandSyntaxError, Define, Setsys, parse_command
from engine.errors import FlashpoolError, InvalidGeometry, InvalidVolser
from engine.geometry import TRACK_SIZE, Geometry, custom_geometry, geometry_for, validate_volser
from engine.hsm import setsys
from engine.hsm.dumpclass import DumpClassDef
from engine.names import COPY_POOL, DUMP_CLASS, STORAGE_GROUP, NameRule
from engine.security.access import Access, Kind, Permit, valid_profile_name
from engine.security.functions import Role

MAX_VERSIONS = 85
MAX_GROUPS_PER_POOL = 256
MAX_POOLS_PER_GROUP = 50
MAX_DUMP_CLASSES = 5


class DefinitionError(FlashpoolError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "the site definition has "
            + (f"{len(problems)} problems:\n  - " if len(problems) > 1 else "a problem: ")
            + "\n  - ".join(problems)
        )


@dataclass(frozen=True, slots=True)
class VolumeDef:
    volser: str
    geometry: Geometry
    online: bool = True

    def row(self, group: str | None, image: str) -> VolumeRow:
        """The catalog row of this volume, in `group`, its image at `image` (relative to the site)."""
        geo = self.geometry
        return VolumeRow(
            volser=self.volser,
            model=geo.model,
            cylinders=geo.cylinders,
            tracks_per_cylinder=geo.tracks_per_cylinder,
            track_size=geo.track_size,
            image=image,
            storage_group=group,
            online=self.online,
        )


@dataclass(frozen=True, slots=True)
class StorageGroupDef:
    name: str
    type: str  # POOL | COPYPOOLBACKUP
    volumes: tuple[VolumeDef, ...]
    backup_group: str | None = None


@dataclass(frozen=True, slots=True)
class CopyPoolDef:
    name: str
    storage_groups: tuple[str, ...]
    versions: int = 2
    fast_reverse_restore: bool = False
    catalog_capture: str = "N"
    auto_dump: bool = False
    dump_classes: tuple[tuple[str, int], ...] = ()  # (class, dump versions)
    description: str = ""

    def onto(self, row: CopyPoolRow | None) -> CopyPoolRow:
        """The catalog row (a new one when None) with these attributes (not its state: the next
        version number, a BACKUPSTORAGEGROUP override)."""
        row = row or CopyPoolRow(name=self.name)
        row.versions = self.versions
        row.fast_reverse_restore = self.fast_reverse_restore
        row.catalog_capture = self.catalog_capture
        row.auto_dump = self.auto_dump
        row.description = self.description
        return row

    def links(self) -> list[CopyPoolGroupRow | CopyPoolDumpClassRow]:
        """Its storage groups, in order, and its dump classes, as catalog rows."""
        groups = [
            CopyPoolGroupRow(copy_pool=self.name, storage_group=g, position=i)
            for i, g in enumerate(self.storage_groups)
        ]
        classes = [
            CopyPoolDumpClassRow(copy_pool=self.name, dump_class=c, dump_versions=n) for c, n in self.dump_classes
        ]
        return [*groups, *classes]


@dataclass(frozen=True, slots=True)
class RoleDef:
    role: Role
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProfileDef:
    name: str
    uacc: Access = Access.NONE
    permits: tuple[Permit, ...] = ()


@dataclass(frozen=True, slots=True)
class Parmlib:
    """What ARCCMDxx's commands set: SETSYS in force and the dump cycle (days, start or None:
    the day the site is created)."""

    commands: tuple[str, ...] = ()
    setsys: setsys.SetsysValues = field(default_factory=setsys.SetsysValues)
    dump_cycle: tuple[str, dt.date | None] | None = None


@dataclass(frozen=True, slots=True)
class Definition:
    storage_groups: tuple[StorageGroupDef, ...] = ()
    copy_pools: tuple[CopyPoolDef, ...] = ()
    dump_classes: tuple[DumpClassDef, ...] = ()
    extra_volumes: tuple[VolumeDef, ...] = field(default=())  # volumes in no storage group
    share_group: str | None = None  # [site] group: whose members may connect to the server's socket
    roles: tuple[RoleDef, ...] = ()
    profiles: tuple[ProfileDef, ...] = ()
    parmlib: Parmlib = field(default_factory=Parmlib)

    def group(self, name: str) -> StorageGroupDef:
        return next(g for g in self.storage_groups if g.name == name)


# -- shape: every key and its type (and the sizes a volume can have), checked before any meaning
# is read; the ranges DFSMShsm gives meaning to (VERSIONS, retention, stacking) are checked with it

_INT = "an integer"
_STR = "a string"
_BOOL = "true or false"
_NAMES = "a list of names"
_VOLS = "a list of volsers or volume tables"
_CLASSES = "a list of dump class names or { name, versions } tables"
_PERMITS = "a list of { user | group, access } tables"
_COMMANDS = "a list of HSM commands"

#: 3390 and DFSMShsm limits: cylinders of the largest EAV, tracks of such a volume, a track
MAX_TRACKS = 1_182_006 * 15
MAX_TRACK_SIZE = 1 << 20

_SHAPES: dict[str, dict[str, tuple[str, tuple[int, int] | None]]] = {
    "dump_class": {
        "name": (_STR, None),
        "fast_replication_dump": (_STR, None),
        "retention_days": (_INT, None),
        "available_for_mount": (_BOOL, None),
        "stack": (_INT, None),
        "frequency": (_INT, None),
        "day": (_INT, None),
    },
    "storage_group": {
        "name": (_STR, None),
        "type": (_STR, None),
        "backup_group": (_STR, None),
        "model": (_STR, None),
        "cylinders": (_INT, (1, 1_182_006)),
        "tracks": (_INT, (1, MAX_TRACKS)),
        "track_size": (_INT, (1, MAX_TRACK_SIZE)),
        "volumes": (_VOLS, None),
    },
    "volume": {
        "volser": (_STR, None),
        "model": (_STR, None),
        "cylinders": (_INT, (1, 1_182_006)),
        "tracks": (_INT, (1, MAX_TRACKS)),
        "track_size": (_INT, (1, MAX_TRACK_SIZE)),
        "online": (_BOOL, None),
    },
    "copy_pool": {
        "name": (_STR, None),
        "storage_groups": (_NAMES, None),
        "versions": (_INT, None),
        "fast_reverse_restore": (_BOOL, None),
        "catalog_capture": (_STR, None),
        "auto_dump": (_BOOL, None),
        "dump_classes": (_CLASSES, None),
        "description": (_STR, None),
    },
    "role": {"name": (_STR, None), "users": (_NAMES, None), "groups": (_NAMES, None)},
    "profile": {"name": (_STR, None), "uacc": (_STR, None), "permit": (_PERMITS, None)},
}
_PERMIT_ENTRY: dict[str, tuple[str, tuple[int, int] | None]] = {
    "user": (_STR, None),
    "group": (_STR, None),
    "access": (_STR, None),
}
_DUMP_CLASS_ENTRY = {"name": (_STR, None), "versions": (_INT, (1, 100))}
#: the single-table sections: [site] and [parmlib]
_SINGLE: dict[str, dict[str, tuple[str, tuple[int, int] | None]]] = {
    "site": {"group": (_STR, None)},
    "parmlib": {"arccmd": (_COMMANDS, None)},
}


def _is(value: object, kind: str) -> bool:
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _STR:
        return isinstance(value, str)
    if kind == _BOOL:
        return isinstance(value, bool)
    return isinstance(value, list)


def _known(keys: Iterable[str]) -> str:
    """Keys as the definition file writes them, quoted: a message shown in upper case keeps them."""
    return ", ".join(repr(k) for k in keys)


def _check_table(
    table: object, shape: dict[str, tuple[str, tuple[int, int] | None]], where: str, problems: list[str]
) -> None:
    if not isinstance(table, dict):
        problems.append(f"{where}: must be a table ({{ key = value, ... }}), not {table!r}")
        return
    for key, value in table.items():
        if key not in shape:
            problems.append(f"{where}: unknown key {key!r} (known: {_known(shape)})")
            continue
        kind, bounds = shape[key]
        if not _is(value, kind):
            problems.append(f"{where}.{key}: must be {kind}, not {value!r}")
        elif bounds is not None and not bounds[0] <= value <= bounds[1]:
            problems.append(f"{where}.{key}: must be {bounds[0]:,} to {bounds[1]:,}, not {value:,}")
        elif kind in (_NAMES, _COMMANDS) and not all(isinstance(v, str) for v in value):
            problems.append(f"{where}.{key}: must be {kind}, not {value!r}")
        elif kind == _VOLS:
            for i, v in enumerate(value):
                if not isinstance(v, str):
                    _check_table(v, _SHAPES["volume"], f"{where}.{key}[{i}]", problems)
        elif kind == _CLASSES:
            for i, v in enumerate(value):
                if not isinstance(v, str):
                    _check_table(v, _DUMP_CLASS_ENTRY, f"{where}.{key}[{i}]", problems)
        elif kind == _PERMITS:
            for i, v in enumerate(value):
                _check_table(v, _PERMIT_ENTRY, f"{where}.{key}[{i}]", problems)


def shape_problems(data: object) -> list[str]:
    """Every key known, every value of its type and range, each problem with its TOML location."""
    if not isinstance(data, dict):
        return [
            "a site definition is a TOML document of [[storage_group]], [[copy_pool]], [[dump_class]], [[volume]], "
            "[[role]] and [[profile]] tables, and [site] and [parmlib]"
        ]
    problems: list[str] = []
    for section, value in data.items():
        if section in _SINGLE:
            _check_table(value, _SINGLE[section], f"[{section}]", problems)
        elif section not in _SHAPES:
            problems.append(f"unknown section {section!r} (known: {_known(sorted([*_SHAPES, *_SINGLE]))})")
        elif not isinstance(value, list):
            problems.append(f"{section}: must be written [[{section}]] (a list of tables), not {type(value).__name__}")
        else:
            for i, table in enumerate(value):
                _check_table(table, _SHAPES[section], f"{section}[{i + 1}]", problems)
    return problems


def load_definition(path: str | Path) -> Definition:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise DefinitionError([f"the definition file {p} does not exist"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError([f"{p} is not valid TOML: {exc}"]) from None
    return parse_definition(data)


def parse_definition(data: dict[str, Any]) -> Definition:
    problems = shape_problems(data)
    if problems:  # what follows reads meaning, and trusts the shape
        raise DefinitionError(problems)

    classes: list[DumpClassDef] = []
    for i, raw in enumerate(data.get("dump_class", [])):
        where = f"dump_class #{i + 1}"
        name = _name(raw, where, DUMP_CLASS, problems)
        dc = DumpClassDef(
            name,
            str(raw.get("fast_replication_dump", "OPTIONAL")).upper(),
            raw.get("retention_days"),
            bool(raw.get("available_for_mount", True)),
            raw.get("stack", 1),
            raw.get("frequency", 7),
            raw.get("day"),
        )
        problems += dc.problems()
        if any(c.name == name for c in classes):
            problems.append(f"dump class {name} is defined more than once")
        classes.append(dc)

    groups: list[StorageGroupDef] = []
    seen_vols: dict[str, str] = {}
    for i, raw in enumerate(data.get("storage_group", [])):
        where = f"storage_group #{i + 1}"
        name = _name(raw, where, STORAGE_GROUP, problems)
        typ = str(raw.get("type", "")).upper().replace(" ", "")
        if typ not in ("POOL", "COPYPOOLBACKUP"):
            problems.append(f"storage group {name}: type is POOL or COPYPOOLBACKUP, not {raw.get('type')!r}")
        vols = tuple(_volumes(raw, f"storage group {name}", seen_vols, name, problems))
        bg = raw.get("backup_group")
        if not raw.get("volumes"):
            problems.append(f"storage group {name} has no volumes")
        if typ == "POOL" and not bg:
            problems.append(
                f"storage group {name} is a POOL group without a backup_group (copy pool backup storage group)"
            )
        if typ == "COPYPOOLBACKUP" and bg:
            problems.append(f"storage group {name} is a COPYPOOLBACKUP group and cannot name a backup_group")
        groups.append(StorageGroupDef(name, typ, vols, str(bg).upper() if bg else None))
    extra = tuple(_volumes({"volumes": data.get("volume", [])}, "[[volume]]", seen_vols, None, problems))

    by_name = {g.name: g for g in groups}
    for dup in twice(g.name for g in groups):
        problems.append(f"storage group {dup} is defined more than once")
    for g in groups:
        if g.type == "POOL" and g.backup_group:
            bg = by_name.get(g.backup_group)
            if bg is None:
                problems.append(f"storage group {g.name} names backup group {g.backup_group}, which is not defined")
            elif bg.type != "COPYPOOLBACKUP":
                problems.append(
                    f"storage group {g.name} names {g.backup_group} as its backup group, but it is a {bg.type} group"
                )

    class_names = {c.name for c in classes}
    pools: list[CopyPoolDef] = []
    pool_count: dict[str, int] = {}
    for i, raw in enumerate(data.get("copy_pool", [])):
        where = f"copy_pool #{i + 1}"
        name = _name(raw, where, COPY_POOL, problems)
        sgs = tuple(str(s).upper() for s in raw.get("storage_groups", []))
        if not 1 <= len(sgs) <= MAX_GROUPS_PER_POOL:
            problems.append(f"copy pool {name} needs 1 to {MAX_GROUPS_PER_POOL} storage groups, has {len(sgs)}")
        for sg in twice(sgs):
            problems.append(f"copy pool {name} names storage group {sg} twice")
        for sg in dict.fromkeys(sgs):
            named = by_name.get(sg)
            if named is None:
                problems.append(f"copy pool {name} names storage group {sg}, which is not defined")
            elif named.type != "POOL":
                problems.append(f"copy pool {name} names {sg}, a {named.type} group; a copy pool holds POOL groups")
            pool_count[sg] = pool_count.get(sg, 0) + 1
        versions = raw.get("versions", 2)
        if not (isinstance(versions, int) and 0 <= versions <= MAX_VERSIONS):
            problems.append(f"copy pool {name}: VERSIONS is 0 to {MAX_VERSIONS}, not {versions!r}")
            versions = 0
        cap = str(raw.get("catalog_capture", "N")).upper()
        if cap not in ("N", "P", "R"):
            problems.append(f"copy pool {name}: catalog_capture is N, P or R, not {cap}")
        dcs = []
        for dc in raw.get("dump_classes", []):
            dcn = str(dc.get("name", "") if isinstance(dc, dict) else dc).upper()
            dv = dc.get("versions", 1) if isinstance(dc, dict) else 1
            if dcn not in class_names:
                problems.append(f"copy pool {name} names dump class {dcn}, which is not defined")
            dcs.append((dcn, int(dv)))
        for dcn in twice(c for c, _ in dcs):
            problems.append(f"copy pool {name} names dump class {dcn} twice")
        if len(dcs) > MAX_DUMP_CLASSES:
            problems.append(f"copy pool {name} has {len(dcs)} dump classes; at most {MAX_DUMP_CLASSES}")
        pools.append(
            CopyPoolDef(
                name,
                sgs,
                versions,
                bool(raw.get("fast_reverse_restore", False)),
                cap,
                bool(raw.get("auto_dump", False)),
                tuple(dcs),
                str(raw.get("description", "")),
            )
        )
    for dup in twice(p.name for p in pools):
        problems.append(f"copy pool {dup} is defined more than once")
    for sg, n in pool_count.items():
        if n > MAX_POOLS_PER_GROUP:
            problems.append(f"storage group {sg} is in {n} copy pools; at most {MAX_POOLS_PER_GROUP}")

    share = data.get("site", {}).get("group")
    if share is not None:
        problems += _group_problems(share)
    roles = _roles(data.get("role", []), problems)
    profiles = _profiles(data.get("profile", []), problems)
    parmlib = parse_parmlib(data.get("parmlib", {}).get("arccmd", []), problems)
    defn = Definition(tuple(groups), tuple(pools), tuple(classes), extra, share, roles, profiles, parmlib)
    if not problems:
        problems += capacity_problems(defn)
    if problems:
        raise DefinitionError(problems)
    return defn


def parse_parmlib(commands: list[str], problems: list[str], today: dt.date | None = None) -> Parmlib:
    """ARCCMDxx: each command through the shared parser; SETSYS and DEFINE DUMPCYCLE only (a dump
    class is a [[dump_class]] table), each with the rules the command has online."""
    from engine.hsm import dumpcycle  # its catalog side imports the repository, which needs nothing of this

    values = setsys.SetsysValues()
    cycle: tuple[str, dt.date | None] | None = None
    for i, text in enumerate(commands):
        where = f"[parmlib].arccmd[{i}]"
        try:
            req = parse_command(text)
        except CommandSyntaxError as exc:
            problems.append(f"{where}: {exc.message_id} {exc}")
            continue
        if isinstance(req, Setsys):
            values, notes = setsys.changed(values, req)
            problems += [f"{where}: {code} {note}" for code, note in notes]
        elif isinstance(req, Define) and req.dump_class is None and req.dump_cycle is not None:
            why = dumpcycle.problem(req.dump_cycle, req.cycle_start, today or dt.date.today())
            if why:
                problems.append(f"{where}: {why}")
            cycle = (req.dump_cycle, req.cycle_start)
        else:
            problems.append(
                f"{where}: ARCCMD holds SETSYS and DEFINE DUMPCYCLE commands (a dump class is a [[dump_class]] "
                f"table), not {text.split()[0].upper() if text.split() else 'an empty line'}"
            )
    return Parmlib(tuple(commands), values, cycle)


def _roles(raw: list[dict[str, Any]], problems: list[str]) -> tuple[RoleDef, ...]:
    out = []
    for i, r in enumerate(raw):
        try:
            role = Role.named(str(r.get("name", "")))
        except ValueError as exc:
            problems.append(f"role[{i + 1}].name: {exc}")
            continue
        if not r.get("users") and not r.get("groups"):
            problems.append(f"role[{i + 1}] ({role.value.lower()}) names no users and no groups")
        out.append(RoleDef(role, tuple(r.get("users", ())), tuple(r.get("groups", ()))))
    return tuple(out)


def _profiles(raw: list[dict[str, Any]], problems: list[str]) -> tuple[ProfileDef, ...]:
    out: list[ProfileDef] = []
    for i, p in enumerate(raw):
        where = f"profile[{i + 1}]"
        name = str(p.get("name", "")).upper()
        why = valid_profile_name(name)
        if why:
            problems.append(f"{where}.name: {why}")
        if any(o.name == name for o in out):
            problems.append(f"profile {name} is defined more than once")
        try:
            uacc = Access.named(str(p.get("uacc", "NONE")))
        except ValueError as exc:
            problems.append(f"{where}.uacc: {exc}")
            uacc = Access.NONE
        permits = []
        for j, e in enumerate(p.get("permit", [])):
            at = f"{where}.permit[{j}]"
            if ("user" in e) == ("group" in e):
                problems.append(f"{at}: names either a user or a group")
                continue
            try:
                access = Access.named(str(e.get("access", "READ")))
            except ValueError as exc:
                problems.append(f"{at}.access: {exc}")
                continue
            kind = Kind.USER if "user" in e else Kind.GROUP
            permits.append(Permit(kind, str(e.get("user", e.get("group"))), access))
        out.append(ProfileDef(name, uacc, tuple(permits)))
    return tuple(out)


def _group_problems(name: str) -> list[str]:
    """The group must exist, and this user must be able to give files to it (be root or in it)."""
    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        return [f"[site].group: there is no group {name!r} on this system"]
    if os.geteuid() != 0 and gid not in os.getgroups() and gid != os.getegid():
        return [f"[site].group: you are not a member of group {name!r}, so the site cannot be shared with it"]
    return []


def capacity_problems(defn: Definition) -> list[str]:
    """Each backup group must hold VERSIONS same-size targets for every source backing up to it."""
    problems = []
    need: dict[str, dict[tuple[int, int], int]] = {}
    for pool in defn.copy_pools:
        for sg in pool.storage_groups:
            g = defn.group(sg)
            for v in g.volumes:
                key = (v.geometry.tracks, v.geometry.track_size)
                per = need.setdefault(g.backup_group or "", {})
                per[key] = per.get(key, 0) + max(pool.versions, 1)
    for bg_name, per_size in need.items():
        bg = defn.group(bg_name)
        for (tracks, size), n in per_size.items():
            have = sum(1 for v in bg.volumes if (v.geometry.tracks, v.geometry.track_size) == (tracks, size))
            if have < n:
                problems.append(
                    f"backup group {bg_name} is too small: it needs {n} volumes of {tracks:,} tracks "
                    f"(VERSIONS x sources) and has {have}"
                )
    return problems


def twice(names: Iterable[str]) -> list[str]:
    """The names given more than once, each once, in the order they first repeat."""
    seen: set[str] = set()
    out: list[str] = []
    for n in names:
        if n in seen and n not in out:
            out.append(n)
        seen.add(n)
    return out


def _name(raw: dict[str, Any], where: str, rule: NameRule, problems: list[str]) -> str:
    name = str(raw.get("name", "")).upper()
    if not rule.fits(name):
        problems.append(f"{where}: {rule.problem(raw.get('name'))}")
    return name or where


def _volumes(
    raw: dict[str, Any], where: str, seen: dict[str, str], group: str | None, problems: list[str]
) -> list[VolumeDef]:
    out = []
    for item in raw.get("volumes", []):
        spec = item if isinstance(item, dict) else {"volser": item}
        try:
            volser = validate_volser(str(spec.get("volser", "")))
        except InvalidVolser as exc:
            problems.append(f"{where}: {exc}")
            continue
        here = group or "the volume list"
        if volser in seen:
            other = seen[volser]
            problems.append(
                f"volume {volser} is listed twice in {here}"
                if other == here
                else f"volume {volser} is in {other} and {here}; a volume belongs to one storage group"
            )
            continue
        seen[volser] = here
        sizes = ("model", "cylinders", "tracks", "track_size")
        # a volume table that gives a size gives all of it; else the group's size is the volume's
        merged = spec if any(k in spec for k in sizes) else {**{k: raw[k] for k in sizes if k in raw}, **spec}
        try:
            if "tracks" in merged:
                g = custom_geometry(int(merged["tracks"]), int(merged.get("track_size", TRACK_SIZE)))
            else:
                g = geometry_for(str(merged.get("model", "3390-1")), merged.get("cylinders"))
        except (InvalidGeometry, ValueError) as exc:
            problems.append(f"{where}, volume {volser}: {exc}")
            continue
        out.append(VolumeDef(volser, g, bool(spec.get("online", True))))
    return out
