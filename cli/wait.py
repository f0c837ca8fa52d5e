"""`flashpool hsm ... --wait`: until every background copy has completed or is parked; on a
terminal (and without --json or --quiet) with a progress line that moves."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from cli.batch import report_parked

if TYPE_CHECKING:
    from engine.api import SiteAPI


async def wait_copies(api: SiteAPI, quiet: bool) -> int:
    """Until every background copy has completed, or is parked (e.g. the disk filled up): a parked
    copy is reported and the wait returns RC 12, never hangs. Standard error shows the progress
    only when it is a terminal and not `quiet`; otherwise the wait prints nothing but parked copies."""
    from engine.errors import FlashpoolError

    try:
        if sys.stderr.isatty() and not quiet:
            parked = await _shown(api)
        else:
            parked = await api.wait_copies()
    except FlashpoolError as exc:
        if api.mode == "server":
            from server.client import RemoteSite, ServerGone

            if isinstance(exc, ServerGone) and isinstance(api, RemoteSite):  # its command ran there
                raise FlashpoolError(
                    f"{api.where} stopped while this command waited for its background copies; they resume "
                    "where they are when a server runs the site again (nothing copied is lost)"
                ) from None
        raise
    return report_parked(parked)


async def _shown(api: SiteAPI) -> dict[int, str]:
    """The wait with its progress line, drawn from each status read and from a timer between
    them: a status may be slow to come (a busy server), the line still moves."""
    import asyncio

    from cli.progress import ProgressDisplay

    display = ProgressDisplay(sys.stderr)
    redraw = asyncio.create_task(display.redraw(), name="flashpool-wait-progress")
    try:
        parked = await api.wait_copies(display.see)
    except BaseException:  # interrupted: the prompt comes on a line of its own
        redraw.cancel()
        display.end(complete=False)
        raise
    redraw.cancel()
    await asyncio.wait([redraw])
    display.end(complete=not parked)
    return parked
