"""Authorization as RACF's FACILITY class does it for DFSMShsm: a function has a resource name
(`STGADMIN.ARC.FRRECOV`, restricted to one copy pool as `STGADMIN.ARC.FRRECOV.DB2PROD`), the
most specific profile that covers it decides, and what a profile does not grant is NONE.

* A profile is discrete (`STGADMIN.ARC.FRBACKUP`) or generic: `*` matches one qualifier or part
  of one, `%` one character, `**` any number of qualifiers.
* A function's profile covers its restricted names too: with no profile for
  `STGADMIN.ARC.FRRECOV.DB2PROD`, `STGADMIN.ARC.FRRECOV` decides (DFSMShsm's comprehensive
  profile, as for ABARS' `STGADMIN.ARC.ABACKUP.agname`).
* The most specific profile is the one with the most literal characters; at a tie a discrete
  profile beats a generic one.
* In the profile's access list the user's own entry decides if there is one (even a lower
  one: `ACCESS(NONE)` shuts one user out of a group's access; an explicit entry before the
  ones roles give); else the highest entry of the user's groups or of `*` (every
  authenticated user); else the profile's UACC.
* A site without any profile serves its owner only.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.security.identity import Identity


class Access(enum.IntEnum):
    NONE = 0
    READ = 1
    UPDATE = 2
    CONTROL = 3
    ALTER = 4

    @classmethod
    def named(cls, text: str) -> Access:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"access {text!r} is not one of {', '.join(a.name for a in cls)}") from None


class Kind(enum.Enum):
    USER = "USER"
    GROUP = "GROUP"


@dataclass(frozen=True, slots=True)
class Permit:
    kind: Kind
    name: str  # a user or group name; "*" = every authenticated user
    access: Access
    role: str | None = None  # given by this role bundle, not by an explicit PERMIT


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    uacc: Access = Access.NONE
    permits: tuple[Permit, ...] = ()

    @property
    def generic(self) -> bool:
        return any(c in self.name for c in "*%")

    @property
    def specificity(self) -> tuple[int, int]:
        return (sum(1 for c in self.name if c not in "*%."), 0 if self.generic else 1)

    def access_of(self, who: Identity) -> tuple[Access, str]:
        """The access this profile gives `who`, and which entry gave it."""
        mine = [p for p in self.permits if p.kind is Kind.USER and p.name == who.user]
        explicit = [p for p in mine if p.role is None]
        if explicit:
            return explicit[0].access, f"user entry {who.user}"
        if mine:
            top = max(mine, key=lambda p: p.access)
            return top.access, f"user entry {who.user} from role {top.role}"
        best: tuple[Access, str] | None = None
        for p in self.permits:
            if (p.kind is Kind.GROUP and p.name in who.groups) or (p.kind is Kind.USER and p.name == "*"):
                what = f"group entry {p.name}" if p.kind is Kind.GROUP else "entry * (every user)"
                what += f" from role {p.role}" if p.role else ""
                if best is None or p.access > best[0]:
                    best = (p.access, what)
        return best or (self.uacc, "UACC")


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    resource: str  # the name the function was checked under
    needed: Access
    profile: str  # the profile that decided ("" when none did)
    held: Access
    why: str  # how the access was found, for the operator

    def refusal(self, who: Identity) -> str:
        """The message text of a denial: the user, the profile and the access needed."""
        if not self.profile:
            return (
                f"USER {who.user} IS NOT AUTHORIZED TO {self.resource}: NO PROFILE PROTECTS IT ({self.why}); "
                f"{self.needed.name} ACCESS IS NEEDED"
            )
        return (
            f"USER {who.user} IS NOT AUTHORIZED: FACILITY PROFILE {self.profile} GIVES {self.held.name} "
            f"({self.why}); {self.needed.name} ACCESS IS NEEDED FOR {self.resource}"
        )


def valid_profile_name(name: str) -> str | None:
    """Why `name` cannot be a profile name, or None."""
    if not name or len(name) > 246:
        return "a profile name has 1 to 246 characters"
    for q in name.split("."):
        if not q:
            return f"{name}: an empty qualifier"
        if q != "**" and not re.fullmatch(r"[A-Z0-9@#$*%-]+", q):
            return f"{name}: qualifier {q!r} may hold A-Z 0-9 @ # $ - and the generic characters * % **"
    return None


def _pattern(profile: str) -> re.Pattern[str]:
    parts = []
    for i, q in enumerate(profile.split(".")):
        if q == "**":
            parts.append(r"(?:\.[^.]+)*" if i else r"(?:[^.]+(?:\.[^.]+)*)?")
            continue
        body = "".join("[^.]*" if c == "*" else "[^.]" if c == "%" else re.escape(c) for c in q)
        body = "[^.]+" if q == "*" else body
        parts.append(("" if i == 0 else r"\.") + body)
    return re.compile("".join(parts) + r"\Z")


def matches(profile: str, resource: str) -> bool:
    if "*" not in profile and "%" not in profile:
        return profile == resource
    return _pattern(profile).match(resource) is not None


def may_restrict(profile: str, base: str) -> bool:
    """Whether `profile` could decide for a restricted name `base.<something>` (and so differ
    from `base`'s own decision): it does not cover `base` itself, and its qualifiers before the
    restricted one can match `base`'s. Conservative: True when unsure."""
    if matches(profile, base):
        return False  # it covers the function's own name: decide() never lets it restrict
    quals, wanted = profile.split("."), base.split(".")
    for i, q in enumerate(quals):
        if q == "**":
            return True
        if i == len(wanted):
            return True  # a qualifier after the function's name: the copy pool's
        if not matches(q, wanted[i]):
            return False
    return False  # as many qualifiers as the function's name or fewer: not a restricted name


def decide(
    profiles: Sequence[Profile],
    who: Identity,
    names: Iterable[str],
    needed: Access,
    owner: str,
) -> Decision:
    """Check `who` for `names`, the restricted name first, then the function's (DFSMShsm checks
    STGADMIN.ARC.FRRECOV.cp before STGADMIN.ARC.FRRECOV): a profile that covers the restricted
    name and not the function's own (STGADMIN.ARC.FRRECOV.PAY, STGADMIN.ARC.FRRECOV.*) decides
    for that copy pool; otherwise the most specific profile covering the function decides, so a
    backstop such as STGADMIN.** never outranks the function's own profile."""
    chain = list(names)
    resource = chain[0]
    if not profiles:
        ok = who.user == owner
        return Decision(
            ok,
            resource,
            needed,
            "",
            Access.ALTER if ok else Access.NONE,
            f"the site has no profiles and serves its owner {owner} only",
        )
    candidates: list[Profile] = []
    for i, name in enumerate(chain):
        later = chain[i + 1 :]
        candidates = [p for p in profiles if matches(p.name, name) and not any(matches(p.name, n) for n in later)]
        if candidates:
            break
    if not candidates:
        return Decision(False, resource, needed, "", Access.NONE, "no access unless a profile grants it")
    best = max(candidates, key=lambda p: p.specificity)
    held, why = best.access_of(who)
    return Decision(held >= needed, resource, needed, best.name, held, why)


@dataclass(frozen=True, slots=True)
class ProfileListing:
    name: str
    uacc: Access
    owner: str
    defined: bool  # False: it exists because a role names it
    permits: tuple[Permit, ...]


__all__ = [
    "Access",
    "Decision",
    "Kind",
    "Permit",
    "Profile",
    "ProfileListing",
    "decide",
    "matches",
    "may_restrict",
    "valid_profile_name",
]
