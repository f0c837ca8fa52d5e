"""`flashpool events [--json] [--count N]`: the site server's event stream on standard output, for
scripts: one line per event (one JSON object with --json, in the API's wire form and its `type`),
copy progress coalesced to one line a second per relationship (and always its last one), command
completions, alerts, the server's comings and goings. It follows the stream until interrupted,
or until N events are printed; exit 3 when no server runs (in-process sites have no one else
whose events there could be)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.events import Event

PROGRESS_EVERY = 1.0  # seconds between two progress lines of one relationship


async def run(args: argparse.Namespace) -> int:
    from cli.connect import remote, server_url
    from engine.events import CopyProgress
    from server import sockets, wire
    from server.client import RemoteSite, ServerGone

    path = Path(args.site)
    api: RemoteSite
    if url := server_url():  # the server FLASHPOOL_SERVER names, as every other command reaches it
        try:
            api = remote(url)
        except ServerGone as exc:
            print(f"flashpool: {exc}; its events come from its server", file=sys.stderr)
            return 3
    elif not sockets.listening(path):
        print(f"flashpool: no server runs for {path}; its events come from its server", file=sys.stderr)
        return 3
    else:
        api = RemoteSite(path)
    last: dict[int, float] = {}
    printed = 0
    try:
        async with contextlib.aclosing(api.events()) as stream:  # its reader ended before the close
            async for event in stream:
                if isinstance(event, CopyProgress):  # coalesced, by when the copy made them
                    if event.out_of_sync and event.at - last.get(event.rel_id, float("-inf")) < PROGRESS_EVERY:
                        continue  # the next one a second later, or the last one (nothing left to copy)
                    last[event.rel_id] = event.at
                print(json.dumps(wire.encode(event)) if args.json else line(event), flush=True)
                printed += 1
                if args.count is not None and printed >= args.count:
                    return 0
    finally:
        await api.close()
    return 0


def line(event: Event) -> str:
    """An event as one line: its time, its kind and its fields."""
    from dataclasses import fields

    at = time.strftime("%H:%M:%S", time.localtime(event.at))
    rest = " ".join(f"{f.name}={getattr(event, f.name)!r}" for f in fields(event) if f.name != "at")
    return f"{at} {type(event).__name__} {rest}".rstrip()
