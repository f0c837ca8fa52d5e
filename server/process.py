"""`flashpool serve`: the process that owns a site — its FlashCopy state, background copies,
scheduled dumps and alerts — and answers its clients.

In the foreground by default (systemd, containers): logs to standard error and the site's log;
SIGTERM or SIGINT (or an authorized `flashpool stop`) stops taking commands, lets the accepted
ones finish, stops the copiers after the chunk in flight, persists and exits 0. A SIGKILL loses
nothing the catalog had: the next start resumes from it, as any open of the site does.
`--detach` starts the same command in its own session and returns once it listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from sqlalchemy.exc import DatabaseError, DBAPIError

from engine import sitefiles
from engine.api import LocalSite
from engine.api.local import queued_pool
from engine.catalog import Catalog, settings
from engine.demo import pace_demo
from engine.errors import FlashpoolError
from engine.hostviews import LEASE_SECONDS
from engine.messages import NOT_DURABLE, CommandResult, Rc
from engine.paths import private_file
from engine.plex import Fenced, Membership, Ownership, PoolEnqueues, SystemInUse
from engine.security import Identity, auditkey
from engine.site import Site, SiteInUse, check_site
from server import plexhost, sockets, standby
from server.app import SiteServer, http_log

log = logging.getLogger("flashpool.server")

CHECKPOINT_SECONDS = 60.0

#: where a detached server's standard error goes (inside the site, like every file flashpool writes)
DETACHED_OUTPUT = "flashpool-server.out"


@dataclass(frozen=True, slots=True)
class ServeOptions:
    site: Path
    listen: tuple[str, int] | None = None  # TCP, with TLS and tokens only
    tls_cert: Path | None = None
    tls_key: Path | None = None
    linger: float | None = None  # stop after this long with no client and nothing running
    auto_dump_interval: float | None = 60.0  # how often the dump schedule is looked at (site clock decides)
    copy_rate: float | None = None  # tracks a second per copier (None: as fast as the disk goes)
    durable: bool = True  # False (--no-durable): promises kept through a process crash only, not a power cut
    system: str | None = None  # --system: this server is that host of the site's HSMplex (engine.plex)
    lease: float = LEASE_SECONDS  # --lease: how long its lease runs unless renewed


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise FlashpoolError(f"--listen takes HOST:PORT (e.g. 127.0.0.1:8443), not {text!r}")
    return host.strip("[]"), int(port)


def _tls(options: ServeOptions) -> ssl.SSLContext | None:
    if options.listen is None:
        if options.tls_cert or options.tls_key:
            raise FlashpoolError("--tls-cert and --tls-key are for --listen (the Unix socket needs no TLS)")
        return None
    if not (options.tls_cert and options.tls_key):
        raise FlashpoolError("--listen needs --tls-cert and --tls-key: the API is never served in clear text")
    return tls_context(options.tls_cert, options.tls_key)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server's TLS (1.2 at least) with this certificate chain and key: `serve --listen` and
    `flashpool web` alike."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise FlashpoolError(f"the TLS certificate or key cannot be used: {exc}") from None
    return ctx


async def serve(options: ServeOptions) -> int:

    tls = _tls(options)
    sock_path = sockets.socket_path(options.site)
    try:
        joined = await _standing_by(_joined(options))  # with --system: nothing of the site is written before
    except StoppedStandingBy:
        return 0
    try:
        site = await _open_site(options, joined)
    except BaseException:
        if joined is not None:
            await asyncio.to_thread(joined.part)
        raise
    if joined is not None:
        site.context.system = joined.membership.system  # its listings name the host that made them
        for message_id, text in joined.said:
            await asyncio.to_thread(plexhost.record, site, message_id, text)
    if not options.durable:
        log.warning("serve: FPL760W %s", NOT_DURABLE)
    pace_demo(site)
    site.hsm.queueing = True  # held NOWAIT requests wait for their RELEASE here
    if options.copy_rate is not None:
        # chunks of a quarter second's worth, so the rate holds on small volumes too
        chunk = max(1, min(site.flashcopy.settings.chunk_tracks, int(options.copy_rate / 4)))
        site.flashcopy.settings = dataclasses.replace(
            site.flashcopy.settings, tracks_per_second=options.copy_rate, chunk_tracks=chunk
        )
    stop = asyncio.Event()
    started = time.time()
    holder: list[SiteServer] = []
    api = LocalSite(
        site,
        Identity.current(),
        mode="server",
        clients=lambda: holder[0].clients() if holder else 0,
        attached=lambda: holder[0].attached() if holder else (0, 0),
        started_at=started,
    )
    server = SiteServer(api, on_stop=stop.set)
    holder.append(server)
    runner = web.AppRunner(server.app, access_log=None, handle_signals=False, shutdown_timeout=5.0, logger=http_log)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    plex: asyncio.Task[None] | None = None
    try:
        if joined is not None:
            membership = joined.membership
            site.hsm.enqueues = PoolEnqueues(membership)  # copy pool commands serialise across the hosts
            plex = asyncio.create_task(plexhost.keep(site, membership, joined.ownership, stop), name="flashpool-plex")
            await site.start(options.auto_dump_interval, lambda: membership.primary and membership.trusted())
        else:
            await site.start(options.auto_dump_interval)
        await runner.setup()
        gid = await asyncio.to_thread(site.share_gid)
        await web.SockSite(runner, sockets.bind(options.site, gid)).start()
        where = [str(sock_path)]
        if options.system is not None:  # this host's own socket too: its clients stay with it
            await web.SockSite(runner, sockets.bind(options.site, gid, options.system)).start()
            where.append(str(sockets.socket_path(options.site, options.system)))
        if options.listen is not None:
            host, port = options.listen
            await web.TCPSite(runner, host, port, ssl_context=tls).start()
            where.append(f"https://{host}:{port}")
        log.info(
            "FPL700I SERVER STARTED: PID %d, SITE %s, LISTENING ON %s", os.getpid(), options.site, ", ".join(where)
        )
        sd_notify(f"READY=1\nSTATUS=listening on {', '.join(where)}\nMAINPID={os.getpid()}")
        watcher = asyncio.create_task(_linger(server, api, options.linger, stop)) if options.linger else None
        await asyncio.to_thread(site.checkpoint_audit, True)
        checkpoints = asyncio.create_task(_checkpoints(site))
        await stop.wait()
        log.info("FPL701I SERVER STOPPING: NO NEW COMMANDS; %d IN FLIGHT", len(server.in_flight))
        sd_notify(f"STOPPING=1\nSTATUS=finishing {len(server.in_flight)} command(s)")
        checkpoints.cancel()
        if watcher is not None:
            watcher.cancel()
        await server.drain()
        await _drop_queued(site)
    finally:
        for path in (sock_path, sockets.socket_path(options.site, options.system)) if options.system else (sock_path,):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        try:
            await runner.cleanup()
            await site.close()  # a host of the plex still renews its lease meanwhile: closing writes
        finally:  # a second SIGTERM or ^C while it stops changes nothing: it is stopping already
            if plex is not None:
                plex.cancel()
            if joined is not None:  # only now may another host take the site: nothing more is written
                await asyncio.to_thread(joined.part)
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
    log.info("FPL702I SERVER STOPPED: PID %d, UP %.0f S", os.getpid(), time.time() - started)
    return 0


@dataclass
class Joined:
    """This server as a host of the plex: its membership (on a catalog connection of its own, so
    renewals never wait behind the site's work), the volumes it owns, and what it has to say in
    the activity log and the audit trail once the site is open."""

    membership: Membership
    ownership: Ownership
    said: list[tuple[str, str]]

    def part(self) -> None:
        _part(self.membership)


def _part(membership: Membership) -> None:
    """Leave the plex (the primary and the name free at once) while the lease is trusted; a host
    that lost it only lets go of its connection (blocking)."""
    try:
        if membership.trusted():
            with contextlib.suppress(FlashpoolError, DBAPIError, OSError):
                epoch = membership.lease.epoch if membership.lease else 0
                membership.leave()
                log.info(
                    "FPL778I SYSTEM %s LEFT THE HSMPLEX (EPOCH %d): ANOTHER HOST MAY TAKE ITS PLACE",
                    membership.system,
                    epoch,
                )
    finally:
        membership.catalog.close()


async def _open_site(options: ServeOptions, joined: Joined | None) -> Site:
    """The site opened, its lock held (one server per site on a machine). A host of the plex
    opens it fenced by the tokens of the volumes it owns, renewing its lease meanwhile (opening a
    big site, or finishing what a dead host left, takes a while), and waits while the host that
    drove the site before still holds the site's lock: stalled, not dead, it lets go when it
    finds its lease gone."""
    if joined is None:
        return Site.open(options.site, durable=options.durable)
    m = joined.membership
    renewing = asyncio.create_task(_renewing(m))
    try:
        said = False
        while True:
            if not m.trusted():
                raise Fenced(f"system {m.system} could not keep its lease while it opened the site")
            try:
                return await asyncio.to_thread(Site.open, options.site, durable=options.durable, fence=joined.ownership)
            except SiteInUse as exc:
                if not said:
                    log.warning("serve: %s; system %s waits for it to let the site go", exc, m.system)
                    said = True
                await asyncio.sleep(m.lease_seconds / 10)
    finally:
        renewing.cancel()


async def _renewing(membership: Membership) -> None:
    """While the site opens: the lease renewed (a lost one is found by `trusted` after the open)."""
    while True:
        await asyncio.sleep(membership.lease_seconds / 3)
        with contextlib.suppress(DBAPIError, OSError, Fenced):
            await asyncio.to_thread(membership.renew)


def _share_gid(catalog: Catalog) -> int | None:
    with catalog.transaction() as c:
        return sitefiles.share_gid(settings.read(c).share_group)


class StoppedStandingBy(Exception):
    """SIGTERM or ^C while the host stood by: it left the plex; nothing else to do."""


async def _standing_by(joining: Coroutine[None, None, Joined | None]) -> Joined | None:
    """Join the plex (a host may stand by a long time, while another drives the site): a SIGTERM
    or ^C meanwhile leaves the plex in good order and ends the server (StoppedStandingBy)."""
    task = asyncio.ensure_future(joining)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        if task.cancelled():
            log.info("FPL702I SERVER STOPPED WHILE IT STOOD BY: PID %d", os.getpid())
            raise StoppedStandingBy from None
        raise
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def _joined(options: ServeOptions) -> Joined | None:
    """With --system, before the site is opened (opening it finishes what a dead host left half
    done, which writes its volumes): join the site's HSMplex under that name (refused while
    another live process holds it) and own every domain of its volumes; None without."""
    if options.system is None:
        return None
    own = sockets.socket_path(options.site, options.system)  # where the other hosts reach this one
    address = f"https://{options.listen[0]}:{options.listen[1]}" if options.listen else str(own)
    catalog = Catalog.open(Site.catalog_url(options.site))
    membership = Membership(catalog, options.system, address=address, lease=options.lease)
    deadline = time.monotonic() + 2 * membership.lease_seconds
    try:
        while True:
            try:
                lease = await asyncio.to_thread(membership.join)
                break
            except SystemInUse as exc:  # an earlier instance that died still holds it: its lease runs out
                if sockets.listening(options.site, own):  # or it is alive: it answers on the name's own socket
                    raise SystemInUse(
                        f"system {options.system} already runs for {options.site}: a live server answers on {own}; "
                        f"stop it first (FLASHPOOL_SYSTEM={options.system} flashpool stop)"
                    ) from None
                if time.monotonic() > deadline:
                    raise
                log.warning("serve: %s; waiting", exc)
                await asyncio.sleep(membership.lease_seconds / 10)
        said = [("FPL770I", f"SYSTEM {options.system} JOINED THE HSMPLEX (EPOCH {lease.epoch}) AT {address}")]
        proxy: list[web.AppRunner] = []

        async def standing_by() -> None:  # its clients are served meanwhile, by the driving host
            key = auditkey.load(options.site)
            if key is None:
                raise FlashpoolError(
                    f"the site has no audit key ({auditkey.key_path(options.site)}): nothing is forwarded"
                )
            gid = await asyncio.to_thread(_share_gid, catalog)
            proxy.append(await standby.serve(options.site, membership, key, gid))

        try:
            ownership, taken = await plexhost.own_every_domain(membership, standing_by)
        except BaseException:  # it leaves before its socket goes: whoever sees the socket gone finds it left
            await asyncio.to_thread(_part, membership)
            raise
        finally:
            for runner in proxy:
                await runner.cleanup()
        said += await asyncio.to_thread(plexhost.taken_messages, membership, taken)
    except BaseException:
        await asyncio.to_thread(_part, membership)
        raise
    return Joined(membership, ownership, said)


def sd_notify(state: str) -> bool:
    """Tell systemd (Type=notify) how the service stands; False when no service manager asked."""
    where = os.environ.get("NOTIFY_SOCKET", "")
    if not where:
        return False
    address = "\0" + where[1:] if where.startswith("@") else where  # an abstract socket's name
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(address)
            s.sendall(state.encode())
    except OSError as exc:
        log.warning("the service manager could not be told %r: %s", state.split("\n")[0], exc)
        return False
    return True


async def _checkpoints(site: Site, every: float = CHECKPOINT_SECONDS) -> None:
    """The audit trail's head into the log (and so the system journal) once a minute while it
    moves: copies of it outside the catalog for `audit verify` (see engine.security.audit)."""
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(site.checkpoint_audit)
        except (FlashpoolError, OSError, DatabaseError) as exc:  # the next one tries again
            log.warning("the audit checkpoint could not be read: %s", exc)


async def _drop_queued(site: Site) -> None:
    """Held NOWAIT requests still queued when the server stops (kept only while it runs): each
    goes to the activity log as not run, as its issuer (ARC1806E RC 50), and to the server's log."""
    dropped, site.hsm.queued[:] = list(site.hsm.queued), []
    for q in dropped:
        res = CommandResult(q.text)
        res.add(
            "ARC1806E",
            f"{q.text.split()[0]} FAILED, RC={Rc.HELD:04d} - THE REQUEST WAS HELD AND QUEUED, AND THE SERVER "
            "STOPPED BEFORE ITS RELEASE: IT DID NOT RUN",
        )
        res.fail(Rc.HELD)
        try:
            await asyncio.to_thread(site.hsm.ctx.asked_by(q.origin, q.who).log, res, queued_pool(q.text))
        except (FlashpoolError, OSError, DatabaseError) as exc:
            log.warning("the dropped request %s could not be logged: %s", q.text, exc)
        log.warning("a held request queued by %s was dropped, the server stopping: %s", q.who.user, q.text)


