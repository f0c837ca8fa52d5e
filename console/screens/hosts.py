"""The hosts of the site's HSMplex: which is primary, which drives the site's volumes and which
stands by, how long ago each renewed its lease and how long the lease still runs, as the catalog
says at each reading (the engine's words: engine.hostviews). A site served by one unnamed server
has no plex, and says so."""

from __future__ import annotations

from rich.text import Text

from console import format as fmt
from console.screens.base import ListScreen
from console.widgets.live_table import Cells, Column

_STYLE = {"LEASE LAPSED": "warn", "stopped": "muted", "primary": "ok"}


class HostsScreen(ListScreen):
    IS_MODE_ROOT = True
    TITLE_TEXT = "Hosts of the plex"
    CRUMB = "Hosts"
    EMPTY_TEXT = (
        "This site is served by one server, not an HSMplex: start each host with flashpool serve --system NAME "
        'on a site whose catalog is in PostgreSQL (README: "Several hosts").'
    )
    HELP_TEXT = (
        "Every host that has served the site under a system name: the primary runs automatic dumps and expiry; "
        "the host that drives the site owns its volumes (in domains, under fencing tokens) and forwards nothing; "
        "a host standing by forwards its clients' commands to it and takes the site over when its lease ends. "
        "Renewed: seconds since the host last renewed its lease; lease left: how long it still runs, on the "
        "database's clock. Read again every second."
    )
    COLUMNS = [
        Column("System", "system", 8),
        Column("Role", "role", 14),
        Column("PID", "pid", 8, drop=2),
        Column("Epoch", "epoch", 5, drop=3),
        Column("Renewed", "renewed", 9),
        Column("Lease left", "lease", 10),
        Column("Volumes", "volumes", 8),
        Column("Domains", "domains", 40, grow=True, min_width=12, drop=1),
    ]

    def load(self) -> list[tuple[str, Cells]]:
        rows: list[tuple[str, Cells]] = []
        for h in self.fpapp.site.status().hosts:
            rows.append(
                (
                    h.system,
                    (
                        h.system,
                        Text(h.role, style=fmt.style(_STYLE[h.role], bold=True) if h.role in _STYLE else ""),
                        str(h.pid),
                        str(h.epoch),
                        "" if h.left else f"{h.renewed_ago:.1f} s ago",
                        f"{h.lease_left:.1f} s" if h.live else "",  # a lapsed or stopped host: its role says so
                        str(h.volumes) if h.domains else "",
                        ", ".join(h.domains),
                    ),
                )
            )
        return rows
