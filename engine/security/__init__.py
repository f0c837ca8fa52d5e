"""Users, profiles and the audit trail: who may do what on a site, decided as RACF decides
DFSMShsm's FACILITY profiles, and a hash-chained record of every command and decision."""

from typing import TYPE_CHECKING

from engine.security.access import Access, Decision, Kind, Permit, Profile
from engine.security.functions import Check, Function, Role
from engine.security.identity import Identity
from engine.security.marks import AuditEntry

if TYPE_CHECKING:
    from engine.security.audit import Auditable, AuditTrail
    from engine.security.guard import Guard, command_check

_CATALOG_BOUND = {"Auditable": "audit", "AuditTrail": "audit", "Guard": "guard", "command_check": "guard"}


def __getattr__(name: str) -> object:
    """The parts that work on the catalog when first asked for: the values (who, what access,
    which function) import without it, as the thin CLI (cli.thin) needs."""
    if name in _CATALOG_BOUND:
        import importlib

        return getattr(importlib.import_module(f"engine.security.{_CATALOG_BOUND[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Access",
    "AuditEntry",
    "AuditTrail",
    "Auditable",
    "Check",
    "Decision",
    "Function",
    "Guard",
    "Identity",
    "Kind",
    "Permit",
    "Profile",
    "Role",
    "command_check",
]
