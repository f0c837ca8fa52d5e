"""`flashpool hsm`: HSM commands, one from the command line or a batch from standard input,
with their messages (or --json results); --wait then waits for the background copies."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from cli.connect import site_api
from cli.wait import wait_copies
from engine.states import Origin

if TYPE_CHECKING:
    from engine.messages import CommandResult


async def run(args: argparse.Namespace) -> int:
    from engine.command.syntax import printable
    from engine.hsm.service import not_serialised
    from engine.site import SiteInUse

    # bytes that are not UTF-8 reach the parser (which names them) instead of failing the read
    raw = getattr(sys.stdin, "buffer", None)  # a test may hand in a text stream
    stdin = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape") if raw else sys.stdin
    commands = read_commands(stdin) if args.command == "-" else [args.command]

    def show(text: str, res: CommandResult) -> None:
        if args.json:
            print(res.to_json(), flush=True)
            return
        if len(commands) > 1:
            print(f"> {printable(text.rstrip())}")
        for line in res.lines():
            print(line, flush=True)

    try:
        api = site_api(args)
    except SiteInUse as exc:  # DFSMShsm's enqueue failing: each command says so (RC 30)
        results = [not_serialised(text, str(exc)) for text in commands]
        for text, res in zip(commands, results, strict=True):
            show(text, res)
        return max(res.rc for res in results)
    rc = 0
    try:
        for text in commands:
            res = await api.command(text, origin=Origin.CLI)
            rc = max(rc, res.rc)
            show(text, res)
        if args.wait:
            rc = max(rc, await wait_copies(api, quiet=args.json or args.quiet))
    finally:
        await api.close()
    return rc


def read_commands(stream: Iterable[str]) -> list[str]:
    """One command per line; a line ending in - or + continues; blank lines and * comments skip."""
    out: list[str] = []
    buf = ""
    for raw in stream:
        line = raw.rstrip("\n")
        if not buf and (not line.strip() or line.lstrip().startswith("*")):
            continue
        buf += line + "\n"
        if not line.rstrip().endswith(("-", "+")):
            out.append(buf)
            buf = ""
    if buf:
        out.append(buf)
    return out
