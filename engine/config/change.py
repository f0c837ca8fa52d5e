"""An online change of the site's constructs, and what it does to the site definition.

Every change is an edit of the live definition (`engine.config.export`): the edited definition
is then checked by the very rules `flashpool init` applies (`parse_definition`), so a change is
valid online exactly when a site could be created that way. The storage administrator's verbs
are ISMF's: define, alter, delete; a storage group's volumes are added and removed.
"""

from __future__ import annotations

import copy
import enum
import tomllib
from dataclasses import dataclass, field
from typing import Any

from engine.definition import twice
from engine.errors import FlashpoolError


class ConfigOp(enum.Enum):
    ADD_VOLUMES = "add-volume"  # to a storage group: new images, or volumes in no group
    REMOVE_VOLUMES = "remove-volume"  # from a storage group: they stay, in no group
    DELETE_VOLUMES = "delete-volume"  # volumes in no group, and their images
    DEFINE_GROUP = "define-group"
    ALTER_GROUP = "alter-group"  # its copy pool backup storage group
    DELETE_GROUP = "delete-group"  # its volumes stay, in no group
    DEFINE_POOL = "define-pool"
    ALTER_POOL = "alter-pool"
    DELETE_POOL = "delete-pool"
    DELETE_DUMP_CLASS = "delete-dump-class"  # (DEFINE DUMPCLASS defines and alters one)
    APPLY = "apply"  # a whole site definition: the constructs become what it says


