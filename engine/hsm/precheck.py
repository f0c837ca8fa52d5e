"""The checks DFSMShsm makes before a fast replication command touches anything, answered
without running it: so a walkthrough can show *why* a command would be refused, and what to do
instead, before the operator commits. It runs the commands' own planning (`plan_*`), so every
rule it shows is the rule the command applies, in the same order, with the same return code.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from engine.command import FrBackup, FrDelete, FrRecov, Request, parse_command
from engine.hsm.plans import plan
from engine.hsm.rules import Check, Checks, Refused

if TYPE_CHECKING:
    from engine.hsm.context import Context


def precheck(ctx: Context, command: str | Request) -> list[Check]:
    """Every rule the command's planning passes, and the one that refuses it (if any). Blocking:
    it reads the catalog; call it from a worker thread."""
    req = parse_command(command) if isinstance(command, str) else command
    checks = Checks()
    if isinstance(req, FrRecov | FrBackup | FrDelete):
        with contextlib.suppress(Refused):
            plan(ctx, req, checks)
    return checks.items


__all__ = ["Check", "precheck"]
