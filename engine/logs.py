"""Logging: the engine logs through the standard `logging` module under the "flashpool" logger
(commands, background work, recoveries, errors with their context). Whoever owns a site's
process (the CLI, the console, later the server) sends it to a rotating file inside the site;
the engine itself never configures logging."""

from __future__ import annotations

import contextlib
import io
import logging
import logging.handlers
import os
import queue
import sys
from pathlib import Path

from engine.paths import is_site, private_file

LOG_FILE = "flashpool.log"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def to_site(root: Path, level: str = "INFO") -> logging.Handler:
    """Log to `root/flashpool.log` (5 MiB, 3 old files kept), with the site's file permissions.
    Nothing is written outside a site: records are dropped until `root` holds one, so a command
    that creates the site (init, the console's demo) logs from then on."""
    handler = _SiteLog(root)
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
    out = queued(handler)
    attach(out, level)
    return out


class _Queued(logging.handlers.QueueHandler):
    """A handler whose writes run in a thread of their own. An event loop logs a line per
    command; a file's write, flush and rollover check cost 0.3 ms a line, on the loop, while fifty
    clients wait. Closing it writes every record still queued."""

    def __init__(self, target: logging.Handler) -> None:
        line: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        super().__init__(line)
        self.target = target
        self.listener = logging.handlers.QueueListener(line, target, respect_handler_level=True)
        self.listener.start()

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """The record as it goes on the queue: its message merged with its arguments now (they
        may change later), the formatting (time stamps, level names) left to the writing thread.
        QueueHandler's own prepare formats and copies the record on the caller's thread, which
        on a server is the event loop: a third of a LIST's time there."""
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        return record

    def close(self) -> None:  # twice at exit: by whoever attached it, then by logging's own shutdown
        if self.listener._thread is not None:
            self.listener.stop()
        self.target.close()
        super().close()


def queued(handler: logging.Handler) -> logging.Handler:
    """`handler`, written from its own thread (files and streams; not a handler that must run
    in the caller's context, such as Textual's)."""
    return _Queued(handler)


class _SiteLog(logging.handlers.RotatingFileHandler):
    """Opened at the first record logged once `root` is a site of this user's (a command that
    logs nothing leaves no file; a client of another user's site writes nothing there), the
    owner's alone whatever the umask. A record that cannot be written (a full disk) costs one
    line on standard error, never logging's traceback, and the next ones are dropped quietly
    until a write succeeds again."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._failing = False  # the last record could not be written
        self._failed_now = False
        super().__init__(root / LOG_FILE, maxBytes=5 << 20, backupCount=3, encoding="utf-8", delay=True)

    def emit(self, record: logging.LogRecord) -> None:
        if self.stream is None and not _owned_site(self._root):
            return
        self._failed_now = False
        super().emit(record)
        if not self._failed_now:
            self._failing = False

    def handleError(self, record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        self._failed_now = True
        if not self._failing:
            self._failing = True
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.write(f"flashpool: the site's log {self.baseFilename} cannot be written ({why})\n")
        if self.stream is not None:  # reopened at the next record: a rotation half done is not kept
            with contextlib.suppress(OSError, ValueError):
                self.stream.close()
            self.stream = None

    def _open(self) -> io.TextIOWrapper:
        fd = private_file(Path(self.baseFilename), os.O_WRONLY | os.O_APPEND)
        return open(fd, "a", encoding=self.encoding)


def _owned_site(root: Path) -> bool:
    try:
        return is_site(root) and os.stat(root).st_uid == os.geteuid()
    except OSError:
        return False


def attach(handler: logging.Handler, level: str | int = "INFO") -> None:
    logger = logging.getLogger("flashpool")
    logger.setLevel(level)
    logger.addHandler(handler)


def detach(handler: logging.Handler | None) -> None:
    if handler is not None:
        logging.getLogger("flashpool").removeHandler(handler)
        handler.close()