async def _linger(server: SiteServer, api: LocalSite, linger: float, stop: asyncio.Event) -> None:
    """A server the console started for itself stops once nobody needs it: no client attached,
    no copy, dump or command running and no held request queued, for `linger` seconds."""
    idle_since = time.monotonic()
    while True:
        await asyncio.sleep(min(1.0, linger / 4))
        st = await asyncio.to_thread(api.status)
        busy = (
            server.clients()
            or server.in_flight
            or api.engine.hsm.queued  # kept only while the server runs: work it waits to do
            or st.background
            or st.copies > len(st.parked)
        )
        if busy:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= linger:
            log.info("FPL703I NOTHING RUNS AND NO CLIENT IS ATTACHED FOR %.0f S: THE SERVER STOPS", linger)
            stop.set()
            return


def detach(argv: list[str], site: Path, own: Path | None = None, timeout: float = 60.0) -> int:
    """Start `flashpool serve` (the same arguments, without --detach) in its own session; return
    its pid once it listens (a host of the plex: on its `own` socket, driving the site or standing
    by). Its standard error goes to the site's flashpool-server.out."""
    check_site(site)  # nothing is written where no site is (what `flashpool serve` would say)
    out = site / DETACHED_OUTPUT
    with open(private_file(out, os.O_WRONLY | os.O_APPEND), "ab") as f:
        start = f.seek(0, os.SEEK_END)  # earlier starts' output stays, but is not this one's
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", *argv],
            stdin=subprocess.DEVNULL,
            stdout=f,
            stderr=f,
            start_new_session=True,
            close_fds=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(out, "rb") as f:
                f.seek(start)
                tail = f.read().decode(errors="replace").strip().splitlines()[-3:]
            raise FlashpoolError(f"the server did not start (exit {proc.returncode}): {' / '.join(tail)}")
        if sockets.listening(site, own):
            return proc.pid
        time.sleep(0.05)
    raise FlashpoolError(f"the server (pid {proc.pid}) did not listen within {timeout:.0f} s; see {out}")


__all__ = ["ServeOptions", "detach", "parse_listen", "sd_notify", "serve"]
