"""The one place a request is authorized: an HSM command or any other function of the site,
for one identity, against the catalog's profiles. Commands, the API and the console's greying
all ask here."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from engine.catalog import Catalog
from engine.catalog import settings as site_settings
from engine.catalog.settings import Settings
from engine.command import (
    AuditCopyPools,
    Define,
    FrBackup,
    FrDelete,
    FrRecov,
    Hold,
    ListCopyPool,
    Query,
    Request,
    Setsys,
)
from engine.security import store
from engine.security.access import Access, Decision, Profile, decide, may_restrict
from engine.security.functions import Check, Function
from engine.security.identity import Identity, site_owner


def command_check(req: Request, pool_of_volume: Callable[[str], str | None]) -> Check:
    """The function and copy pool an HSM command is checked for. A recovery of one volume
    without FROMCOPYPOOL is checked for the volume's copy pool (so a restricted profile cannot
    be passed by leaving the pool out); a data set recovery without one needs the unrestricted
    STGADMIN.ARC.DSRECOV here, and each data set's own pool when it is planned
    (engine.hsm.dsrecover.may_recover). LIST PVOL(v) is checked for the volume's copy pool likewise."""
    if isinstance(req, FrBackup):
        return Check(Function.FRBACKUP, req.copypool)
    if isinstance(req, FrDelete):
        return Check(Function.FRDELETE, req.copypool)
    if isinstance(req, FrRecov):
        if req.level == "DATASET":
            return Check(Function.DSRECOV, req.from_copypool)
        pool = req.copypool or req.from_copypool or (pool_of_volume(req.volume) if req.volume else None)
        return Check(Function.FRRECOV, pool)
    if isinstance(req, ListCopyPool):
        return Check(Function.LIST, req.copypool or (pool_of_volume(req.pvol) if req.pvol else None))
    if isinstance(req, Query):
        return Check(Function.QUERY, req.copypool)
    if isinstance(req, Hold):
        return Check(Function.RELEASE if req.release else Function.HOLD)
    if isinstance(req, Setsys):
        return Check(Function.SETSYS)
    if isinstance(req, Define):
        return Check(Function.DEFINE)
    if isinstance(req, AuditCopyPools):
        return Check(Function.HSMAUDIT, req.copypool)
    raise TypeError(f"no authorization rule for {type(req).__name__}")


class Guard:
    """Profiles (and the security settings) are read from the catalog once and kept until a
    security function changes them (only this process writes the catalog: it holds the site). So are the decisions made
    on them: a decision is a pure function of the profiles, the user, the user's groups, the
    names checked and the access needed, and every request of a polling client asks again."""

    MEMO = 4096  # decisions kept at most (then forgotten all at once and made again)

    def __init__(self, catalog: Catalog, root: Path) -> None:
        self.catalog = catalog
        self.owner = site_owner(root)
        self._profiles: list[Profile] | None = None
        self._settings: Settings | None = None
        self._restricts: dict[Function, bool] = {}
        self._generation = 0
        self._decided: dict[_Asked, Decision] = {}
        self._lock = threading.Lock()

    def profiles(self) -> list[Profile]:
        with self._lock:
            if self._profiles is None:
                with self.catalog.session() as s:
                    self._profiles = store.profiles(s)
                self._decided = {}
            return self._profiles

    def restricts(self, function: Function) -> bool:
        """Whether any profile could decide `function` differently for one copy pool than for
        the others (STGADMIN.ARC.LIST.HR): when none can, what a user may do with every copy pool
        is what it may do with the function (blocking the first time after a change)."""
        profiles = self.profiles()
        with self._lock:
            known = self._restricts.get(function)
        return self._restricting(function, profiles) if known is None else known

    def restricts_now(self, function: Function) -> bool | None:
        """`restricts` without blocking: None when the profiles are not read yet."""
        with self._lock:
            if self._profiles is None:
                return None
            known = self._restricts.get(function)
            profiles = self._profiles
        return self._restricting(function, profiles) if known is None else known

    def _restricting(self, function: Function, profiles: list[Profile]) -> bool:
        """Whether these profiles restrict `function`, remembered while they are the site's."""
        known = any(may_restrict(p.name, function.value) for p in profiles)
        with self._lock:
            if self._profiles is profiles:
                self._restricts[function] = known
        return known

    def settings(self) -> Settings:
        """The site's security settings (blocking the first time after a change)."""
        with self._lock:
            known, generation = self._settings, self._generation
        if known is None:
            with self.catalog.transaction() as c:
                known = site_settings.read(c)
            with self._lock:
                if self._generation == generation:  # kept only if no change came in between
                    self._settings = known
        return known

    def changed(self) -> None:
        with self._lock:
            self._profiles = None
            self._restricts = {}
            self._settings = None
            self._generation += 1
            self._decided = {}

    def decide(self, who: Identity, check: Check) -> Decision:
        """Blocking (the first call reads the catalog)."""
        return self._decide(self.profiles(), who, check)

    def decide_now(self, who: Identity, check: Check) -> Decision | None:
        """Without blocking: the decision when the profiles are already read, else None (then
        ask `decide` from a worker thread). Saves a thread hop for every command a client polls."""
        with self._lock:
            profiles = self._profiles
        return None if profiles is None else self._decide(profiles, who, check)

    def _decide(self, profiles: list[Profile], who: Identity, check: Check) -> Decision:
        asked = (who.user, who.groups, check.names(), check.needed)
        known = self._decided.get(asked)
        if known is not None:
            return known
        made = decide(profiles, who, asked[2], check.needed, self.owner)
        with self._lock:
            if self._profiles is profiles:  # kept only if made on the profiles still in force
                if len(self._decided) >= self.MEMO:
                    self._decided = {}
                self._decided[asked] = made
        return made


_Asked = tuple[str, tuple[str, ...], tuple[str, ...], Access]


__all__ = ["Guard", "command_check"]
