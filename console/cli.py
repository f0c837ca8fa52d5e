"""The `flashpool` command: the console, the HSM command language, and site tools.

    flashpool [--site PATH] [--theme NAME] [--read-only]     the console
    flashpool init PATH [--definition FILE | --demo]         create a site
    flashpool hsm 'FRBACKUP COPYPOOL(DB2PROD)' [--json] [--wait]
    flashpool hsm -                                          commands from standard input
    flashpool volume checksum VOLSER                         SHA-256 of what a host reads
    flashpool volume damage VOLSER --tracks A-B              overwrite tracks (recovery drills)
    flashpool workload --copypool CP [--rate N] [--seconds S]  changing data for demos
    flashpool serve [--detach] [--listen HOST:PORT --tls-cert F --tls-key F]   the site's server
    flashpool status | stop                                  the server: how it is, stop it
    flashpool security whoami | list | define | permit | grant | token | set | settings ...
    flashpool audit verify [--against FILE...] | export [--since WHEN]    the audit trail
    flashpool config show | export | apply FILE | add-volume | alter-pool ... [--dry-run]  the constructs

Commands go through the site's server when one runs, and run in this process when none does.

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
from typing import TYPE_CHECKING, TypeVar

from console import cli_config
from console.clisite import act, ask, site_api
from engine import logs
from engine.errors import FlashpoolError
from engine.logs import LEVELS
from engine.paths import is_site, private_file

if TYPE_CHECKING:
    from engine.api import SiteAPI, SiteStatus
    from engine.hsm.messages import CommandResult
    from engine.security import Access

DEFAULT_SITE = "./flashpool-data"
T = TypeVar("T")


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
    if is_site(site) and os.stat(site).st_uid == os.geteuid():  # another user's site: nothing written there
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

    srv = command(sub, "serve", "run the site's server (foreground; --detach to start it in the background)", _serve)
    srv.add_argument("--detach", action="store_true", help="start in the background, return once it listens")
    srv.add_argument("--listen", metavar="HOST:PORT", help="also serve HTTPS on TCP (needs --tls-cert, --tls-key)")
    srv.add_argument("--tls-cert", type=Path, help="PEM certificate (chain) for --listen")
    srv.add_argument("--tls-key", type=Path, help="PEM private key for --listen")
    srv.add_argument("--linger", type=_positive, help="stop after this many seconds with no client and no work")
    srv.add_argument("--no-auto-dump", action="store_true", help="do not run automatic dumps on their schedule")
    srv.add_argument("--copy-rate", type=_positive, help="background copy rate: tracks a second per copier")
    command(sub, "status", "the site's server: pid, uptime, copies, clients (exit 3: none runs)", _status)
    stop = command(sub, "stop", "stop the site's server (it finishes the commands it accepted)", _stop)
    stop.add_argument("--force", action="store_true", help="stop it even while background copies run")

    sec = sub.add_parser("security", help="profiles, access lists, roles and API tokens")
    ssub = sec.add_subparsers(dest="scmd", required=True)
    command(ssub, "whoami", "who you are to the site, and what you may do", _whoami)
    command(ssub, "list", "profiles with their access lists, and roles granted", _sec_list).add_argument(
        "pattern", nargs="?"
    )
    for name, helptext in (("define", "define a FACILITY profile"), ("alter", "change a profile's UACC")):
        sp = command(ssub, name, helptext, _sec_change)
        sp.add_argument("profile")
        sp.add_argument("--uacc", type=_access, default=None, help="NONE, READ, UPDATE, CONTROL or ALTER")
    command(ssub, "delete", "delete a profile and its access list", _sec_change).add_argument("profile")
    pm = command(ssub, "permit", "put a user or group on a profile's access list (--delete: take it off)", _sec_change)
    pm.add_argument("profile")
    _who_args(pm)
    pm.add_argument("--access", type=_access, default=None, help="NONE, READ (default), UPDATE, CONTROL or ALTER")
    pm.add_argument("--delete", action="store_true", help="remove the entry instead")
    for name, helptext in (("grant", "grant a role bundle"), ("revoke", "revoke a role bundle")):
        sp = command(ssub, name, helptext + " (monitor, operator, administrator, security)", _sec_change)
        sp.add_argument("role")
        _who_args(sp)
    tok = ssub.add_parser("token", help="API tokens for the TCP listener")
    tsub = tok.add_subparsers(dest="tcmd", required=True)
    tc = command(tsub, "create", "a new token for USER (shown once)", _sec_change)
    tc.add_argument("user")
    tc.add_argument("--label", default="")
    tc.add_argument("--days", type=int, help="how long it lives (default: the site's token-days setting)")
    command(tsub, "revoke", "revoke token ID", _sec_change).add_argument("token_id", type=int)
    command(tsub, "list", "the tokens (never their secrets), with their expiry", _tokens)
    st = command(ssub, "set", "change a security setting (see `security settings`)", _sec_change)
    st.add_argument("setting", help="share-group, token-days, token-max-days or audit-reads")
    st.add_argument("value")
    command(ssub, "settings", "the site's security settings", _settings)

    aud = sub.add_parser("audit", help="the audit trail")
    asub = aud.add_subparsers(dest="acmd", required=True)
    av = command(
        asub, "verify", "check the sealed chain, its head and checkpoints (exit 8 naming what is wrong)", _audit_verify
    )
    av.add_argument(
        "--against",
        nargs="+",
        type=Path,
        default=[],
        metavar="FILE",
        help="earlier exports or logs whose entries and checkpoints the trail must still hold",
    )
    ex = command(asub, "export", "the entries as JSON lines", _audit_export)
    ex.add_argument("--since", type=_when, help="a date, date and time (ISO 8601) or a Unix time")

    cat = sub.add_parser("catalog", help="the catalog's schema revision and its upgrade")
    csub = cat.add_subparsers(dest="ccmd", required=True)
    command(csub, "check", "the catalog's schema revision (exit 4: it needs an upgrade)", _catalog_check)
    command(csub, "upgrade", "apply the schema migrations (copy the catalog first)", _catalog_upgrade)

    cli_config.add_parsers(sub, command)

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


def _access(text: str) -> Access:
    from engine.security import Access

    try:
        return Access[text.strip().upper()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"{text!r} is not NONE, READ, UPDATE, CONTROL or ALTER") from None


def _when(text: str) -> float:
    import datetime as dt

    try:
        return float(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (2026-12-01), a date and time or a Unix time"
        ) from None


def _who_args(p: argparse.ArgumentParser) -> None:
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--user")
    who.add_argument("--group")


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
    from engine.hsm.service import not_serialised
    from engine.site import SiteInUse

    # bytes that are not UTF-8 reach the parser (which names them) instead of failing the read
    raw = getattr(sys.stdin, "buffer", None)  # a test may hand in a text stream
    stdin = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape") if raw else sys.stdin
    commands = _read_commands(stdin) if args.command == "-" else [args.command]

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
            res = await api.command(text, origin="CLI")
            rc = max(rc, res.rc)
            show(text, res)
        if args.wait:
            rc = max(rc, await _wait(api, quiet=args.json or args.quiet))
    finally:
        await api.close()
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


async def _wait(api: SiteAPI, quiet: bool) -> int:
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


async def _workload(args: argparse.Namespace) -> int:
    api = site_api(args)
    try:
        await api.start()  # in-process, background copies go on while the workload runs
        stats = await api.workload(args.copypool.upper(), rate=args.rate, seconds=args.seconds, seed=args.seed)
        _say(
            args,
            f"flashpool: workload on {stats.copy_pool}: {stats.allocated} allocated, {stats.updated} updated, "
            f"{stats.deleted} deleted, {stats.skipped} skipped, {stats.bytes_written:,} bytes written",
            copy_pool=stats.copy_pool,
            allocated=stats.allocated,
            updated=stats.updated,
            deleted=stats.deleted,
            skipped=stats.skipped,
            bytes_written=stats.bytes_written,
        )
    finally:
        await api.close()
    return 0


async def _checksum(args: argparse.Namespace) -> int:
    from engine.geometry import validate_volser

    volser = validate_volser(args.volser)
    digest = await ask(args, lambda api: api.volume_digest(volser))
    _say(args, f"{digest}  {volser}", volser=volser, sha256=digest)
    return 0


def _said(args: argparse.Namespace, res: CommandResult, text: str, **data: object) -> int:
    """A site tool's result: `text`, or its refusal (ICH408I, RC 36) or failure and their code."""
    if res.rc:
        for line in res.lines():
            print(f"flashpool: {line}", file=sys.stderr)
        return res.rc
    _say(args, text, **data)
    return 0


