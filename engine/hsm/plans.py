"""One entry point to a command's planning: the rules it checks and what it will do, without
changing anything. Used by precheck (the checks), impact (the figures) and the agreement test."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.catalog.models import BackupVersionRow
from engine.command import Action, FrBackup, FrDelete, FrRecov
from engine.hsm import backup, delete, dsrecover, dsrecovery, recover
from engine.hsm.rules import Checks

if TYPE_CHECKING:
    from engine.hsm.context import Context

Plan = (
    recover.PoolRecovery
    | recover.VolumeRecovery
    | recover.DumpRecovery
    | dsrecover.DataSetRecovery
    | backup.Plan
    | backup.Prepare
    | backup.Withdraw
    | tuple[backup.Common, BackupVersionRow]  # DUMPONLY: the version it dumps
    | delete.Delete
)


def plan(ctx: Context, req: FrRecov | FrBackup | FrDelete, checks: Checks) -> Plan:
    """The command's plan; raises Refused (with the refusal recorded in `checks`) as it would."""
    if isinstance(req, FrRecov):
        recover.plan_hold(ctx, req, checks)
        if req.dsnames:
            return dsrecovery.plan(ctx, req, checks)
        if req.from_dump:
            return recover.plan_from_dump(ctx, req, checks)
        if req.copypool:
            return recover.plan_copy_pool(ctx, req, checks)
        return recover.plan_volume(ctx, req, checks)
    if isinstance(req, FrDelete):
        return delete.plan_delete(ctx, req, checks)
    if req.action is Action.PREPARE:
        return backup.plan_prepare(ctx, req, checks)
    if req.action is Action.WITHDRAW:
        return backup.plan_withdraw(ctx, req, checks)
    if req.action is Action.DUMPONLY:
        return backup.plan_dumponly(ctx, req, checks)
    return backup.plan_execute(ctx, req, checks)
