"""`flashpool web`: the console in a browser (web/), behind a login, as a client of the site's
server (started in the background when none runs, as the console does)."""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path

from engine.errors import FlashpoolError

DEFAULT_LISTEN = "127.0.0.1:8080"


async def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import sys

    from console.app import SERVER_LINGER
    from engine import logs
    from engine.paths import is_site
    from engine.security.sessions import MAX_IDLE, MIN_IDLE
    from server import process, sockets
    from web.frontend import serve

    if not MIN_IDLE <= args.idle <= MAX_IDLE:  # what the server would grant: the two must agree
        raise FlashpoolError(f"--idle takes {MIN_IDLE:g} to {MAX_IDLE:g} seconds, not {args.idle:g}")
    host, port = process.parse_listen(args.listen)
    tls = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            raise FlashpoolError("--tls-cert and --tls-key go together")
        tls = process.tls_context(Path(args.tls_cert), Path(args.tls_key))
    elif not _loopback(host):
        raise FlashpoolError(
            f"--listen {host} is reachable from other machines: it needs --tls-cert and --tls-key "
            "(passwords are never sent in clear text)"
        )
    path = Path(args.site)
    if not sockets.listening(path):
        if not is_site(path):
            raise FlashpoolError(f"{path.resolve()} holds no flashpool site (create one with `flashpool init`)")
        pid = await asyncio.to_thread(
            process.detach, ["serve", "--site", str(path), "--linger", str(SERVER_LINGER)], path
        )
        print(f"flashpool: the site's server runs as process {pid}", file=sys.stderr)
    plain = logging.StreamHandler(sys.stderr)
    plain.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    stderr = logs.queued(plain)
    logs.attach(stderr, logging.getLogger("flashpool").level or logging.INFO)
    print(
        f"flashpool: the console is served on {'https' if tls else 'http'}://{host}:{port}/",
        file=sys.stderr,
        flush=True,
    )
    try:
        await serve(path, host, port, idle=args.idle, tls=tls)
    finally:
        logs.detach(stderr)
    return 0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