async def _damage(args: argparse.Namespace) -> int:
    from engine.geometry import validate_volser

    volser = validate_volser(args.volser)
    found = re.fullmatch(r"([0-9]+)(?:-([0-9]+))?", args.tracks.strip(), re.ASCII)
    if found is None:
        raise FlashpoolError(f"--tracks takes A-B or one track number (digits 0-9), not {args.tracks!r}")
    first, last = int(found[1]), int(found[2] or found[1])
    if last < first:
        raise FlashpoolError(f"--tracks {args.tracks}: the last track comes before the first")
    res = await act(args, lambda api: api.damage(volser, first, last))
    text = f"flashpool: {volser} tracks {first}-{last} overwritten with garbage"
    return _said(args, res, text, volser=volser, first_track=first, last_track=last)


async def _ds_list(args: argparse.Namespace) -> int:
    found = await ask(args, lambda api: api.datasets(args.filter.upper() if args.filter else None))
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
    name = args.dsname.upper()
    info, digest = await ask(args, lambda api: (api.dataset(name), api.dataset_digest(name)))
    size = info.bytes_used if info is not None else 0
    _say(args, f"{digest}  {name}", dsname=name, sha256=digest, bytes=size)
    return 0


async def _ds_damage(args: argparse.Namespace) -> int:
    name = args.dsname.upper()
    res = await act(args, lambda api: api.damage_dataset(name))
    tracks = res.data.get("tracks", 0) if res.data else 0
    text = f"flashpool: {name}: {tracks} track(s) overwritten with garbage"
    return _said(args, res, text, dsname=name, tracks=tracks)


