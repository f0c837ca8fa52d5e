"""The `flashpool` command's entry point: parse, run the command, turn every error into a
message and an exit code; with no command, open the console."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """`flashpool hsm` through a running server takes the thin path (cli.thin: none of the
    engine imported); every other command line the full one."""
    from cli import thin

    argv = sys.argv[1:] if argv is None else list(argv)
    rc = thin.main(argv)
    return full(argv) if rc is None else rc


def full(argv: list[str]) -> int:
    """Every other command line: parsed, then run (a coroutine on an event loop of its own; a
    blocking command, cli.tools's, as it is: through a server it needs no event loop)."""
    import inspect

    from cli.connect import UsageError, path_problem
    from cli.parser import make_parser
    from engine import logs
    from engine.errors import FlashpoolError

    parser = make_parser()
    args = parser.parse_args(argv)
    site = (args.path or args.site) if args.cmd == "init" else args.site
    if why := path_problem(site):  # a usage error: nothing is looked for there, nothing made
        print(f"flashpool: the system cannot name the site path {_shown(site)}: {why}", file=sys.stderr)
        return 2
    handler = logs.to_site(Path(site), args.log_level)
    try:
        if args.cmd is None:
            return open_console(args)
        if not inspect.iscoroutinefunction(args.run):
            return int(args.run(args))
        import asyncio

        return int(asyncio.run(args.run(args)))
    except UsageError as exc:
        print(f"flashpool: {exc}", file=sys.stderr)
        return 2
    except FlashpoolError as exc:
        print(f"flashpool: {exc}", file=sys.stderr)
        return 12
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `flashpool hsm ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - one line for the operator, the traceback in the site's log
        return internal_error(args, exc)
    finally:
        logs.detach(handler)


def _shown(path: str, most: int = 60) -> str:
    """A path for a one-line message: its start and end when it is long."""
    return path if len(path) <= most else f"{path[: most // 2]}...{path[-most // 2 :]}"


def open_console(args: argparse.Namespace) -> int:
    """The Textual console: imported here, so that no other command loads Textual."""
    from cli.parser import DEFAULT_SITE
    from console.app import open_console

    return open_console(
        args.site, theme=args.theme, read_only=args.read_only, demo_if_missing=args.site == DEFAULT_SITE
    )


def internal_error(args: argparse.Namespace, exc: Exception) -> int:
    """An error nobody foresaw: one line, and the traceback in the site's error log (only inside
    an existing site: nothing is written elsewhere)."""
    import time
    import traceback

    from engine.paths import is_site, private_file

    site = Path(args.site if args.cmd != "init" else (args.path or args.site))
    where = ""
    try:
        ours = is_site(site) and os.stat(site).st_uid == os.geteuid()
    except OSError:  # not a path this system can look at: nothing is written
        ours = False
    if ours:  # another user's site: nothing written there
        log = site / "flashpool-errors.log"
        try:
            with open(private_file(log, os.O_WRONLY | os.O_APPEND), "a") as f:
                f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} flashpool {' '.join(sys.argv[1:])}\n")
                f.write("".join(traceback.format_exception(exc)))
            where = f"; the details are in {log}"
        except OSError as why:
            where = f"; its details could not be written to {log} ({why.strerror or why})"
    print(f"flashpool: internal error ({type(exc).__name__}: {exc}){where}", file=sys.stderr)
    return 16


if __name__ == "__main__":
    sys.exit(main())
