"""SETSYS for fast replication, with IBM's defaults, kept in the catalog (`site_setting`,
`setsys.*` keys) and shown by QUERY SETSYS in IBM's messages (ARC1823I, ARC0638I).

* `FASTREPLICATION(DATASETRECOVERY(PREFERRED | REQUIRED | NONE))`: how FRRECOV DSNAME copies
  when the command says nothing (IBM's default NONE: a traditional copy).
* `FASTREPLICATION(FCRELATION(EXTENT | FULL))`: flashpool keeps FULL, deliberately: its volumes
  may hold data outside data sets (a database's own space), which an extent-level relationship
  would leave out of the point in time. EXTENT is answered FPL160W and not applied.
* `FASTREPLICATION(VOLUMEPAIRMESSAGES(YES | NO))`: YES makes FRBACKUP say which target it chose
  for each source (ARC1809I).
* `MAXCOPYPOOLTASKS(FRBACKUP(n) FRRECOV(n) DSS(n))`: FRBACKUP and FRRECOV commands that run at
  the same time (each on its own copy pool; the others wait their turn), and the volume pairs
  copied in the background at the same time (the copiers, at most DSS; the engine's own
  copier count is the lower bound it starts from). IBM's defaults 15, 15, 24.
* `AUTODUMPSTART(hhmm1 hhmm2 hhmm3)`: automatic dump's window: it starts at hhmm1 (0: never),
  not after hhmm2 (0: any time that day), no new volume after hhmm3 (0: until done).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlmodel import col

from engine.catalog.models import SiteSettingRow
from engine.command import Setsys

PREFIX = "setsys."


@dataclass(frozen=True, slots=True)
class SetsysValues:
    dataset_recovery: str = "NONE"  # PREFERRED | REQUIRED | NONE
    fc_relation: str = "FULL"  # FULL only (see the module's docstring)
    volume_pair_messages: bool = False
    frbackup_tasks: int = 15
    frrecov_tasks: int = 15
    dss_tasks: int = 24
    autodump_start: tuple[int, int, int] = (0, 0, 0)  # hhmm; hhmm1 0: automatic dump does not start

    def arc1823i(self) -> str:
        return (
            f"MAXCOPYPOOL(FRBACKUP TASKS={self.frbackup_tasks}, FRRECOV TASKS={self.frrecov_tasks}, "
            f"DSS TASKS={self.dss_tasks}), FASTREPLICATION(DATASETRECOVERY={self.dataset_recovery}, "
            f"FCRELATION={self.fc_relation}, VOLUMEPAIRMESSAGES={'YES' if self.volume_pair_messages else 'NO'})"
        )

    def arc0638i(self) -> str:
        a, b, c = (f"{t // 100:02d}:{t % 100:02d}" for t in self.autodump_start)
        return f"ADSTART=({a} {b} {c})"


_FIELDS = [f.name for f in fields(SetsysValues)]


def read(c: Connection) -> SetsysValues:
    found: dict[str, Any] = {}
    keys = [PREFIX + f for f in _FIELDS]
    query = select(SiteSettingRow.key, SiteSettingRow.value).where(col(SiteSettingRow.key).in_(keys))  # type: ignore[call-overload]
    for key, text in c.execute(query).all():
        name = key.removeprefix(PREFIX)
        try:
            found[name] = _typed(name, text)
        except ValueError:
            continue
    return replace(SetsysValues(), **found)


def write(c: Connection, values: SetsysValues) -> None:
    keys = [PREFIX + f for f in _FIELDS]
    c.execute(delete(SiteSettingRow).where(col(SiteSettingRow.key).in_(keys)))
    default = SetsysValues()
    rows = [
        {"key": PREFIX + f, "value": _text(getattr(values, f))}
        for f in _FIELDS
        if getattr(values, f) != getattr(default, f)
    ]
    if rows:
        c.execute(insert(SiteSettingRow), rows)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "YES" if value else "NO"
    if isinstance(value, tuple):
        return " ".join(f"{t:04d}" for t in value)
    return str(value)


def _typed(name: str, text: str) -> object:
    if name == "volume_pair_messages":
        return text == "YES"
    if name == "autodump_start":
        parts = tuple(int(t) for t in text.split())
        if len(parts) != 3:
            raise ValueError(text)
        return parts
    if name.endswith("_tasks"):
        return int(text)
    return text


def changed(values: SetsysValues, req: Setsys) -> tuple[SetsysValues, list[tuple[str, str]]]:
    """`values` with what the command sets; messages for what is not applied (id, text)."""
    notes: list[tuple[str, str]] = []
    out = values
    if req.dataset_recovery is not None:
        out = replace(out, dataset_recovery=req.dataset_recovery)
    if req.fc_relation == "EXTENT":
        notes.append(
            (
                "FPL160W",
                "FCRELATION(EXTENT) IS NOT APPLIED: FLASHPOOL'S VOLUMES MAY HOLD DATA OUTSIDE DATA SETS, SO EVERY "
                "FAST REPLICATION RELATIONSHIP IS FULL-VOLUME; FCRELATION STAYS FULL",
            )
        )
    if req.volume_pair_messages is not None:
        out = replace(out, volume_pair_messages=req.volume_pair_messages)
    for name in ("frbackup_tasks", "frrecov_tasks", "dss_tasks"):
        if getattr(req, name) is not None:
            out = replace(out, **{name: getattr(req, name)})
    if req.autodump_start is not None:
        out = replace(out, autodump_start=req.autodump_start)
    return out, notes


__all__ = ["PREFIX", "SetsysValues", "changed", "read", "write"]
