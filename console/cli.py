"""The `flashpool` command: the console, the HSM command language, and site tools.

    flashpool [--site PATH] [--theme NAME] [--read-only]     the console
    flashpool init PATH [--definition FILE | --demo]         create a site
    flashpool hsm 'FRBACKUP COPYPOOL(DB2PROD)' [--json] [--wait]
    flashpool hsm -                                          commands from standard input
    flashpool volume checksum VOLSER                         SHA-256 of what a host reads
    flashpool volume damage VOLSER --tracks A-B              overwrite tracks (recovery drills)
    flashpool workload --copypool CP [--rate N] [--seconds S]  changing data for demos

Every error is a message and an exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import os
import re
import sys
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from engine import logs
from engine.errors import FlashpoolError
from engine.logs import LEVELS
from engine.paths import Sharing, is_site

if TYPE_CHECKING:
    from engine.site import Site

DEFAULT_SITE = "./flashpool-data"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    site = (args.path or args.site) if args.cmd == "init" else args.site
    handler = logs.to_site(Path(site), args.log_level)
    try:
        if args.cmd is None:
            return _console(args)
        run: Callable[[argparse.Namespace], Coroutine[None, None, int]] = args.run
        return asyncio.run(run(args))
    except FlashpoolError as exc:
        print(f"flashpool: {exc}", file=sys.stderr)
        return 12
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `flashpool hsm ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - one line for the operator, the traceback in the site's log
        return _internal_error(args, exc)
    finally:
        logs.detach(handler)


def _internal_error(args: argparse.Namespace, exc: Exception) -> int:
    """An error nobody foresaw: one line, and the traceback in the site's error log (only inside
    an existing site: nothing is written elsewhere)."""
    import time
    import traceback

    site = Path(args.site if args.cmd != "init" else (args.path or args.site))
    where = ""
    if is_site(site):
        log = site / "flashpool-errors.log"
        with open(Sharing.of(site).create(log, os.O_WRONLY | os.O_APPEND), "a") as f:
            f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} flashpool {' '.join(sys.argv[1:])}\n")
            f.write("".join(traceback.format_exception(exc)))
        where = f"; the details are in {log}"
    print(f"flashpool: internal error ({type(exc).__name__}: {exc}){where}", file=sys.stderr)
    return 16


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flashpool", description="DFSMShsm-style fast replication on volume images.")
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    p.add_argument("--site", default=DEFAULT_SITE, help=f"site directory (default {DEFAULT_SITE})")
    p.add_argument("--theme", help="console theme")
    p.add_argument("--read-only", action="store_true", help="console accepts no command that changes anything")
    p.add_argument("--log-level", choices=LEVELS, default="INFO", help="what goes to the site's flashpool.log")
    # what every command shares; --site may come before or after the command
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--site", default=argparse.SUPPRESS, help=f"site directory (default {DEFAULT_SITE})")
    common.add_argument("--json", action="store_true", help="print results as JSON (one object per result; schemas/)")
    common.add_argument("--quiet", action="store_true", help="print only results and errors")
    common.add_argument(
        "--log-level",
        choices=LEVELS,
        default=argparse.SUPPRESS,
        help="what goes to the site's flashpool.log (default INFO)",
    )
    sub = p.add_subparsers(dest="cmd")

    def command(
        parent: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        help: str,  # noqa: A002 - argparse's name
        run: Callable[[argparse.Namespace], Coroutine[None, None, int]],
    ) -> argparse.ArgumentParser:
        cmd = parent.add_parser(name, help=help, parents=[common])
        cmd.set_defaults(run=run)
        return cmd

    init = command(sub, "init", "create a site", _init)
    init.add_argument("path", nargs="?", default=None)
    group = init.add_mutually_exclusive_group()
    group.add_argument("--definition", help="site definition file (TOML)")
    group.add_argument("--demo", action="store_true", help="the demo site, with data and versions")

    hsm = command(sub, "hsm", "run HSM commands", _hsm)
    hsm.add_argument("command", help="the command, or - to read commands from standard input")
    hsm.add_argument("--wait", action="store_true", help="then wait until every background copy completes")

    wl = command(sub, "workload", "run a batch-like workload on a copy pool's volumes", _workload)
    wl.add_argument("--copypool", required=True)
    wl.add_argument("--rate", type=_positive, default=20.0, help="operations per second (default 20)")
    wl.add_argument("--seconds", type=_positive, default=10.0, help="how long to run (default 10)")
    wl.add_argument("--seed", type=int)

    vol = sub.add_parser("volume", help="volume tools")
    vsub = vol.add_subparsers(dest="vcmd", required=True)
    command(vsub, "checksum", "SHA-256 of the volume's logical content", _checksum).add_argument("volser")
    dmg = command(vsub, "damage", "overwrite tracks with garbage through the normal write path", _damage)
    dmg.add_argument("volser")
    dmg.add_argument("--tracks", required=True, help="A-B (inclusive) or one track")

    cat = sub.add_parser("catalog", help="the catalog's schema revision and its upgrade")
    csub = cat.add_subparsers(dest="ccmd", required=True)
    command(csub, "check", "the catalog's schema revision (exit 4: it needs an upgrade)", _catalog_check)
    command(csub, "upgrade", "apply the schema migrations (copy the catalog first)", _catalog_upgrade)

    ds = sub.add_parser("dataset", help="data set tools (check a data set recovery from outside)")
    dsub = ds.add_subparsers(dest="dcmd", required=True)
    command(dsub, "list", "the cataloged data sets (FILTER: a DFSMS pattern such as PAY.**)", _ds_list).add_argument(
        "filter", nargs="?"
    )
    command(dsub, "checksum", "SHA-256 of the data set's content", _ds_checksum).add_argument("dsname")
    command(
        dsub, "damage", "overwrite the data set's tracks with garbage through the normal write path", _ds_damage
    ).add_argument("dsname")
    return p


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flashpool")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def _positive(text: str) -> float:
    """A finite number above zero (argparse turns the ValueError into a usage error)."""
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number above zero")
    return value


def _say(args: argparse.Namespace, text: str, **data: object) -> None:
    """A command's result: a line of text, or with --json one JSON object."""
    if args.json:
        print(json.dumps(data), flush=True)
    elif not args.quiet or not text.startswith("flashpool:"):
        print(text, flush=True)