async def _serve(args: argparse.Namespace) -> int:
    from server import process, sockets

    listen = process.parse_listen(args.listen) if args.listen else None
    path = Path(args.site)
    if args.detach:
        if sockets.listening(path):
            raise FlashpoolError(f"a server already runs for {path}")
        argv = ["serve", "--site", str(path), "--log-level", args.log_level if "log_level" in args else "INFO"]
        for flag in ("listen", "tls_cert", "tls_key", "linger", "copy_rate"):
            if getattr(args, flag) is not None:
                argv += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
        if args.no_auto_dump:
            argv.append("--no-auto-dump")
        pid = await asyncio.to_thread(process.detach, argv, path)
        _say(args, f"flashpool: the server of {path} runs as process {pid}", pid=pid, site=str(path.resolve()))
        return 0
    import logging

    plain = logging.StreamHandler(sys.stderr)
    plain.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    stderr = logs.queued(plain)
    logs.attach(stderr, logging.getLogger("flashpool").level or logging.INFO)
    try:
        options = process.ServeOptions(
            site=path,
            listen=listen,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            linger=args.linger,
            auto_dump_interval=None if args.no_auto_dump else 60.0,
            copy_rate=args.copy_rate,
        )
        return await process.serve(options)
    finally:
        logs.detach(stderr)


