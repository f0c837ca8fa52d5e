"""A change to the site's security (profiles, access lists, roles, tokens, settings) as a value:
what `flashpool security` sends and the server's route takes (engine.security.admin applies it)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from engine.security.access import Access, Kind


class Change(enum.Enum):
    DEFINE = "define"  # a profile, with its UACC
    ALTER = "alter"  # a profile's UACC
    DELETE = "delete"  # a profile and its access list
    PERMIT = "permit"  # a user or group into a profile's access list
    REMOVE = "remove"  # ... out of it
    GRANT = "grant"  # a role bundle to a user or group
    REVOKE = "revoke"
    TOKEN = "token"  # a new API token for a user (its secret is shown once)
    UNTOKEN = "untoken"  # revoke a token
    SET = "set"  # one of the site's security settings (engine.catalog.settings)
    PASSWORD = "password"  # a user's password for the web console (only its hash is kept)


@dataclass(frozen=True, slots=True)
class SecurityChange:
    change: Change
    profile: str = ""
    uacc: Access = Access.NONE
    kind: Kind = Kind.USER
    name: str = ""  # user or group; for SET the setting's name
    access: Access = Access.READ
    role: str = ""
    label: str = ""
    token_id: int = 0
    days: int | None = None  # TOKEN: its lifetime (None: the site's token-days)
    value: str = ""  # SET: the setting's new value; PASSWORD: the password (never shown)
    expired: bool = False  # PASSWORD: the user must choose a new one at its next login

    def describe(self) -> str:
        c = self.change
        who = f"{self.kind.value} {self.name}"
        return {
            Change.DEFINE: f"RDEFINE FACILITY {self.profile} UACC({self.uacc.name})",
            Change.ALTER: f"RALTER FACILITY {self.profile} UACC({self.uacc.name})",
            Change.DELETE: f"RDELETE FACILITY {self.profile}",
            Change.PERMIT: f"PERMIT {self.profile} CLASS(FACILITY) ID({self.name}) ACCESS({self.access.name})"
            + (" GROUP" if self.kind is Kind.GROUP else ""),
            Change.REMOVE: f"PERMIT {self.profile} CLASS(FACILITY) ID({self.name}) DELETE"
            + (" GROUP" if self.kind is Kind.GROUP else ""),
            Change.GRANT: f"GRANT ROLE({self.role.upper()}) TO {who}",
            Change.REVOKE: f"REVOKE ROLE({self.role.upper()}) FROM {who}",
            Change.TOKEN: f"TOKEN CREATE USER({self.name})"
            + (f" LABEL({self.label})" if self.label else "")
            + (f" DAYS({self.days})" if self.days is not None else ""),
            Change.UNTOKEN: f"TOKEN REVOKE ID({self.token_id})",
            Change.SET: f"SETROPTS {self.name.upper()}({self.value})",
            Change.PASSWORD: f"ALTUSER {self.name} PASSWORD(********) {'EXPIRED' if self.expired else 'NOEXPIRED'}",
        }[c]