def _console(args: argparse.Namespace) -> int:
    from console.app import open_console

    return open_console(
        args.site, theme=args.theme, read_only=args.read_only, demo_if_missing=args.site == DEFAULT_SITE
    )


async def _init(args: argparse.Namespace) -> int:
    from engine.hsm.definition import load_definition
    from engine.hsm.demo import demo_definition, seed_demo
    from engine.site import Site

    path = args.path or args.site
    if args.definition:
        site = Site.create(path, load_definition(args.definition))
    else:
        site = Site.create(path, demo_definition() if args.demo else None)
    try:
        if args.demo:
            await seed_demo(site)
        _say(
            args,
            f"flashpool: site created at {Path(path).resolve()} ({len(site.volumes)} volumes)",
            site=str(Path(path).resolve()),
            volumes=len(site.volumes),
            demo=bool(args.demo),
        )
    finally:
        await site.close()
    return 0


async def _hsm(args: argparse.Namespace) -> int:
    from engine.command.syntax import printable
    from engine.site import Site

    site = Site.open(args.site)
    rc = 0
    try:
        # bytes that are not UTF-8 reach the parser (which names them) instead of failing the read
        raw = getattr(sys.stdin, "buffer", None)  # a test may hand in a text stream
        stdin = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape") if raw else sys.stdin
        commands = _read_commands(stdin) if args.command == "-" else [args.command]
        for text in commands:
            res = await site.command(text, origin="CLI")
            rc = max(rc, res.rc)
            if args.json:
                print(res.to_json(), flush=True)
            else:
                if len(commands) > 1:
                    print(f"> {printable(text.rstrip())}")
                for line in res.lines():
                    print(line, flush=True)
        if args.wait:
            rc = max(rc, await _wait(site, quiet=args.json or args.quiet))
    finally:
        await site.close()
    return rc


def _read_commands(stream: Iterable[str]) -> list[str]:
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


async def _wait(site: Site, quiet: bool) -> int:
    """Until every background copy has completed, or is parked (e.g. the disk filled up): a parked
    copy is reported and the wait returns RC 12, never hangs."""
    fc = site.flashcopy
    fc.start()
    tty = sys.stderr.isatty() and not quiet
    while cands := [r for r in fc.core.copy_candidates() if r.id not in fc.failed]:
        if tty:
            left = sum(r.out_of_sync for r in cands)
            total = sum(r.length for r in cands)
            print(
                f"\rcopying: {len(cands)} relationship(s), {left:,} of {total:,} tracks left   ",
                end="",
                file=sys.stderr,
            )
        await asyncio.sleep(0.2)
    if tty:
        print("\rcopying: complete" + " " * 40 if not fc.failed else "", file=sys.stderr)
    for rel_id, why in sorted(fc.failed.items()):
        print(
            f"flashpool: the background copy of relationship {rel_id} is parked: {why}; what it copied is kept "
            "and it resumes when the site is next opened with space free",
            file=sys.stderr,
        )
    return 12 if fc.failed else 0


async def _workload(args: argparse.Namespace) -> int:
    from engine.datasets.workload import run_workload
    from engine.site import Site

    site = Site.open(args.site)
    try:
        site.flashcopy.start()  # background copies go on while the workload runs
        stats = await run_workload(site, args.copypool.upper(), rate=args.rate, seconds=args.seconds, seed=args.seed)
        _say(
            args,
            f"flashpool: workload on {args.copypool.upper()}: {stats.allocated} allocated, {stats.updated} updated, "
            f"{stats.deleted} deleted, {stats.skipped} skipped, {stats.bytes_written:,} bytes written",
            copy_pool=args.copypool.upper(),
            allocated=stats.allocated,
            updated=stats.updated,
            deleted=stats.deleted,
            skipped=stats.skipped,
            bytes_written=stats.bytes_written,
        )
    finally:
        await site.close()
    return 0


