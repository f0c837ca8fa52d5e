"""What is protected, by which resource name, and the role bundles for the common cases.

DFSMShsm's own command profiles (`STGADMIN.ARC.<command>`), with the copy pool as an optional
last qualifier; flashpool's functions that are not HSM commands under `STGADMIN.FPL.`.
FRRECOV DSNAME is its own function (`STGADMIN.ARC.DSRECOV`): recovering one data set is not
recovering a copy pool. Every function needs READ except changing the security setup and the
configuration, which need UPDATE on STGADMIN.FPL.SECURITY and STGADMIN.FPL.CONFIG (reading them
needs READ).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from engine.security.access import Access


class Function(enum.Enum):
    FRBACKUP = "STGADMIN.ARC.FRBACKUP"
    FRRECOV = "STGADMIN.ARC.FRRECOV"
    DSRECOV = "STGADMIN.ARC.DSRECOV"
    FRDELETE = "STGADMIN.ARC.FRDELETE"
    LIST = "STGADMIN.ARC.LIST"  # LIST, and every view of the console
    QUERY = "STGADMIN.ARC.QUERY"
    HOLD = "STGADMIN.ARC.HOLD"
    RELEASE = "STGADMIN.ARC.RELEASE"
    SETSYS = "STGADMIN.ARC.SETSYS"  # SETSYS: fast replication's settings
    DEFINE = "STGADMIN.ARC.DEFINE"  # DEFINE DUMPCYCLE / DUMPCLASS
    HSMAUDIT = "STGADMIN.ARC.AUDIT"  # AUDIT COPYPOOLCONTROLS (the command; the audit trail is FPL.AUDIT)
    DAMAGE = "STGADMIN.FPL.DAMAGE"  # volume/dataset damage: overwrites data, for recovery drills
    WORKLOAD = "STGADMIN.FPL.WORKLOAD"  # writes data sets
    SERVER = "STGADMIN.FPL.SERVER"  # stop the server
    CONFIG = "STGADMIN.FPL.CONFIG"  # the constructs: READ shows them, UPDATE changes them (ISMF's part)
    SECURITY = "STGADMIN.FPL.SECURITY"  # profiles, access lists, roles, tokens
    AUDIT = "STGADMIN.FPL.AUDIT"  # read, verify and export the audit trail


@dataclass(frozen=True, slots=True)
class Check:
    """One authorization check: the function, the copy pool it is restricted to, the access."""

    function: Function
    copy_pool: str | None = None
    needed: Access = Access.READ

    def names(self) -> tuple[str, ...]:
        """The restricted name first, then the function's own."""
        base = self.function.value
        return (f"{base}.{self.copy_pool}", base) if self.copy_pool else (base,)

    @property
    def resource(self) -> str:
        return self.names()[0]


class Role(enum.Enum):
    """Role bundles in the style of a storage controller's console: each a set of profiles
    and the access it grants on them."""

    MONITOR = "MONITOR"
    OPERATOR = "OPERATOR"  # copy operator
    ADMINISTRATOR = "ADMINISTRATOR"
    SECURITY = "SECURITY"  # security administrator

    @classmethod
    def named(cls, text: str) -> Role:
        key = text.strip().upper().replace("-", "").replace("_", "").replace(" ", "")
        aliases = {"COPYOPERATOR": "OPERATOR", "ADMIN": "ADMINISTRATOR", "SECURITYADMINISTRATOR": "SECURITY"}
        try:
            return cls(aliases.get(key, key))
        except ValueError:
            raise ValueError(
                f"role {text!r} is not one of monitor, operator (copy operator), administrator, security"
            ) from None

    @property
    def grants(self) -> tuple[tuple[Function, Access], ...]:
        monitor = ((Function.LIST, Access.READ), (Function.QUERY, Access.READ))
        operator = (
            *monitor,
            (Function.FRBACKUP, Access.READ),
            (Function.FRRECOV, Access.READ),
            (Function.DSRECOV, Access.READ),
        )
        admin = (
            *operator,
            (Function.FRDELETE, Access.READ),
            (Function.HOLD, Access.READ),
            (Function.RELEASE, Access.READ),
            (Function.SETSYS, Access.READ),
            (Function.DEFINE, Access.READ),
            (Function.HSMAUDIT, Access.READ),
            (Function.DAMAGE, Access.READ),
            (Function.WORKLOAD, Access.READ),
            (Function.SERVER, Access.READ),
            (Function.CONFIG, Access.UPDATE),
        )
        return {
            Role.MONITOR: monitor,
            Role.OPERATOR: operator,
            Role.ADMINISTRATOR: admin,
            Role.SECURITY: (*admin, (Function.SECURITY, Access.UPDATE), (Function.AUDIT, Access.READ)),
        }[self]

    @property
    def title(self) -> str:
        return {
            Role.MONITOR: "monitor (LIST, QUERY and every view)",
            Role.OPERATOR: "copy operator (monitor + FRBACKUP, FRRECOV, data set recovery)",
            Role.ADMINISTRATOR: "administrator (operator + FRDELETE, HOLD, RELEASE, SETSYS, DEFINE, AUDIT, the configuration, drills, workloads, stopping the server)",
            Role.SECURITY: "security administrator (administrator + profiles, access lists, tokens, the audit trail)",
        }[self]


__all__ = ["Check", "Function", "Role"]
