"""The live configuration as a site definition: what `flashpool config export` writes, what every
online change edits, and what `flashpool init --definition` accepts again.

Constructs come from the catalog as they are now; SETSYS and the dump cycle as the ARCCMDxx
commands that set them; the security setup as roles and the profiles that differ from a new
site's. (The security settings other than the share group, tokens and the audit trail are not
part of a definition.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import tomli_w
from sqlmodel import Session, select

from engine.catalog import constructs as repo
from engine.catalog import settings as site_settings
from engine.catalog.models import PermitRow, ProfileRow, RoleGrantRow, VolumeRow
from engine.geometry import EAV_MODEL, TEST_MODEL
from engine.hsm import dumpcycle, setsys
from engine.security.functions import Function
from engine.visibility import EVERYTHING, Visibility

#: the sections an online change edits; the others belong to other commands
CONSTRUCTS = ("dump_class", "storage_group", "volume", "copy_pool")


def geometry_keys(v: VolumeRow) -> dict[str, Any]:
    """A volume's size as the definition writes it (the same geometry when read back)."""
    if v.model == TEST_MODEL:
        return {"tracks": v.cylinders * v.tracks_per_cylinder, "track_size": v.track_size}
    if v.model == EAV_MODEL:
        return {"model": v.model, "cylinders": v.cylinders}
    return {"model": v.model}


def _volume_entry(v: VolumeRow, shared: dict[str, Any] | None) -> str | dict[str, Any]:
    own = geometry_keys(v)
    if own == shared and v.online:
        return v.volser
    entry: dict[str, Any] = {"volser": v.volser}
    if own != shared:
        entry.update(own)
    if not v.online:
        entry["online"] = False
    return entry


def constructs(s: Session) -> dict[str, Any]:
    """The storage groups, volumes, copy pools and dump classes, as definition tables."""
    out: dict[str, Any] = {}
    classes = []
    for dc in repo.dump_classes(s):
        t: dict[str, Any] = {"name": dc.name, "fast_replication_dump": dc.fast_replication_dump}
        if dc.retention_days is not None:
            t["retention_days"] = dc.retention_days
        t |= {"available_for_mount": dc.available_for_mount, "stack": dc.stack, "frequency": dc.frequency}
        if dc.day is not None:
            t["day"] = dc.day
        classes.append(t)
    groups = []
    for g in repo.storage_groups(s):
        vols = repo.group_volumes(s, g.name)
        shapes = [geometry_keys(v) for v in vols]
        shared = shapes[0] if shapes and all(x == shapes[0] for x in shapes) else None
        t = {"name": g.name, "type": g.type}
        if g.backup_group:
            t["backup_group"] = g.backup_group
        t |= shared or {}
        t["volumes"] = [_volume_entry(v, shared) for v in vols]
        groups.append(t)
    loose = s.exec(select(VolumeRow).where(VolumeRow.storage_group == None).order_by(VolumeRow.volser))  # noqa: E711
    extra = [_volume_entry(v, None) for v in loose.all()]
    pools = []
    for p in repo.copy_pools(s):
        links = sorted(repo.pool_dump_classes(s, p.name), key=lambda link: link.dump_class)
        t = {
            "name": p.name,
            "storage_groups": repo.pool_groups(s, p.name),
            "versions": p.versions,
            "fast_reverse_restore": p.fast_reverse_restore,
            "catalog_capture": p.catalog_capture,
            "auto_dump": p.auto_dump,
            "dump_classes": [{"name": link.dump_class, "versions": link.dump_versions} for link in links],
        }
        if p.description:
            t["description"] = p.description
        pools.append(t)
    for key, tables in (("dump_class", classes), ("storage_group", groups), ("volume", extra), ("copy_pool", pools)):
        if tables:
            out[key] = tables
    return out


def parmlib_commands(values: setsys.SetsysValues, cycle: dumpcycle.DumpCycle | None) -> list[str]:
    """SETSYS in force and the dump cycle as the ARCCMDxx commands that set them."""
    times = " ".join(f"{t:04d}" for t in values.autodump_start)
    out = [
        f"SETSYS FASTREPLICATION(DATASETRECOVERY({values.dataset_recovery}) "
        f"VOLUMEPAIRMESSAGES({'YES' if values.volume_pair_messages else 'NO'}))",
        f"SETSYS MAXCOPYPOOLTASKS(FRBACKUP({values.frbackup_tasks}) FRRECOV({values.frrecov_tasks}) "
        f"DSS({values.dss_tasks}))",
        f"SETSYS AUTODUMPSTART({times})",
    ]
    if cycle is not None:
        out.append(f"DEFINE DUMPCYCLE({cycle.days} CYCLESTARTDATE({cycle.start:%Y/%m/%d}))")
    return out


