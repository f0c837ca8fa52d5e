"""Users, profiles and the audit trail: who may do what on a site, decided as RACF decides
DFSMShsm's FACILITY profiles, and a hash-chained record of every command and decision."""

from engine.security.access import Access, Decision, Kind, Permit, Profile
from engine.security.audit import Auditable, AuditEntry, AuditTrail
from engine.security.functions import Check, Function, Role
from engine.security.guard import Guard, command_check
from engine.security.identity import Identity

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
