"""`flashpool hsm` through a running server at the speed of a small script: HTTP over the site's
Unix socket, one connection for a whole batch, and none of the engine, the ORM, aiohttp or the
console imported (tests/cli/test_thin.py keeps it so).

It takes the command lines it fully understands — `[--site PATH] hsm TEXT|- [--json] [--quiet]
[--stop-on RC] [--wait] [--log-level L]`, with a server listening on the site's socket and no
FLASHPOOL_SERVER — and leaves every other one to the full CLI, as it does a `--wait` on a
terminal (the full CLI draws its progress line). Its `--wait` follows the event stream. The route comes from server/route_paths.py, generated from the server's table.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from cli.batch import Options, batch_steps, read_commands, report_parked
from engine.errors import FlashpoolError
from engine.messages import CommandResult

if TYPE_CHECKING:
    from engine.api.values import AuditExport, AuditReport, Caller, RoleGrant, SettingView, SiteStatus, TokenInfo
    from engine.datasets.info import DataSetInfo
    from engine.security.access import Decision, ProfileListing
    from engine.security.changes import SecurityChange
    from engine.security.functions import Check
    from engine.security.marks import AuditMark
from server import sockets, wire
from server.route_paths import EVENTS_PATH, PATHS

DEFAULT_SITE = "./flashpool-data"  # cli.parser's default (a test keeps the two the same)
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ThinError(FlashpoolError):
    """The server could not be asked, or refused the request itself (not a command's RC)."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code  # the server's error code of a refusal (wire.NO_DRIVER, ...), or wire.UNREACHABLE


class ThinSite:
    """HSM commands to the site's server over one keep-alive connection. HTTP/1.1 by hand, the
    little of it this needs: `http.client` costs 19 ms of imports (email, ssl), a quarter of the
    fresh process the issue allows; tests/cli/test_thin.py runs every command through it."""

    def __init__(self, site: Path, timeout: float = 600.0) -> None:
        self._site = site
        self._names = contextlib.ExitStack()
        self._name = self._names.enter_context(sockets.short_path(sockets.client_socket(site)))
        self._timeout = timeout
        self._sock: socket.socket | None = None

    def _call(self, call: str, returns: Any, **args: object) -> Any:
        """One call of the site's API, its answer as `returns` (the route from route_paths)."""
        method, template = PATHS[call]
        path, query, body = wire.request_parts(method, template, args)
        if query:
            path += "?" + urlencode(query)
        try:
            status, raw = self._exchange(method, path, b"" if body is None else json.dumps(body).encode())
        except OSError as exc:
            raise ThinError(f"the site's server cannot be reached ({exc})", wire.UNREACHABLE) from None
        try:
            return wire.decode(returns, wire.answer(status, raw))
        except wire.Refused as exc:
            raise ThinError(str(exc), exc.code) from None

    def command(self, text: str, origin: str = "CLI") -> CommandResult:
        result: CommandResult = self._call("command", CommandResult, text=text, origin=origin)
        return result

    def stop_server(self) -> CommandResult:
        """Stop the server on this socket (a host standing by answers it itself)."""
        result: CommandResult = self._call("stop_server", CommandResult)
        return result

    # -- the calls of cli.tools.Tools, as engine.api.SiteAPI defines them (each imports the types it
    # -- answers with when called: `flashpool hsm` needs none of them) -----------------------------------
    def whoami(self) -> Caller:
        from engine.api.values import Caller

        result: Caller = self._call("whoami", Caller)
        return result

    def status(self) -> SiteStatus:
        from engine.api.values import SiteStatus

        result: SiteStatus = self._call("status", SiteStatus)
        return result

    def may(self, checks: list[Check]) -> list[Decision]:
        from engine.security.access import Decision

        return list(self._call("may", list[Decision], checks=checks))

    def volume_digest(self, volser: str) -> str:
        return str(self._call("volume_digest", str, volser=volser))

    def datasets(self, pattern: str | None = None) -> list[DataSetInfo]:
        from engine.datasets.info import DataSetInfo

        return list(self._call("datasets", list[DataSetInfo], pattern=pattern))

    def dataset(self, name: str) -> DataSetInfo | None:
        from engine.datasets.info import DataSetInfo

        result: DataSetInfo | None = self._call("dataset", DataSetInfo | None, name=name)
        return result

    def dataset_digest(self, name: str) -> str:
        return str(self._call("dataset_digest", str, name=name))

    def profiles(self, pattern: str | None = None) -> list[ProfileListing]:
        from engine.security.access import ProfileListing

        return list(self._call("profiles", list[ProfileListing], pattern=pattern))

    def role_grants(self) -> list[RoleGrant]:
        from engine.api.values import RoleGrant

        return list(self._call("role_grants", list[RoleGrant]))

    def tokens(self) -> list[TokenInfo]:
        from engine.api.values import TokenInfo

        return list(self._call("tokens", list[TokenInfo]))

    def settings(self) -> list[SettingView]:
        from engine.api.values import SettingView

        return list(self._call("settings", list[SettingView]))

    def audit_verify(self, against: list[AuditMark] | None = None) -> AuditReport:
        from engine.api.values import AuditReport

        result: AuditReport = self._call("audit_verify", AuditReport, against=against or [])
        return result

    def audit_export(self, since: float | None = None) -> AuditExport:
        from engine.api.values import AuditExport

        result: AuditExport = self._call("audit_export", AuditExport, since=since)
        return result

    def damage(self, volser: str, first: int, last: int) -> CommandResult:
        result: CommandResult = self._call("damage", CommandResult, volser=volser, first=first, last=last)
        return result

    def damage_dataset(self, name: str) -> CommandResult:
        result: CommandResult = self._call("damage_dataset", CommandResult, name=name)
        return result

    def change_security(self, change: SecurityChange) -> CommandResult:
        result: CommandResult = self._call("change_security", CommandResult, change=change)
        return result

    def wait_copies(self) -> dict[int, str]:
        """Until every background copy has completed or is parked, following the event stream on
        a connection of its own: the status is read again when a copy ends or stops, or the
        stream goes quiet for 2 s (as server.client.RemoteSite.wait_copies does)."""
        stream: socket.socket | None = None
        try:
            while True:
                try:
                    st = self.status()
                except ThinError as exc:  # its command ran here: the server stopped (or died) since
                    if exc.code not in (wire.UNREACHABLE, STOPPING):
                        raise
                    raise self._stopped(exc.code) from None
                if st.copies <= len(st.parked):
                    return dict(st.parked)
                if stream is None:
                    try:
                        stream, reader = self._events()
                    except OSError:
                        raise self._stopped(wire.UNREACHABLE) from None
                if not _until_a_copy_ends(reader):  # quiet for 2 s (or cut mid-chunk): a new stream
                    stream.close()
                    stream = None
        finally:
            if stream is not None:
                stream.close()

    def _stopped(self, code: str) -> ThinError:
        return ThinError(
            f"the server of {self._site} stopped while this command waited for its background copies; "
            "they resume where they are when a server runs the site again (nothing copied is lost)",
            code,
        )

    def _events(self) -> tuple[socket.socket, _Reader]:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(2.0)
            sock.connect(self._name)
        except OSError:
            sock.close()
            raise
        head = f"GET {EVENTS_PATH} HTTP/1.1\r\nHost: flashpool\r\n{wire.CLIENT_HEADER}: {wire.WAITING}\r\n\r\n"
        sock.sendall(head.encode())  # a CLI client waiting on its command, for `flashpool stop`
        reader = _Reader(sock)
        status_line, _ = reader.head()
        if " 200 " not in status_line + " ":
            raise ThinError(f"the event stream was refused ({status_line})")
        return sock, reader

    def _exchange(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock.settimeout(self._timeout)
            self._sock.connect(self._name)
        sock = self._sock
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: flashpool\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        sock.sendall(head.encode() + body)
        reader = _Reader(sock)
        status_line, fields = reader.head()
        try:
            status = int(status_line.split()[1])
        except (IndexError, ValueError):
            raise OSError(f"not an HTTP answer: {status_line[:60]!r}") from None
        data = reader.body(fields)
        if fields.get("connection", "").lower() == "close":
            self.close_connection()
        return status, data

    def close_connection(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def close(self) -> None:
        self.close_connection()
        self._names.close()


ENDS = {"RelationshipEnded", "CopyFailed", "FlashCopyChanged"}
STOPPING = "stopping"  # the server's error code while it stops (server.app)


def _until_a_copy_ends(reader: _Reader) -> bool:
    """Read the event stream (chunked server-sent events) until an event after which fewer
    copies may run (True), or 2 s of quiet, the stream's end or a line that does not read
    (False: the caller opens a new stream after its next status read)."""
    try:
        while True:
            size = int(reader.line().split(b";")[0], 16)
            if not size:
                return False  # the stream ended: the server stops; the next status read says so
            data = reader.exactly(size)
            reader.line()
            for line in data.split(b"\n"):
                if line.startswith(b"data: "):
                    event = json.loads(line[6:])
                    kind = event.get("type")
                    if kind in ENDS or (kind == "CopyProgress" and event.get("out_of_sync") == 0):
                        return True
    except (TimeoutError, OSError, ValueError):
        return False


class _Reader:
    """An HTTP/1.1 answer read off a socket: its head, then its body as framed."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock, self._buf = sock, b""

    def _more(self) -> None:
        chunk = self._sock.recv(1 << 16)
        if not chunk:
            raise OSError("the server closed the connection")
        self._buf += chunk

    def line(self) -> bytes:
        while b"\r\n" not in self._buf:
            self._more()
        line, self._buf = self._buf.split(b"\r\n", 1)
        return line

    def head(self) -> tuple[str, dict[str, str]]:
        status = self.line().decode("latin-1")
        fields: dict[str, str] = {}
        while line := self.line():
            name, _, value = line.decode("latin-1").partition(":")
            fields[name.strip().lower()] = value.strip()
        return status, fields

    def body(self, fields: dict[str, str]) -> bytes:
        """The body as the head frames it: a length, chunks, or up to the connection's close."""
        if "content-length" in fields:
            return self.exactly(int(fields["content-length"]))
        if fields.get("transfer-encoding", "").lower() == "chunked":
            return self.chunked()
        return self.rest()

    def exactly(self, n: int) -> bytes:
        while len(self._buf) < n:
            self._more()
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def chunked(self) -> bytes:
        parts = []
        while size := int(self.line().split(b";")[0], 16):
            parts.append(self.exactly(size))
            self.line()
        while self.line():  # trailers, then the empty line
            pass
        return b"".join(parts)

    def rest(self) -> bytes:
        try:
            while True:
                self._more()
        except OSError:
            return self._buf


def request_of(argv: list[str]) -> tuple[Path, str, Options] | None:
    """(site, command or '-', options) for a command line the thin path takes whole, else None."""
    site, command, options = DEFAULT_SITE, None, Options()
    args = iter(argv)
    seen_hsm = False
    for arg in args:
        name, eq, value = arg.partition("=")
        if name in ("--site", "--stop-on", "--log-level") and not eq:
            value = next(args, "")
        if name == "--site" and value:
            site = value
        elif name == "--stop-on" and value.lstrip("-").isdigit():
            options.stop_on = int(value)
        elif name == "--log-level" and value in LEVELS:
            pass  # the server logs what it runs
        elif arg == "--json":
            options.json = True
        elif arg == "--wait":
            options.wait = True
        elif arg == "--quiet":
            options.quiet = True
        elif arg == "hsm" and not seen_hsm:
            seen_hsm = True
        elif seen_hsm and command is None and (arg == "-" or not arg.startswith("-")):
            command = arg
        else:
            return None  # --wait, --help, another command, anything else: the full CLI
    if not seen_hsm or command is None:
        return None
    if options.wait and sys.stderr.isatty() and not (options.json or options.quiet):
        return None  # a progress line on a terminal: the full CLI draws it
    return Path(site), command, options


def main(argv: list[str]) -> int | None:
    """Run the command line through the thin path, or None when it is not one for it."""
    request = request_of(argv)
    if request is None or os.environ.get("FLASHPOOL_SERVER"):
        return None
    site, command, options = request
    from cli.connect import path_problem

    if path_problem(str(site)) or not sockets.listening(site):
        return None  # no server: the command runs in this process, through the full CLI
    if command == "-":  # bytes that are not UTF-8 reach the parser, which names them
        with open(sys.stdin.fileno(), encoding="utf-8", errors="surrogateescape", closefd=False) as stdin:
            commands = read_commands(stdin)
    else:
        commands = [command]
    api = ThinSite(site)

    def out(line: str) -> None:
        print(line, flush=True)

    try:
        steps = batch_steps(commands, options, out)
        try:
            text = next(steps)
            while True:
                text = steps.send(api.command(text))
        except StopIteration as done:
            rc = int(done.value)
        return max(rc, report_parked(api.wait_copies())) if options.wait else rc
    except ThinError as exc:
        print(f"flashpool: {exc}", file=sys.stderr)
        return 12
    except BrokenPipeError:  # `flashpool hsm ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback (the server logged its side)
        print(f"flashpool: internal error ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 16
    finally:
        api.close()
