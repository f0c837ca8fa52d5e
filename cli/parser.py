"""The command line: every command, its arguments, and the function that runs it."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING

from cli import audit, catalog, config, create, data, events, hsm, security, serve, web
from engine.hostviews import LEASE_SECONDS, SYSTEM_NAME
from engine.logs import LEVELS

if TYPE_CHECKING:
    from engine.security import Access

DEFAULT_SITE = "./flashpool-data"
Run = Callable[[argparse.Namespace], Coroutine[None, None, int]] | Callable[[argparse.Namespace], int]


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flashpool", description="DFSMShsm-style fast replication on volume images.")
    p.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
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
        run: Run,
    ) -> argparse.ArgumentParser:
        cmd = parent.add_parser(name, help=help, parents=[common])
        cmd.set_defaults(run=run)
        return cmd

    init = command(sub, "init", "create a site", create.init)
    init.add_argument("path", nargs="?", default=None)
    group = init.add_mutually_exclusive_group()
    group.add_argument("--definition", help="site definition file (TOML)")
    group.add_argument("--demo", action="store_true", help="the demo site, with data and versions")
    init.add_argument(
        "--catalog", metavar="URL", help="keep the catalog in this database (postgresql://...), not SQLite in the site"
    )

    hs = command(sub, "hsm", "run HSM commands", hsm.run)
    hs.add_argument("command", help="the command, or - to read commands from standard input")
    hs.add_argument("--wait", action="store_true", help="then wait until every background copy completes")
    hs.add_argument(
        "--stop-on",
        type=_return_code,
        metavar="RC",
        help="end a batch at the first command whose return code is RC or more (the rest are not run)",
    )

    wl = command(sub, "workload", "run a batch-like workload on a copy pool's volumes", data.workload)
    wl.add_argument("--copypool", required=True)
    wl.add_argument("--rate", type=_positive, default=20.0, help="operations per second (default 20)")
    wl.add_argument("--seconds", type=_positive, default=10.0, help="how long to run (default 10)")
    wl.add_argument("--seed", type=int)

    vol = sub.add_parser("volume", help="volume tools")
    vsub = vol.add_subparsers(dest="vcmd", required=True)
    command(vsub, "checksum", "SHA-256 of the volume's logical content", data.volume_checksum).add_argument("volser")
    dmg = command(vsub, "damage", "overwrite tracks with garbage through the normal write path", data.volume_damage)
    dmg.add_argument("volser")
    dmg.add_argument("--tracks", required=True, help="A-B (inclusive) or one track")

    srv = command(
        sub, "serve", "run the site's server (foreground; --detach to start it in the background)", serve.serve
    )
    srv.add_argument("--detach", action="store_true", help="start in the background, return once it listens")
    srv.add_argument("--listen", metavar="HOST:PORT", help="also serve HTTPS on TCP (needs --tls-cert, --tls-key)")
    srv.add_argument("--tls-cert", type=Path, help="PEM certificate (chain) for --listen")
    srv.add_argument("--tls-key", type=Path, help="PEM private key for --listen")
    srv.add_argument("--linger", type=_positive, help="stop after this many seconds with no client and no work")
    srv.add_argument("--no-auto-dump", action="store_true", help="do not run automatic dumps on their schedule")
    srv.add_argument(
        "--system",
        type=_system,
        help="serve as this host of the site's HSMplex (1-8 characters, as an SMF system ID): a lease in "
        "the catalog, and automatic dumps only while it is the primary",
    )
    srv.add_argument(
        "--lease",
        type=_lease,
        default=LEASE_SECONDS,
        help=f"with --system: seconds a lease runs unless renewed (a third of it apart); a host that cannot renew "
        f"stops writing a quarter of it before its end, and another takes over after it (default {LEASE_SECONDS:g})",
    )
    srv.add_argument("--copy-rate", type=_positive, help="background copy rate: tracks a second per copier")
    srv.add_argument(
        "--no-durable",
        action="store_true",
        help="trade the power-loss promise for speed: commits and copies are not flushed (a process crash is still safe)",
    )
    command(sub, "status", "the site's server: pid, uptime, copies, clients (exit 3: none serves it now)", serve.status)
    ev = command(sub, "events", "the server's event stream, a line (or --json object) an event", events.run)
    ev.add_argument("--count", type=_count, metavar="N", help="stop after N events (default: until interrupted)")
    stop = command(sub, "stop", "stop the site's server (it finishes the commands it accepted)", serve.stop)
    stop.add_argument("--force", action="store_true", help="stop it even while background copies run")

    wb = command(sub, "web", "serve the console to browsers, behind a login", web.run)
    wb.add_argument("--listen", default=web.DEFAULT_LISTEN, metavar="HOST:PORT", help=f"default {web.DEFAULT_LISTEN}")
    wb.add_argument("--tls-cert", help="certificate (PEM): needed on any address but loopback")
    wb.add_argument("--tls-key", help="its private key (PEM)")
    wb.add_argument(
        "--idle",
        type=_positive,
        default=900.0,
        metavar="SECONDS",
        help="a session ends when idle this long (default 900)",
    )

    sec = sub.add_parser("security", help="profiles, access lists, roles and API tokens")
    ssub = sec.add_subparsers(dest="scmd", required=True)
    command(ssub, "whoami", "who you are to the site, and what you may do", security.whoami)
    command(ssub, "list", "profiles with their access lists, and roles granted", security.list_profiles).add_argument(
        "pattern", nargs="?"
    )
    for name, helptext in (("define", "define a FACILITY profile"), ("alter", "change a profile's UACC")):
        sp = command(ssub, name, helptext, security.change)
        sp.add_argument("profile")
        sp.add_argument("--uacc", type=_access, default=None, help="NONE, READ, UPDATE, CONTROL or ALTER")
    command(ssub, "delete", "delete a profile and its access list", security.change).add_argument("profile")
    pm = command(
        ssub, "permit", "put a user or group on a profile's access list (--delete: take it off)", security.change
    )
    pm.add_argument("profile")
    _who_args(pm)
    pm.add_argument("--access", type=_access, default=None, help="NONE, READ (default), UPDATE, CONTROL or ALTER")
    pm.add_argument("--delete", action="store_true", help="remove the entry instead")
    for name, helptext in (("grant", "grant a role bundle"), ("revoke", "revoke a role bundle")):
        sp = command(ssub, name, helptext + " (monitor, operator, administrator, security)", security.change)
        sp.add_argument("role")
        _who_args(sp)
    tok = ssub.add_parser("token", help="API tokens for the TCP listener")
    tsub = tok.add_subparsers(dest="tcmd", required=True)
    tc = command(tsub, "create", "a new token for USER (shown once)", security.change)
    tc.add_argument("user")
    tc.add_argument("--label", default="")
    tc.add_argument("--days", type=int, help="how long it lives (default: the site's token-days setting)")
    command(tsub, "revoke", "revoke token ID", security.change).add_argument("token_id", type=int)
    command(tsub, "list", "the tokens (never their secrets), with their expiry", security.list_tokens)
    st = command(ssub, "set", "change a security setting (see `security settings`)", security.change)
    st.add_argument("setting", help="share-group, token-days, token-max-days or audit-reads")
    st.add_argument("value")
    command(ssub, "settings", "the site's security settings", security.settings)
    pw = command(
        ssub, "password", "set USER's password for `flashpool web` (read from the terminal or stdin)", security.password
    )
    pw.add_argument("user")
    pw.add_argument("--expire", action="store_true", help="the user must choose a new one at its next login")

    aud = sub.add_parser("audit", help="the audit trail")
    asub = aud.add_subparsers(dest="acmd", required=True)
    av = command(
        asub, "verify", "check the sealed chain, its head and checkpoints (exit 8 naming what is wrong)", audit.verify
    )
    av.add_argument(
        "--against",
        nargs="+",
        type=Path,
        default=[],
        metavar="FILE",
        help="earlier exports or logs whose entries and checkpoints the trail must still hold",
    )
    ex = command(asub, "export", "the entries as JSON lines", audit.export)
    ex.add_argument("--since", type=_when, help="a date, date and time (ISO 8601) or a Unix time")

    cat = sub.add_parser("catalog", help="the catalog's schema revision, its upgrade, its move to PostgreSQL")
    csub = cat.add_subparsers(dest="ccmd", required=True)
    command(csub, "check", "the catalog's schema revision (exit 4: it needs an upgrade)", catalog.check)
    command(csub, "upgrade", "apply the schema migrations (copy the catalog first)", catalog.upgrade)
    move = command(csub, "migrate", "copy the SQLite catalog into an empty database and use it", catalog.migrate)
    move.add_argument("--to", required=True, metavar="URL", help="the empty database, e.g. postgresql://host/db")

    config.add_parsers(sub, command)

    ds = sub.add_parser("dataset", help="data set tools (check a data set recovery from outside)")
    dsub = ds.add_subparsers(dest="dcmd", required=True)
    command(
        dsub, "list", "the cataloged data sets (FILTER: a DFSMS pattern such as PAY.**)", data.dataset_list
    ).add_argument("filter", nargs="?")
    command(dsub, "checksum", "SHA-256 of the data set's content", data.dataset_checksum).add_argument("dsname")
    command(
        dsub,
        "damage",
        "overwrite the data set's tracks with garbage through the normal write path",
        data.dataset_damage,
    ).add_argument("dsname")
    return p


class _Version(argparse.Action):
    """--version, the installed package's read only when asked (importlib.metadata's lookup costs
    a command that does not ask 20 ms)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("flashpool")
        except PackageNotFoundError:  # run from a checkout that was never installed
            found = "(not installed)"
        print(f"{parser.prog} {found}")
        parser.exit()


def _lease(text: str) -> float:
    """A lease the renewals can keep (2 s and more) and a takeover does not wait on for ever."""
    seconds = _positive(text)
    if not 2 <= seconds <= 300:
        raise argparse.ArgumentTypeError(f"a lease runs 2 to 300 seconds, not {text}")
    return seconds


def _system(text: str) -> str:
    """A system name as DFSMShsm's hosts have them: 1-8 letters, digits, @ # $, not a digit first."""
    name = text.strip().upper()
    if not SYSTEM_NAME.fullmatch(name):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a system name (1-8 letters, digits, @ # $; not a digit first)"
        )
    return name


def _positive(text: str) -> float:
    """A finite number above zero (argparse turns the ValueError into a usage error)."""
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number above zero")
    return value


def _whole(text: str, least: int, what: str) -> int:
    """A whole number, at least `least` (argparse turns the error into a usage error)."""
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if value < least:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}: it must be a whole number, at least {least}")
    return value


def _return_code(text: str) -> int:
    return _whole(text, 0, "a return code")


def _count(text: str) -> int:
    """A number of events."""
    return _whole(text, 1, "a count")


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