async def _status(args: argparse.Namespace) -> int:
    import time

    from server import sockets

    path = Path(args.site)
    if not sockets.listening(path):
        _say(args, f"flashpool: no server runs for {path}", running=False, site=str(path))
        return 3
    from server.client import RemoteSite

    api = RemoteSite(path)
    try:
        st = await asyncio.to_thread(api.status)
    finally:
        await api.close()
    pct = 100.0 * (1 - st.out_of_sync / st.tracks) if st.tracks else 100.0
    up = time.time() - st.started_at
    _say(
        args,
        f"flashpool: the server of {st.site}{' (demo)' if st.demo else ''} runs as process {st.pid}, "
        f"up {_duration(up)}; copies running {st.copies}"
        + (f" ({pct:.0f}% copied, {st.out_of_sync:,} tracks left)" if st.copies else "")
        + (f", {len(st.parked)} parked" if st.parked else "")
        + f"; background dumps {st.background}; held {', '.join(st.holds) or 'none'}; clients {st.clients}",
        running=True,
        pid=st.pid,
        uptime=round(up, 1),
        copies=st.copies,
        percent=round(pct, 1),
        out_of_sync=st.out_of_sync,
        parked=len(st.parked),
        background=st.background,
        holds=list(st.holds),
        clients=st.clients,
        version=st.version,
    )
    return 0


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


async def _stop(args: argparse.Namespace) -> int:
    import time

    from server import sockets

    path = Path(args.site)
    if not sockets.listening(path):
        _say(args, f"flashpool: no server runs for {path}", stopped=False)
        return 0
    from engine.api import NotAuthorized
    from server.client import RemoteSite

    api = RemoteSite(path)
    try:
        try:
            st: SiteStatus | None = await asyncio.to_thread(api.status)
        except NotAuthorized:  # may stop it without LIST: then it is not told what runs
            st = None
        copies, consoles = (st.copies, st.clients) if st else (0, 0)
        if copies and not args.force:
            _say(
                args,
                f"flashpool: {copies} background cop{'y' if copies == 1 else 'ies'} run in the server of {path}; "
                f"stopped, they resume where they are at its next start (nothing copied is lost); "
                f"{consoles} console(s) attached. Stop it anyway with --force",
                stopped=False,
                copies=copies,
                consoles=consoles,
            )
            return 8
        res = await api.stop_server()
    finally:
        await api.close()
    if res.rc:
        for line in res.lines():
            print(f"flashpool: {line}", file=sys.stderr)
        return res.rc
    deadline = time.monotonic() + 120
    while sockets.listening(path) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    resume = (
        f"; {copies} background cop{'y' if copies == 1 else 'ies'} resume where they are at its next start"
        if copies
        else ""
    )
    seen = (
        f"; {consoles} attached console(s) say the server is gone and reconnect when it runs again" if consoles else ""
    )
    _say(
        args,
        f"flashpool: the server of {path} (process {api.pid}) has stopped{resume}{seen}",
        stopped=True,
        pid=api.pid,
        copies=copies,
        consoles=consoles,
    )
    return 0


async def _whoami(args: argparse.Namespace) -> int:
    from engine.security import Check, Function

    functions = list(Function)
    api, decisions = await ask(args, lambda api: (api, api.may([Check(f) for f in functions])))
    if args.json:
        print(
            json.dumps(
                {
                    "user": api.who.user,
                    "groups": list(api.who.groups),
                    "mode": api.mode,
                    "may": {f.value: d.allowed for f, d in zip(functions, decisions, strict=True)},
                }
            )
        )
        return 0
    print(f"flashpool: you are {api.who.describe()} to {api.name} ({api.mode})")
    for f, d in zip(functions, decisions, strict=True):
        print(f"  {'✔ may    ' if d.allowed else '✘ may not'} {f.value:<24} {d.why}")
    return 0


async def _sec_list(args: argparse.Namespace) -> int:
    from engine import wire

    profiles, grants = await ask(args, lambda api: (api.profiles(args.pattern), api.role_grants()))
    if args.json:
        print(json.dumps({"profiles": wire.encode(profiles), "roles": wire.encode(grants)}))
        return 0
    for p in profiles:
        origin = "" if p.defined else "  (from a role)"
        print(f"{p.name:<40} UACC({p.uacc.name}){origin}")
        for e in p.permits:
            via = f"  via role {e.role}" if e.role else ""
            print(f"    {e.kind.value:<5} {e.name:<16} {e.access.name}{via}")
    for g in grants:
        print(f"role {g.role:<13} {g.kind.value:<5} {g.name:<16} granted by {g.granted_by}")
    return 0


