"""`flashpool hsm ... --wait`: until every background copy has completed or is parked."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.api import SiteAPI, SiteStatus


async def wait_copies(api: SiteAPI, quiet: bool) -> int:
    """Until every background copy has completed, or is parked (e.g. the disk filled up): a parked
    copy is reported and the wait returns RC 12, never hangs."""
    tty = sys.stderr.isatty() and not quiet

    def progress(st: SiteStatus) -> None:
        if tty and st.copies:
            print(
                f"\rcopying: {st.copies} relationship(s), {st.out_of_sync:,} of {st.tracks:,} tracks left   ",
                end="",
                file=sys.stderr,
            )

    parked = await api.wait_copies(progress)
    if tty:
        print("\rcopying: complete" + " " * 40 if not parked else "", file=sys.stderr)
    for rel_id, why in sorted(parked.items()):
        print(
            f"flashpool: the background copy of relationship {rel_id} is parked: {why}; what it copied is kept "
            "and it resumes when the site is next opened with space free",
            file=sys.stderr,
        )
    return 12 if parked else 0
