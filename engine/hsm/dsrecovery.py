"""FRRECOV DSNAME: in place (engine.hsm.dsrecover) or beside the original under NEWNAME
(engine.hsm.dsnewname) - the one place that chooses, for the command, its plan and the finishing
of an interrupted one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.catalog import constructs as repo
from engine.command import FrRecov
from engine.hsm import dsnewname, dsrecover, rules
from engine.hsm.dsrecover import DataSetRecovery
from engine.hsm.rules import Checks
from engine.messages import CommandResult

if TYPE_CHECKING:
    from engine.hsm.context import Context


def plan_source(ctx: Context, req: FrRecov, checks: Checks) -> None:
    """FROMCOPYPOOL names a defined copy pool (ARC1806E RC 22 for the whole request, before any
    data set is looked at); without it every copy pool is searched."""
    if req.from_copypool:
        with ctx.catalog.session() as s:
            pool = repo.copy_pool(s, req.from_copypool)
        checks.require(f"copy pool {req.from_copypool} is defined", rules.pool_defined(pool, req.from_copypool))


def plan(ctx: Context, req: FrRecov, checks: Checks) -> DataSetRecovery:
    plan_source(ctx, req, checks)
    if req.newname is not None:
        return dsnewname.plan_newname(ctx, req, checks).recovery
    return dsrecover.plan_datasets(ctx, req, checks)


def run(ctx: Context, req: FrRecov, res: CommandResult) -> None:
    """Raises Refused (reported by recover.frrecov as ARC1806E) when the request as a whole is refused."""
    plan_source(ctx, req, Checks())
    if req.newname is not None:
        dsnewname.frrecov_newname(ctx, req, res)
    else:
        dsrecover.frrecov_datasets(ctx, req, res)


def finish_interrupted(ctx: Context, payload: dict[str, Any]) -> str:
    """Site.open: a data set recovery a crash interrupted, done again from its source."""
    if "moves" in payload:
        return dsnewname.finish_moves(ctx, payload)
    return dsrecover.finish_interrupted(ctx, payload)


def written_by(payload: dict[str, Any]) -> set[str]:
    """The volumes an interrupted data set recovery writes when it is finished."""
    return {str(e[0]) for e in payload["extents"]} | {str(v) for v in payload["old_volumes"]}


__all__ = ["finish_interrupted", "plan", "run", "written_by"]
