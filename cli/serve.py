"""The site's server from the command line: `flashpool serve` (in the foreground, or --detach),
`flashpool status` (how it is) and `flashpool stop`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cli.output import say
from engine.errors import FlashpoolError
from engine.messages import NOT_DURABLE

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.api import SiteStatus
    from server.client import RemoteSite


async def serve(args: argparse.Namespace) -> int:
    import asyncio

    from server import process, sockets

    listen = process.parse_listen(args.listen) if args.listen else None
    path = Path(args.site)
    if args.detach:
        own = sockets.socket_path(path, args.system) if args.system else None  # a host of the plex: its own socket
        if sockets.listening(path, own):
            raise FlashpoolError(
                f"system {args.system} already runs for {path}" if args.system else f"a server already runs for {path}"
            )
        argv = ["serve", "--site", str(path), "--log-level", args.log_level if "log_level" in args else "INFO"]
        for flag in ("listen", "tls_cert", "tls_key", "linger", "copy_rate", "system", "lease"):
            if getattr(args, flag) is not None:
                argv += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
        if args.no_auto_dump:
            argv.append("--no-auto-dump")
        pid = await asyncio.to_thread(process.detach, argv, path, own)
        who = f"system {args.system} of {path}" if args.system else f"the server of {path}"
        say(args, f"flashpool: {who} runs as process {pid}", pid=pid, site=str(path.resolve()))
        return 0
    import logging

    from engine import logs

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
            durable=not args.no_durable,
            system=args.system,
            lease=args.lease,
        )
        return await process.serve(options)
    finally:
        logs.detach(stderr)


def status(args: argparse.Namespace) -> int:
    from cli.connect import server_url
    from cli.thin import ThinError, ThinSite
    from server import sockets, wire

    if url := server_url():  # the server FLASHPOOL_SERVER names, as every other command reaches it
        return _status_at(args, url)
    path = Path(args.site)
    if not sockets.listening(path):
        system = sockets.chosen_system()
        say(
            args,
            f"flashpool: system {system} does not run for {path}"
            if system
            else f"flashpool: no server runs for {path}",
            running=False,
            site=str(path),
        )
        return 3
    thin = ThinSite(path)
    try:
        st = thin.status()
    except ThinError as exc:
        # gone since it answered the look above, or a host of the plex standing by while no host
        # drives the site (a standby that cannot tell, and a server that stops, are errors)
        if exc.code not in (wire.UNREACHABLE, wire.NO_DRIVER):
            raise
        say(args, f"flashpool: no server serves {path} now: {exc}", running=False, site=str(path), message=str(exc))
        return 3
    finally:
        thin.close()
    return _report(args, st)


def _status_at(args: argparse.Namespace, url: str) -> int:
    """`status` of the server at `url` (over TCP, with FLASHPOOL_TOKEN): exit 3 when it cannot
    be reached."""
    from cli.connect import remote
    from server.client import ServerGone

    try:
        api = remote(url)
    except ServerGone as exc:
        say(args, f"flashpool: {exc}", running=False, server=url, message=str(exc))
        return 3
    try:
        st = api.status()
    finally:
        api.close_now()
    return _report(args, st)


def _report(args: argparse.Namespace, st: SiteStatus) -> int:
    """The status of a server that answered."""
    import time

    pct = 100.0 * (1 - st.out_of_sync / st.tracks) if st.tracks else 100.0
    up = time.time() - st.started_at
    say(
        args,
        f"flashpool: the server of {st.site}{' (demo)' if st.demo else ''} runs as process {st.pid}, "
        f"up {_duration(up)}; copies running {st.copies}"
        + (f" ({pct:.0f}% copied, {st.out_of_sync:,} tracks left)" if st.copies else "")
        + (f", {len(st.parked)} parked" if st.parked else "")
        + f"; background dumps {st.background}; held {', '.join(st.holds) or 'none'}"
        + (f"; queued {len(st.queued)} ({'; '.join(st.queued)})" if st.queued else "")
        + f"; clients {st.clients}"
        + (f" ({st.consoles} console(s), {st.waiting} CLI client(s) waiting on a command)" if st.clients else "")
        + (f"\nhosts of the plex: {'; '.join(h.describe() for h in st.hosts)}" if st.hosts else "")
        + ("" if st.durable else f"\nFPL760W {NOT_DURABLE}"),
        running=True,
        durable=st.durable,
        pid=st.pid,
        uptime=round(up, 1),
        copies=st.copies,
        percent=round(pct, 1),
        out_of_sync=st.out_of_sync,
        parked=len(st.parked),
        background=st.background,
        holds=list(st.holds),
        queued=list(st.queued),
        clients=st.clients,
        consoles=st.consoles,
        waiting=st.waiting,
        version=st.version,
        hosts=[
            {"system": h.system, "role": h.role, "live": h.live, "primary": h.primary}
            | {"renewed_ago": round(h.renewed_ago, 1)}
            | {"lease_left": round(h.lease_left, 1), "pid": h.pid, "epoch": h.epoch, "address": h.address}
            | {"domains": list(h.domains), "volumes": h.volumes}
            for h in st.hosts
        ],
    )
    return 0


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


async def stop(args: argparse.Namespace) -> int:
    import asyncio

    from cli.connect import server_url
    from server import sockets

    if url := server_url():  # the server FLASHPOOL_SERVER names, as every other command reaches it
        return await _stop_at(args, url)
    path = Path(args.site)
    system = sockets.chosen_system()
    target = sockets.socket_path(path, system)  # never another host of the plex than the one named
    if not sockets.listening(path, target):
        say(args, f"flashpool: no server runs for {path}" + (f" as system {system}" if system else ""), stopped=False)
        return 0
    from engine.api import NotAuthorized
    from server.client import RemoteSite, ServerGone

    try:
        api = RemoteSite(path)
    except ServerGone:
        if system is None:
            raise
        return await asyncio.to_thread(_stop_host, args, path, system, target)  # no host drives the site now
    try:
        try:
            st: SiteStatus | None = await asyncio.to_thread(api.status)
        except NotAuthorized:  # may stop it without LIST: then it is not told what runs
            st = None
        host = next((h for h in st.hosts if h.system == system), None) if st and system else None
    except BaseException:
        await api.close()
        raise
    if system is not None and (st is None or (host is not None and not host.domains)):
        # it drives nothing (or this user may not read what it runs): it answers the stop itself
        await api.close()
        return await asyncio.to_thread(_stop_host, args, path, system, target)
    return await _stop_through(args, api, st, f"the server of {path}", lambda: _let_go(path, target, api.pid))


async def _stop_at(args: argparse.Namespace, url: str) -> int:
    """`stop` of the server at `url` (over TCP, with FLASHPOOL_TOKEN; READ on STGADMIN.FPL.SERVER
    as on the socket); then wait until it no longer listens there."""
    import asyncio

    from cli.connect import remote
    from engine.api import NotAuthorized
    from server.client import ServerGone

    try:
        api = await asyncio.to_thread(remote, url)
    except ServerGone as exc:  # over TCP that is not proof that none runs: nothing was stopped
        print(f"flashpool: {exc}; nothing was stopped", file=sys.stderr)
        return 12
    try:
        st: SiteStatus | None = await asyncio.to_thread(api.status)
    except NotAuthorized:
        st = None
    except BaseException:
        await api.close()
        raise
    return await _stop_through(args, api, st, f"the server at {url}", lambda: _unheard(url))


async def _stop_through(
    args: argparse.Namespace, api: RemoteSite, st: SiteStatus | None, where: str, let_go: Callable[[], bool]
) -> int:
    """Stop the server `api` reaches (`st`: its status, None when this user may not read it),
    unless copies or background dumps run and --force was not given; then wait until `let_go`
    says it has gone."""
    import asyncio

    try:
        copies = st.copies if st else 0
        dumps = st.background if st else 0
        queued = list(st.queued) if st else []
        consoles, waiting = (st.consoles, st.waiting) if st else (0, 0)
        readers = max(0, st.clients - consoles - waiting) if st else 0
        attached = {"consoles": consoles, "waiting": waiting, "readers": readers}
        held = (
            f"{len(queued)} held request(s) queued in {where} ({'; '.join(queued)}); stopped, they are dropped (a queued "
            "request is kept only while the server runs) and recorded in the activity log as not run (RC 50)"
        )
        dumping = f"{dumps} background dump{'' if dumps == 1 else 's'} (RETURNCONTROL(FREND))"
        meanwhile = "before it exits, serving no client meanwhile"
        if (copies or dumps or queued) and not args.force:
            who = [
                f"{n} {what}"
                for n, what in (
                    (consoles, "console(s) attached"),
                    (waiting, "CLI client(s) waiting on a command"),
                    (readers, "event stream reader(s)"),
                )
                if n
            ]
            running = (
                f"{copies} background cop{'y' if copies == 1 else 'ies'} run in {where}; stopped, they resume "
                "where they are at its next start (nothing copied is lost)"
            )
            dumps_run = (
                f"{dumping} {'runs' if dumps == 1 else 'run'} in {where}; stopped, it finishes "
                f"{'it' if dumps == 1 else 'them'} {meanwhile}"
            )
            work = "; ".join([running] * bool(copies) + [dumps_run] * bool(dumps) + [held] * bool(queued))
            say(
                args,
                f"flashpool: {work}; {', '.join(who) or 'no client attached'}. Stop it anyway with --force",
                stopped=False,
                copies=copies,
                background=dumps,
                queued=queued,
                **attached,
            )
            return 8
        res = await api.stop_server()
    finally:
        await api.close()
    if res.rc:
        for line in res.lines():
            print(f"flashpool: {line}", file=sys.stderr)
        return res.rc
    if dumps:
        print(f"flashpool: {where} (process {api.pid}) finishes {dumping} {meanwhile}; waiting", file=sys.stderr)
    if not await asyncio.to_thread(let_go):
        print(f"flashpool: {where} (process {api.pid}) was asked to stop but still runs after 120 s", file=sys.stderr)
        return 12
    resume = (
        f"; {copies} background cop{'y' if copies == 1 else 'ies'} resume where they are at its next start"
        if copies
        else ""
    )
    if dumps:
        resume += f"; its background dump{'' if dumps == 1 else 's'} ended (the activity log has the result)"
    if queued:
        resume += (
            f"; {len(queued)} queued held request(s) dropped ({'; '.join(queued)}), each recorded in the "
            "activity log as not run (ARC1806E RC 50)"
        )
    seen = "".join(
        f"; {n} {what}"
        for n, what in (
            (consoles, "attached console(s) say the server is gone and reconnect when it runs again"),
            (waiting, "CLI client(s) waiting on a command are told the server stopped"),
            (readers, "event stream reader(s) see their stream end"),
        )
        if n
    )
    say(
        args,
        f"flashpool: {where} (process {api.pid}) has stopped{resume}{seen}",
        stopped=True,
        pid=api.pid,
        copies=copies,
        background=dumps,
        dropped=queued,
        **attached,
    )
    return 0


def _stop_host(args: argparse.Namespace, path: Path, system: str, target: Path) -> int:
    """Stop the host of the plex named, on its own socket (FLASHPOOL_SYSTEM's: a host standing by
    answers that request itself, whether or not a host drives the site); then wait until it has
    let its socket go."""

    from cli.thin import ThinError, ThinSite

    thin = ThinSite(path)
    try:
        res = thin.stop_server()
    except ThinError as exc:
        print(f"flashpool: system {system}: {exc}", file=sys.stderr)
        return 12
    finally:
        thin.close()
    if not _let_go(path, target):
        print(f"flashpool: system {system} of {path} was asked to stop but still answers after 120 s", file=sys.stderr)
        return 12
    text = res.messages[0].text if res.messages else ""
    say(args, f"flashpool: system {system} of {path} has stopped: {text}", stopped=True, system=system)
    return 0


def _unheard(url: str, seconds: float = 120.0) -> bool:
    """Whether the server at `url` asked to stop no longer accepts connections within `seconds`."""
    import socket
    import time
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection((host, port), timeout=2.0):
                pass
        except OSError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _let_go(path: Path, target: Path, pid: int | None = None, seconds: float = 120.0) -> bool:
    """Whether the server asked to stop has let its socket go, and its process `pid` (when known)
    has exited, within `seconds` (blocking): it lets its socket go first, then finishes its
    background dumps and closes the site, which a host standing by takes over only then."""
    import time

    from server import sockets

    deadline = time.monotonic() + seconds
    while sockets.listening(path, target) or (pid is not None and _runs(pid)):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _runs(pid: int) -> bool:
    """Whether process `pid` runs (one that exited and waits for its parent to reap it does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
