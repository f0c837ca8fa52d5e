"""`flashpool hsm`: HSM commands, one from the command line or a batch from standard input,
with their messages (or --json results); --wait then waits for the background copies."""

from __future__ import annotations

import argparse
import io
import sys
from typing import TYPE_CHECKING

from cli.batch import Options, read_commands, run_batch
from cli.connect import site_api
from engine.states import Origin

if TYPE_CHECKING:
    from engine.messages import CommandResult


async def run(args: argparse.Namespace) -> int:
    from cli.wait import wait_copies
    from engine.hsm.service import not_serialised
    from engine.site import SiteInUse

    commands = commands_of(args)
    options = Options(json=args.json, quiet=args.quiet, stop_on=args.stop_on)
    try:
        api = site_api(args)
    except SiteInUse as exc:  # DFSMShsm's enqueue failing: each command says so (RC 30)
        why = str(exc)

        async def refused(text: str) -> CommandResult:
            return not_serialised(text, why)

        return await run_batch(commands, refused, options, _print)
    try:
        rc = await run_batch(commands, lambda text: api.command(text, origin=Origin.CLI), options, _print)
        if args.wait:
            rc = max(rc, await wait_copies(api, quiet=args.json or args.quiet))
    finally:
        await api.close()
    return rc


def commands_of(args: argparse.Namespace) -> list[str]:
    """The command on the command line, or the batch on standard input (bytes that are not
    UTF-8 reach the parser, which names them, instead of failing the read)."""
    if args.command != "-":
        return [args.command]
    raw = getattr(sys.stdin, "buffer", None)  # a test may hand in a text stream
    stdin = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape") if raw else sys.stdin
    return read_commands(stdin)


def _print(line: str) -> None:
    print(line, flush=True)