async def _sec_change(args: argparse.Namespace) -> int:
    from engine.api import Change, SecurityChange
    from engine.security import Access, Kind

    kind = Kind.GROUP if getattr(args, "group", None) else Kind.USER
    name = getattr(args, "group", None) or getattr(args, "user", None) or ""
    if args.scmd == "token":
        change = (
            SecurityChange(Change.TOKEN, name=args.user, label=args.label, days=args.days)
            if args.tcmd == "create"
            else SecurityChange(Change.UNTOKEN, token_id=args.token_id)
        )
    elif args.scmd == "set":
        change = SecurityChange(Change.SET, name=args.setting, value=args.value)
    elif args.scmd in ("define", "alter"):
        if args.scmd == "alter" and args.uacc is None:
            raise FlashpoolError("alter takes --uacc")
        c = Change.DEFINE if args.scmd == "define" else Change.ALTER
        change = SecurityChange(c, profile=args.profile, uacc=args.uacc or Access.NONE)
    elif args.scmd == "delete":
        change = SecurityChange(Change.DELETE, profile=args.profile)
    elif args.scmd == "permit":
        if args.delete and args.access is not None:
            raise FlashpoolError("permit takes --access or --delete, not both")
        c = Change.REMOVE if args.delete else Change.PERMIT
        change = SecurityChange(c, profile=args.profile, kind=kind, name=name, access=args.access or Access.READ)
    else:
        c = Change.GRANT if args.scmd == "grant" else Change.REVOKE
        change = SecurityChange(c, kind=kind, name=name, role=args.role)
    res = await act(args, lambda api: api.change_security(change))
    if args.json:
        print(res.to_json())  # a new token's secret is in its data
        return res.rc
    for line in res.lines():
        print(line, file=sys.stderr if res.rc else sys.stdout)
    if res.rc == 0 and res.data and "token" in res.data:
        print(res.data["token"])
    return res.rc


async def _tokens(args: argparse.Namespace) -> int:
    import datetime as dt
    import time

    from engine import wire

    tokens = await ask(args, lambda api: api.tokens())
    if args.json:
        print(json.dumps({"tokens": wire.encode(tokens)}))
        return 0
    now = time.time()

    def day(at: float | None) -> str:
        return dt.datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M") if at is not None else "never"

    print(f"{'ID':>5} {'USER':<16} {'STATE':<8} {'CREATED':<16} {'EXPIRES':<16} BY / LABEL")
    for t in tokens:
        print(
            f"{t.id:>5} {t.user:<16} {t.state(now):<8} {day(t.created_at):<16} {day(t.expires_at):<16} "
            f"{t.created_by}  {t.label}"
        )
    return 0


async def _settings(args: argparse.Namespace) -> int:
    found = await ask(args, lambda api: api.settings())
    if args.json:
        print(json.dumps({"settings": {s.name: s.value for s in found}}))
        return 0
    for s in found:
        print(f"{s.name:<16} {s.value:<12} {s.meaning}")
    return 0


async def _audit_verify(args: argparse.Namespace) -> int:
    from engine.security.audit import marks_in

    against = []
    for path in args.against:
        try:
            against += marks_in(path.read_text(errors="replace"), str(path))
        except OSError as exc:
            raise FlashpoolError(f"--against {path}: {exc.strerror or exc}") from None
    report = await ask(args, lambda api: api.audit_verify(against))
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
        _say(
            args,
            f"flashpool: the audit trail verifies: {report.entries} entries, every seal and link valid, "
            f"the head at entry {report.head.seq} (key {report.head.key}){kept}",
        )
    return 8 if report.problems else 0


async def _audit_export(args: argparse.Namespace) -> int:
    """The entries as JSON lines, then the head of the trail when they were read: kept apart
    from the site, it lets a later `audit verify --against` prove no entry was rewritten."""
    from engine import wire

    export = await ask(args, lambda api: api.audit_export(args.since))
    for e in export.entries:
        print(json.dumps(wire.encode(e)), flush=False)
    print(json.dumps({"head": wire.encode(export.head)}))
    sys.stdout.flush()
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
