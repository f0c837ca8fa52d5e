"""The site as `flashpool volume | dataset | status | security | audit` see it: a few blocking
calls. With a server listening on the site's socket they go over it as plain HTTP (cli.thin: none
of the engine, the ORM or aiohttp imported, tests/cli/test_thin.py keeps it so); otherwise the
site opens in this process, or the server named by FLASHPOOL_SERVER is asked, through the full
API (`engine.api.SiteAPI`), its actions run to their end here."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from engine.api.interface import SiteAPI
    from engine.api.values import AuditExport, AuditReport, Caller, RoleGrant, SettingView, SiteStatus, TokenInfo
    from engine.datasets.info import DataSetInfo
    from engine.messages import CommandResult
    from engine.security.access import Decision, ProfileListing
    from engine.security.changes import SecurityChange
    from engine.security.functions import Check
    from engine.security.marks import AuditMark

T = TypeVar("T")


class Tools(Protocol):
    """The calls these commands make, each as `engine.api.SiteAPI` defines it, but blocking."""

    def whoami(self) -> Caller: ...
    def status(self) -> SiteStatus: ...
    def may(self, checks: list[Check]) -> list[Decision]: ...
    def volume_digest(self, volser: str) -> str: ...
    def datasets(self, pattern: str | None = None) -> list[DataSetInfo]: ...
    def dataset(self, name: str) -> DataSetInfo | None: ...
    def dataset_digest(self, name: str) -> str: ...
    def profiles(self, pattern: str | None = None) -> list[ProfileListing]: ...
    def role_grants(self) -> list[RoleGrant]: ...
    def tokens(self) -> list[TokenInfo]: ...
    def settings(self) -> list[SettingView]: ...
    def audit_verify(self, against: list[AuditMark] | None = None) -> AuditReport: ...
    def audit_export(self, since: float | None = None) -> AuditExport: ...
    def damage(self, volser: str, first: int, last: int) -> CommandResult: ...
    def damage_dataset(self, name: str) -> CommandResult: ...
    def change_security(self, change: SecurityChange) -> CommandResult: ...


@contextmanager
def tool_site(args: argparse.Namespace) -> Iterator[Tools]:
    """The site for one command, let go after it."""
    from server import sockets

    path = Path(args.site)
    if not os.environ.get("FLASHPOOL_SERVER") and sockets.listening(path):
        from cli.thin import ThinSite

        thin = ThinSite(path)
        try:
            yield thin
        finally:
            thin.close()
        return
    from cli.connect import site_api

    blocking = Blocking(lambda: site_api(args))
    try:
        yield blocking
    finally:
        blocking.close()


class Blocking:
    """A `SiteAPI` (in this process, or a server on TCP) called as `Tools`: its reads as they
    are, its actions run on an event loop of this command's own."""

    def __init__(self, open_api: Callable[[], SiteAPI]) -> None:
        import asyncio

        async def opened() -> SiteAPI:  # on the loop, as every command that opens the site does
            return open_api()

        self._runner: asyncio.Runner = asyncio.Runner()
        try:
            self.api = self._run(opened())
        except BaseException:
            self._runner.close()
            raise

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coro)

    def close(self) -> None:
        try:
            self._run(self.api.close())
        finally:
            self._runner.close()

    def whoami(self) -> Caller:
        return self.api.whoami()

    def status(self) -> SiteStatus:
        return self.api.status()

    def may(self, checks: list[Check]) -> list[Decision]:
        return self.api.may(checks)

    def volume_digest(self, volser: str) -> str:
        return self.api.volume_digest(volser)

    def datasets(self, pattern: str | None = None) -> list[DataSetInfo]:
        return self.api.datasets(pattern)

    def dataset(self, name: str) -> DataSetInfo | None:
        return self.api.dataset(name)

    def dataset_digest(self, name: str) -> str:
        return self.api.dataset_digest(name)

    def profiles(self, pattern: str | None = None) -> list[ProfileListing]:
        return self.api.profiles(pattern)

    def role_grants(self) -> list[RoleGrant]:
        return self.api.role_grants()

    def tokens(self) -> list[TokenInfo]:
        return self.api.tokens()

    def settings(self) -> list[SettingView]:
        return self.api.settings()

    def audit_verify(self, against: list[AuditMark] | None = None) -> AuditReport:
        return self.api.audit_verify(against)

    def audit_export(self, since: float | None = None) -> AuditExport:
        return self.api.audit_export(since)

    def damage(self, volser: str, first: int, last: int) -> CommandResult:
        return self._run(self.api.damage(volser, first, last))

    def damage_dataset(self, name: str) -> CommandResult:
        return self._run(self.api.damage_dataset(name))

    def change_security(self, change: SecurityChange) -> CommandResult:
        return self._run(self.api.change_security(change))


__all__ = ["Blocking", "Tools", "tool_site"]
