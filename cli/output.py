"""What a command prints: its result as a line of text, or with --json as one JSON object."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.messages import CommandResult


def say(args: argparse.Namespace, text: str, **data: object) -> None:
    """A command's result: a line of text, or with --json one JSON object."""
    if args.json:
        print(json.dumps(data), flush=True)
    elif not args.quiet or not text.startswith("flashpool:"):
        print(text, flush=True)


def said(args: argparse.Namespace, res: CommandResult, text: str, **data: object) -> int:
    """A site tool's result: `text`, or its refusal (ICH408I, RC 36) or failure and their code."""
    if res.rc:
        for line in res.lines():
            print(f"flashpool: {line}", file=sys.stderr)
        return res.rc
    say(args, text, **data)
    return 0
