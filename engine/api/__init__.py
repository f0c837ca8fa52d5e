"""The site as its clients see it: everything the console, the CLI and scripts may ask of a
site, and nothing else. `SiteAPI` (interface.py) is the abstract API; its values are in
values.py; `LocalSite` (local.py) runs it in this process (one user, no server; and the server
itself, once per request, for the identity that asked), and `server.client.RemoteSite` sends it
to the site's server over HTTP.

Reads are blocking (call them from a worker thread: they read the catalog, or the network);
actions are coroutines. Every function is authorized for the client's identity by its rule in
engine.security.needs (the same table the server's routes are declared in); a refusal is
`NotAuthorized` (reads) or a result with RC 36 (actions), and is in the audit trail. Answers leave
out what the identity may not LIST (engine.visibility).
"""

from typing import TYPE_CHECKING

from engine.api.values import (
    API_VERSION,
    AuditExport,
    AuditReport,
    BandMap,
    Caller,
    NotAuthorized,
    RoleGrant,
    SettingView,
    SiteStatus,
    StorageView,
    TokenInfo,
    WorkloadResult,
    refusal_lines,
)
from engine.security.changes import Change, SecurityChange  # the security functions' arguments

if TYPE_CHECKING:
    from engine.api.interface import SiteAPI
    from engine.api.local import LocalSite


def __getattr__(name: str) -> object:
    """`SiteAPI` and `LocalSite` when first asked for: the values alone import without the
    catalog and the engine, as the thin CLI (cli.thin) needs."""
    if name == "SiteAPI":
        from engine.api.interface import SiteAPI

        return SiteAPI
    if name == "LocalSite":
        from engine.api.local import LocalSite

        return LocalSite
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "API_VERSION",
    "AuditExport",
    "AuditReport",
    "BandMap",
    "Caller",
    "Change",
    "LocalSite",
    "NotAuthorized",
    "RoleGrant",
    "SecurityChange",
    "SettingView",
    "SiteAPI",
    "SiteStatus",
    "StorageView",
    "TokenInfo",
    "WorkloadResult",
    "refusal_lines",
]
