"""`flashpool audit`: verify the sealed audit trail (against earlier exports), export its entries."""

from __future__ import annotations

import argparse
import json
import sys

from cli.output import say
from cli.tools import tool_site
from engine.errors import FlashpoolError


def verify(args: argparse.Namespace) -> int:
    from engine.security.marks import NotAuditMarks, marks_given

    against = []
    for path in args.against:
        try:
            against += marks_given(path.read_text(errors="replace"), str(path))
        except OSError as exc:
            raise FlashpoolError(f"--against {path}: {exc.strerror or exc}") from None
        except NotAuditMarks as exc:
            raise FlashpoolError(f"--against {exc}: nothing was compared") from None
    with tool_site(args) as site:
        report = site.audit_verify(against)
    if args.json:
        print(
            json.dumps(
                {
                    "entries": report.entries,
                    "problems": list(report.problems),
                    "ok": not report.problems,
                    "head": {"seq": report.head.seq, "digest": report.head.digest, "key": report.head.key},
                    "checkpoints": len(against),
                }
            )
        )
    elif report.problems:
        for p in report.problems:
            print(f"flashpool: audit trail: {p}", file=sys.stderr)
        print(f"flashpool: the audit trail of {report.entries} entries FAILS verification", file=sys.stderr)
    else:
        kept = f", {len(against)} checkpoint(s) from {len(args.against)} file(s) matched" if against else ""
        say(
            args,
            f"flashpool: the audit trail verifies: {report.entries} entries, every seal and link valid, "
            f"the head at entry {report.head.seq} (key {report.head.key}){kept}",
        )
    return 8 if report.problems else 0


def export(args: argparse.Namespace) -> int:
    """The entries as JSON lines, then the head of the trail when they were read: kept apart
    from the site, it lets a later `audit verify --against` prove no entry was rewritten."""
    from server import wire

    with tool_site(args) as site:
        export = site.audit_export(args.since)
    for e in export.entries:
        print(json.dumps(wire.encode(e)), flush=False)
    print(json.dumps({"head": wire.encode(export.head)}))
    sys.stdout.flush()
    return 0
