"""Carrying out an online change of the constructs: new volume images first, then every catalog
change in one transaction, then the engine's volumes and the images the change deleted.

A crash before the commit leaves at most new images no volume uses (the next change that adds
such a volume says so, and deletes nothing it did not make); a crash after it leaves at most the
images of deleted volumes (likewise named, never reused). The change is made only as it was
previewed: `expect` is the preview's digest.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, col, delete

from engine.catalog import constructs as repo
from engine.catalog.models import (
    CopyPoolDumpClassRow,
    CopyPoolGroupRow,
    CopyPoolRow,
    DumpClassRow,
    StorageGroupRow,
    VolumeRow,
)
from engine.config.change import ConfigChange
from engine.config.plan import VOLUME_DIR, ConfigPlan, Work, prepare
from engine.hsm import dump
from engine.messages import CommandResult
from engine.storage import Volume

if TYPE_CHECKING:
    from engine.hsm.context import Context

REFUSED = 8

#: a quoted literal: a key, value or description as the definition file or the user wrote it
_QUOTED = re.compile(r"""((?<!\w)'[^']*'(?!\w)|(?<!\w)"[^"]*"(?!\w))""")


#: where in the definition file a problem is, as the file writes it: `copy_pool[3].versions: `
_KEY_PATH = re.compile(r"^(?:\[[a-z_]+\]|[a-z_]+)(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*: ")


def shout(text: str) -> str:
    """A plan's text as an FPL message says it: upper case, but for where in the file it is and
    what it quotes (a TOML key, a value as written, a description), which stay as written."""
    where = m.group(0) if (m := _KEY_PATH.match(text)) else ""
    rest = text[len(where) :]
    return where + "".join(part if i % 2 else part.upper() for i, part in enumerate(_QUOTED.split(rest)))


def apply(ctx: Context, change: ConfigChange, expect: str | None, res: CommandResult) -> ConfigPlan:
    """Make the change (blocking; the caller holds every copy pool's serialisation)."""
    plan, work = prepare(ctx, change)
    if expect is not None and expect != plan.digest:
        res.add(
            "FPL804E",
            "THE CONFIGURATION OR THE CHANGE IS NOT WHAT WAS PREVIEWED (ANOTHER CHANGE OR COMMAND CAME FIRST): "
            "NOTHING WAS CHANGED; PREVIEW IT AGAIN",
        )
        res.fail(REFUSED)
        return plan
    if not plan.allowed or work is None:
        for p in plan.problems:
            res.add("FPL802E", f"CONFIGURATION CHANGE REFUSED: {shout(p)}")
        res.fail(REFUSED)
        return plan
    if not plan.steps:
        res.add("FPL801I", "THE CONFIGURATION SAYS THIS ALREADY: NOTHING CHANGED")
        return plan
    made = _create_images(ctx, work)
    try:
        with ctx.catalog.session() as s:
            _write(s, work)
            s.commit()
    except BaseException:
        for vol in made:
            vol.close()
            Path(vol.path).unlink(missing_ok=True)
        raise
    gone = ctx.batch(lambda core: _into_engine(ctx, made, work.volumes_gone))
    for volser, image in gone:
        try:
            Path(image).unlink(missing_ok=True)
        except OSError as exc:
            res.add("FPL805W", f"THE IMAGE OF DELETED VOLUME {volser} WAS NOT REMOVED ({exc.strerror}): {image}")
            res.fail(4)
    res.add("FPL800I", f"CONFIGURATION CHANGED: {len(plan.steps)} STEP(S)")
    for step in plan.steps:
        res.add("FPL801I", shout(step))
    for effect in plan.effects:
        res.add("FPL803I", shout(effect))
    return plan


def _create_images(ctx: Context, work: Work) -> list[Volume]:
    made: list[Volume] = []
    try:
        for vdef, _ in work.volumes_new:
            made.append(Volume.create(Path(ctx.root) / VOLUME_DIR / f"{vdef.volser}.img", vdef.volser, vdef.geometry))
    except BaseException:
        for vol in made:
            vol.close()
            Path(vol.path).unlink(missing_ok=True)
        raise
    return made


def _write(s: Session, work: Work) -> None:
    """Every row the change touches, in the order the foreign keys need."""
    for dc in work.classes:
        s.add(dc.onto(s.get(DumpClassRow, dc.name)))
    for g in work.groups:
        group = s.get(StorageGroupRow, g.name) or StorageGroupRow(name=g.name, type=g.type)
        group.backup_group = g.backup_group
        s.add(group)
    s.flush()
    s.add_all(vdef.row(group_name, f"{VOLUME_DIR}/{vdef.volser}.img") for vdef, group_name in work.volumes_new)
    for volser, group_name in work.volumes_moved:
        vol = s.get(VolumeRow, volser)
        assert vol is not None  # the plan read it under the same serialisation
        vol.storage_group = group_name
        s.add(vol)
    for volser, online in work.volumes_online:
        vol = s.get(VolumeRow, volser)
        assert vol is not None
        vol.online = online
        s.add(vol)
    s.flush()
    for p in work.pools:
        s.add(p.onto(s.get(CopyPoolRow, p.name)))
        s.flush()
        _links(s, p.name)
        s.add_all(p.links())
    for name in work.pools_gone:
        _links(s, name)
        s.exec(delete(CopyPoolRow).where(col(CopyPoolRow.name) == name))
    s.flush()
    for volser in work.volumes_gone:
        s.exec(delete(VolumeRow).where(col(VolumeRow.volser) == volser))
    for name in work.groups_gone:
        s.exec(delete(StorageGroupRow).where(col(StorageGroupRow.name) == name))
    for name in work.classes_gone:
        s.exec(delete(DumpClassRow).where(col(DumpClassRow.name) == name))
    s.flush()
    for name in sorted(work.dump_states):
        for v in repo.versions(s, name):
            dump.refresh_dump_state(s, v.key)


def _links(s: Session, pool: str) -> None:
    s.exec(delete(CopyPoolGroupRow).where(col(CopyPoolGroupRow.copy_pool) == pool))
    s.exec(delete(CopyPoolDumpClassRow).where(col(CopyPoolDumpClassRow.copy_pool) == pool))


def _into_engine(ctx: Context, made: list[Volume], gone: list[str]) -> list[tuple[str, str]]:
    """The new volumes in the engine's table, the deleted ones out of it (under the FlashCopy
    lock: no copy reads the table half changed); returns the deleted images to remove."""
    core = ctx.flashcopy.core
    for vol in made:
        core.attach(vol)
    out = []
    for volser in gone:
        ctx.unavailable.pop(volser, None)
        found = core.detach(volser)
        if found is not None:
            with contextlib.suppress(OSError):
                found.close()
            out.append((volser, str(found.path)))
    return out


__all__ = ["apply", "shout"]