async def _checksum(args: argparse.Namespace) -> int:
    from engine.geometry import validate_volser
    from engine.hsm.verify import volume_digest
    from engine.site import Site

    volser = validate_volser(args.volser)
    site = Site.open(args.site)
    try:
        site.volume(volser)  # an unknown volser is a clear error before anything is read
        digest = await asyncio.to_thread(volume_digest, site.context, volser)
        _say(args, f"{digest}  {volser}", volser=volser, sha256=digest)
    finally:
        await site.close()
    return 0


async def _damage(args: argparse.Namespace) -> int:
    from engine.geometry import validate_volser
    from engine.site import Site

    volser = validate_volser(args.volser)
    found = re.fullmatch(r"([0-9]+)(?:-([0-9]+))?", args.tracks.strip(), re.ASCII)
    if found is None:
        raise FlashpoolError(f"--tracks takes A-B or one track number (digits 0-9), not {args.tracks!r}")
    first, last = int(found[1]), int(found[2] or found[1])
    if last < first:
        raise FlashpoolError(f"--tracks {args.tracks}: the last track comes before the first")
    site = Site.open(args.site)
    try:
        vol = site.volume(volser)
        vol.geometry.check_extent(first, last - first + 1)
        garbage = [os.urandom(vol.geometry.track_size) for _ in range(last - first + 1)]
        await site.flashcopy.write_run(volser, first, garbage)
        _say(
            args,
            f"flashpool: {volser} tracks {first}-{last} overwritten with garbage",
            volser=volser,
            first_track=first,
            last_track=last,
        )
    finally:
        await site.close()
    return 0


async def _ds_list(args: argparse.Namespace) -> int:
    from engine.site import Site

    site = Site.open(args.site)
    try:
        found = await asyncio.to_thread(site.datasets.cataloged, args.filter.upper() if args.filter else None)
    finally:
        await site.close()
    if args.json:
        print(
            json.dumps(
                {
                    "datasets": [
                        {
                            "name": d.name,
                            "dsorg": d.dsorg,
                            "bytes_used": d.bytes_used,
                            "tracks": d.tracks,
                            "extents": [
                                {"volser": e.volser, "first_track": e.first, "tracks": e.tracks} for e in d.extents
                            ],
                        }
                        for d in found
                    ]
                }
            )
        )
        return 0
    for d in found:
        where = " ".join(f"{e.volser}:{e.first}-{e.last}" for e in d.extents)
        print(f"{d.name:<44} {d.dsorg:<4} {d.bytes_used:>12,} bytes  {where}")
    if not args.quiet:
        print(f"flashpool: {len(found)} data set(s)")
    return 0


async def _ds_checksum(args: argparse.Namespace) -> int:
    import hashlib

    from engine.site import Site

    site = Site.open(args.site)
    try:
        data = await site.datasets.read(args.dsname.upper())
    finally:
        await site.close()
    digest = hashlib.sha256(data).hexdigest()
    _say(args, f"{digest}  {args.dsname.upper()}", dsname=args.dsname.upper(), sha256=digest, bytes=len(data))
    return 0


async def _ds_damage(args: argparse.Namespace) -> int:
    from engine.datasets.manager import DataSetError
    from engine.site import Site

    name = args.dsname.upper()
    site = Site.open(args.site)
    try:
        info = await asyncio.to_thread(site.datasets.get, name)
        if info is None:
            raise DataSetError(f"data set {name} is not cataloged")
        for e in info.extents:
            size = site.volume(e.volser).geometry.track_size
            await site.flashcopy.write_run(e.volser, e.first, [os.urandom(size) for _ in range(e.tracks)])
    finally:
        await site.close()
    _say(args, f"flashpool: {name}: {info.tracks} track(s) overwritten with garbage", dsname=name, tracks=info.tracks)
    return 0


async def _catalog_check(args: argparse.Namespace) -> int:
    from engine.catalog import Catalog
    from engine.site import Site

    if not Path(args.site).is_dir():
        raise FlashpoolError(f"{args.site} is not a flashpool site")
    revision, head = Catalog.revision(Site.catalog_url(Path(args.site)))
    current = revision == head
    text = (
        f"flashpool: the catalog is at schema revision {revision}, the newest"
        if current
        else f"flashpool: the catalog is at schema revision {revision}; this flashpool needs {head}: "
        f"copy the catalog, then run `flashpool catalog upgrade --site {args.site}`"
    )
    _say(args, text, revision=revision, head=head, current=current)
    return 0 if current else 4


async def _catalog_upgrade(args: argparse.Namespace) -> int:
    from engine.site import Site

    before, after = await asyncio.to_thread(Site.upgrade_catalog, args.site)
    _say(
        args,
        f"flashpool: the catalog was at schema revision {before}; it is now at {after}"
        if before != after
        else f"flashpool: the catalog is already at schema revision {after}",
        before=before,
        after=after,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