def security(s: Session) -> dict[str, Any]:
    """The roles granted and every profile a new site would not have as it is."""
    roles: dict[str, dict[str, list[str]]] = {}
    for g in s.exec(select(RoleGrantRow).order_by(RoleGrantRow.role, RoleGrantRow.kind, RoleGrantRow.name)).all():
        entry = roles.setdefault(g.role, {"users": [], "groups": []})
        entry["users" if g.kind == "USER" else "groups"].append(g.name)
    permits: dict[str, list[PermitRow]] = {}
    for pm in s.exec(select(PermitRow).order_by(PermitRow.profile, PermitRow.kind, PermitRow.name)).all():
        permits.setdefault(pm.profile, []).append(pm)
    functions = {f.value for f in Function}
    profiles = []
    for p in s.exec(select(ProfileRow).order_by(ProfileRow.name)).all():
        entries = permits.get(p.name, [])
        if p.name in functions and p.uacc == "NONE" and not entries:
            continue  # a new site makes it so
        t: dict[str, Any] = {"name": p.name, "uacc": p.uacc}
        if entries:
            t["permit"] = [{pm.kind.lower(): pm.name, "access": pm.access} for pm in entries]
        profiles.append(t)
    out: dict[str, Any] = {}
    if roles:
        out["role"] = [
            {"name": role.lower(), **{k: v for k, v in who.items() if v}} for role, who in sorted(roles.items())
        ]
    if profiles:
        out["profile"] = profiles
    return out


def live_definition(s: Session) -> dict[str, Any]:
    """The whole site definition, as `init --definition` reads it."""
    c = s.connection()
    out: dict[str, Any] = {}
    share = site_settings.read(c).share_group
    if share:
        out["site"] = {"group": share}
    out["parmlib"] = {"arccmd": parmlib_commands(setsys.read(c), dumpcycle.read(c))}
    out |= constructs(s)
    out |= security(s)
    return out


def visible(data: dict[str, Any], seen: Visibility) -> dict[str, Any]:
    """The definition as one user may read it (engine.visibility): without the copy pools it may
    not LIST, the storage groups and volumes that hold their data, and the profiles that name
    any of them."""
    if seen.everything:
        return data
    out = dict(data)
    groups = []
    for g in data.get("storage_group", []):
        if seen.group(g["name"]):
            groups.append({**g, "volumes": [v for v in g["volumes"] if seen.volume(_volser(v))]})
    tables: dict[str, list[Any]] = {
        "storage_group": groups,
        "volume": [v for v in data.get("volume", []) if seen.volume(_volser(v))],
        "copy_pool": [p for p in data.get("copy_pool", []) if seen.pool(p["name"])],
        "profile": [p for p in data.get("profile", []) if seen.text(p["name"])],
    }
    for key, kept in tables.items():
        out.pop(key, None)
        if kept:
            out[key] = kept
    return out


def _volser(entry: str | dict[str, Any]) -> str:
    return entry if isinstance(entry, str) else str(entry["volser"])


def to_toml(data: dict[str, Any], site: str, at: float, seen: Visibility = EVERYTHING) -> str:
    """The definition as TOML, headed by where and when it was taken (and, for a user who may
    not LIST every copy pool, that it leaves them out)."""
    when = dt.datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M:%S")
    head = (
        f"# flashpool site definition: the live configuration of {site}, exported {when}\n"
        "# `flashpool init --definition FILE` creates a site like it; `flashpool config apply FILE` makes\n"
        "# a site's constructs what it says.\n"
    )
    if not seen.everything:
        head += (
            "# It leaves out the copy pools you may not LIST, the storage groups and volumes holding their\n"
            "# data and the profiles naming them: it is not the whole site, and applied to it, it would\n"
            "# take away what it leaves out.\n"
        )
    return head + "\n" + tomli_w.dumps(visible(data, seen))


__all__ = [
    "CONSTRUCTS",
    "constructs",
    "geometry_keys",
    "live_definition",
    "parmlib_commands",
    "security",
    "to_toml",
    "visible",
]