@dataclass(frozen=True, slots=True)
class Shape:
    """The size of new volumes (nothing given: like the storage group's volumes)."""

    model: str = ""
    cylinders: int | None = None
    tracks: int | None = None
    track_size: int | None = None

    def keys(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.model:
            out["model"] = self.model
        if self.cylinders is not None:
            out["cylinders"] = self.cylinders
        if self.tracks is not None:
            out["tracks"] = self.tracks
        if self.track_size is not None:
            out["track_size"] = self.track_size
        return out


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """One change. For ALTER_POOL, None (or an empty `storage_groups`) leaves an attribute as it is."""

    op: ConfigOp
    name: str = ""  # the storage group, copy pool or dump class
    volumes: tuple[str, ...] = ()
    shape: Shape = field(default_factory=Shape)
    group_type: str = ""  # DEFINE_GROUP: POOL | COPYPOOLBACKUP
    backup_group: str | None = None  # DEFINE_GROUP / ALTER_GROUP
    storage_groups: tuple[str, ...] = ()
    versions: int | None = None
    fast_reverse_restore: bool | None = None
    catalog_capture: str | None = None
    auto_dump: bool | None = None
    dump_classes: tuple[str, ...] | None = None  # CLASS or CLASS:VERSIONS
    description: str | None = None
    definition: str = ""  # APPLY: the site definition (TOML)

    def describe(self) -> str:
        """The change as the activity log and the audit trail show it."""
        op = self.op
        if op is ConfigOp.APPLY:
            return f"CONFIG APPLY ({len(self.definition.encode()):,} BYTES OF DEFINITION)"
        words = [f"CONFIG {op.value.upper()}"]
        if self.name:
            words.append(self.name.upper())
        words += [v.upper() for v in self.volumes]
        attrs = {
            "TYPE": self.group_type,
            "BACKUPGROUP": self.backup_group,
            "STORAGEGROUPS": ",".join(self.storage_groups),
            "VERSIONS": self.versions,
            "FRR": None if self.fast_reverse_restore is None else ("YES" if self.fast_reverse_restore else "NO"),
            "CATALOGCAPTURE": self.catalog_capture,
            "AUTODUMP": None if self.auto_dump is None else ("YES" if self.auto_dump else "NO"),
            "DUMPCLASSES": None if self.dump_classes is None else ",".join(self.dump_classes),
            "DESCRIPTION": None if self.description is None else repr(self.description),
            **{k.upper(): v for k, v in self.shape.keys().items()},
        }
        words += [f"{k}({v})" for k, v in attrs.items() if v not in (None, "")]
        return " ".join(words)


class ChangeError(FlashpoolError):
    """A change that cannot even be made to the definition (names what is not there)."""


def _find(tables: list[dict[str, Any]], name: str, what: str) -> dict[str, Any]:
    for t in tables:
        if str(t.get("name", "")).upper() == name:
            return t
    raise ChangeError(f"{what} {name} is not defined")


def _volser(entry: object) -> str:
    return str(entry.get("volser", "") if isinstance(entry, dict) else entry).upper()


def _geometry_of(group: dict[str, Any], entry: object) -> dict[str, Any]:
    keys = ("model", "cylinders", "tracks", "track_size")
    merged = {k: group[k] for k in keys if k in group}
    if isinstance(entry, dict):
        merged |= {k: entry[k] for k in keys if k in entry}
    return merged


def _dump_classes(specs: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for spec in specs:
        name, _, n = spec.partition(":")
        if n and not n.strip().isdigit():
            raise ChangeError(f"dump class {spec!r}: write CLASS or CLASS:VERSIONS")
        out.append({"name": name.strip().upper(), "versions": int(n) if n else 1})
    return out


def edited(live: dict[str, Any], change: ConfigChange) -> dict[str, Any]:
    """The live definition with the change made (nothing checked here but that what it names is
    there: `parse_definition` judges the result)."""
    data = copy.deepcopy(live)
    op, name = change.op, change.name.upper()
    groups: list[dict[str, Any]] = data.setdefault("storage_group", [])
    pools: list[dict[str, Any]] = data.setdefault("copy_pool", [])
    loose: list[Any] = data.setdefault("volume", [])
    wanted = [v.upper() for v in change.volumes]
    for v in twice(wanted):
        raise ChangeError(f"volume {v} is given twice")
    if op is ConfigOp.APPLY:
        try:
            new = tomllib.loads(change.definition)
        except tomllib.TOMLDecodeError as exc:
            raise ChangeError(f"the definition is not valid TOML: {exc}") from None
        return new  # its other sections are compared with the site's (engine.config.plan)
    if op is ConfigOp.ADD_VOLUMES:
        group = _find(groups, name, "storage group")
        vols = group.setdefault("volumes", [])
        present = {_volser(e) for e in vols}
        for v in wanted:
            if v in present:
                raise ChangeError(f"volume {v} is in storage group {name} already: nothing to add")
            spare = next((e for e in loose if _volser(e) == v), None)
            if spare is not None:  # a volume in no storage group joins it, as it is
                loose.remove(spare)
                entry: Any = {"volser": v, **_geometry_of({}, spare)}
                if isinstance(spare, dict) and "online" in spare:
                    entry["online"] = spare["online"]
            elif change.shape.keys():
                entry = {"volser": v, **change.shape.keys()}
            elif _geometry_of(group, None):
                entry = v  # the group's size
            elif vols:
                entry = {"volser": v, **_geometry_of(group, vols[0])}
            else:
                raise ChangeError(
                    f"storage group {name} has no volumes to take the size of: give the new volumes' size"
                )
            vols.append(entry)
    elif op is ConfigOp.REMOVE_VOLUMES:
        group = _find(groups, name, "storage group")
        vols = group.get("volumes", [])
        for v in wanted:
            entry = next((e for e in vols if _volser(e) == v), None)
            if entry is None:
                raise ChangeError(f"volume {v} is not in storage group {name}")
            vols.remove(entry)
            loose.append(_loose(group, entry))
    elif op is ConfigOp.DELETE_VOLUMES:
        for v in wanted:
            entry = next((e for e in loose if _volser(e) == v), None)
            if entry is None:
                owner = next((g["name"] for g in groups if any(_volser(e) == v for e in g.get("volumes", []))), None)
                raise ChangeError(
                    f"volume {v} is in storage group {owner}: remove it from the group first"
                    if owner
                    else f"volume {v} is not defined"
                )
            loose.remove(entry)
    elif op is ConfigOp.DEFINE_GROUP:
        if any(str(g.get("name", "")).upper() == name for g in groups):
            raise ChangeError(f"storage group {name} is already defined (alter it, or add volumes to it)")
        table: dict[str, Any] = {"name": name, "type": change.group_type.upper()}
        if change.backup_group:
            table["backup_group"] = change.backup_group.upper()
        table |= change.shape.keys()
        table["volumes"] = list(wanted)
        groups.append(table)
    elif op is ConfigOp.ALTER_GROUP:
        group = _find(groups, name, "storage group")
        if change.backup_group is None:
            raise ChangeError("alter-group changes the copy pool backup storage group: give it")
        group["backup_group"] = change.backup_group.upper()
    elif op is ConfigOp.DELETE_GROUP:
        group = _find(groups, name, "storage group")
        _not_in_use(f"storage group {name}", "is used by copy pool(s)", _naming(pools, "storage_groups", name))
        backed = [str(g.get("name", "")).upper() for g in groups if str(g.get("backup_group", "")).upper() == name]
        _not_in_use(f"storage group {name}", "is the backup group of storage group(s)", backed, "give them another one")
        groups.remove(group)
        loose += [_loose(group, e) for e in group.get("volumes", [])]
    elif op is ConfigOp.DEFINE_POOL:
        if any(str(p.get("name", "")).upper() == name for p in pools):
            raise ChangeError(f"copy pool {name} is already defined (alter it)")
        table = {"name": name, "storage_groups": [g.upper() for g in change.storage_groups]}
        _pool_attributes(table, change)
        pools.append(table)
    elif op is ConfigOp.ALTER_POOL:
        table = _find(pools, name, "copy pool")
        if change.storage_groups:
            table["storage_groups"] = [g.upper() for g in change.storage_groups]
        _pool_attributes(table, change)
    elif op is ConfigOp.DELETE_POOL:
        pools.remove(_find(pools, name, "copy pool"))
    elif op is ConfigOp.DELETE_DUMP_CLASS:
        classes: list[dict[str, Any]] = data.setdefault("dump_class", [])
        dump_class = _find(classes, name, "dump class")
        _not_in_use(f"dump class {name}", "is used by copy pool(s)", _naming(pools, "dump_classes", name))
        classes.remove(dump_class)
    return {k: v for k, v in data.items() if v != []}


def _naming(pools: list[dict[str, Any]], key: str, name: str) -> list[str]:
    """The copy pools whose `key` (storage_groups, dump_classes) names `name`."""
    return [
        str(p.get("name", "")).upper()
        for p in pools
        if any(str(e.get("name", "") if isinstance(e, dict) else e).upper() == name for e in p.get(key, []))
    ]


def _not_in_use(what: str, how: str, users: list[str], then: str = "remove it from them") -> None:
    """A construct that goes may not be named by another: the refusal says so (the definition
    would only see the other naming something not defined)."""
    if users:
        raise ChangeError(f"{what} {how} {', '.join(users)}: {then} first")


def _loose(group: dict[str, Any], entry: object) -> dict[str, Any]:
    """A volume that leaves its storage group keeps its size and state, in no group."""
    out = {"volser": _volser(entry), **_geometry_of(group, entry)}
    if isinstance(entry, dict) and "online" in entry:
        out["online"] = entry["online"]
    return out


def _pool_attributes(table: dict[str, Any], change: ConfigChange) -> None:
    if change.versions is not None:
        table["versions"] = change.versions
    if change.fast_reverse_restore is not None:
        table["fast_reverse_restore"] = change.fast_reverse_restore
    if change.catalog_capture is not None:
        table["catalog_capture"] = change.catalog_capture.upper()
    if change.auto_dump is not None:
        table["auto_dump"] = change.auto_dump
    if change.dump_classes is not None:
        table["dump_classes"] = _dump_classes(change.dump_classes)
    if change.description is not None:
        table["description"] = change.description


__all__ = ["ChangeError", "ConfigChange", "ConfigOp", "Shape", "edited"]
