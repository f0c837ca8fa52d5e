"""A throw-away PostgreSQL cluster for the tests: `initdb` + `pg_ctl` on a Unix socket in a
temporary directory, run as the unprivileged `postgres` user when the tests run as root (initdb
refuses root). Each test gets its own database, copied from a template in milliseconds.

Nothing here skips: a cluster that cannot be started is a failure that says why (`make test`
installs Debian's postgresql package when initdb is missing)."""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from engine.paths import CATALOG_URL_FILE

SUPERUSER = "flashpool"  # the cluster's superuser: the tests connect as it, without a password
#: a test cluster needs no durability through a power cut (the tests kill clients, not the server)
SETTINGS = ("fsync=off", "full_page_writes=off", "synchronous_commit=off", "max_connections=300")


class ClusterUnavailable(RuntimeError):
    """The cluster could not be started; the message says what was missing or what failed."""


def binaries() -> Path:
    """The folder holding initdb and pg_ctl: on the PATH, or where Debian's package puts them."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if debian:
        return Path(debian[-1]).parent
    raise ClusterUnavailable(
        "PostgreSQL's initdb is not installed: the PostgreSQL catalog tests need a throw-away cluster. "
        "`make test` installs Debian's postgresql package (apt-get install postgresql) when it can; install it"
    )


class Cluster:
    """One running cluster in its own temporary directory (data, socket and log)."""

    def __init__(self, settings: tuple[str, ...] = SETTINGS) -> None:
        self.settings = settings  # the tests' default gives up durability for speed; bench/ keeps it
        self.bin = binaries()
        self.user = _runner()
        self.root = Path(tempfile.mkdtemp(prefix="flashpool-pg-"))
        self.socket_dir = self.root / "socket"
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._names = itertools.count(1)
        self._admin: psycopg.Connection[tuple[object, ...]] | None = None

    def start(self) -> None:
        self.socket_dir.mkdir()
        if self.user is not None:  # the postgres user owns everything the server touches
            for p in (self.root, self.socket_dir):
                os.chown(p, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.root, 0o755)  # root (the tests) and postgres (the server) reach the socket
        self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8", "--locale=C", "--no-sync"
        )
        options = " ".join([f"-k {self.socket_dir}", "-c listen_addresses=''"] + [f"-c {s}" for s in self.settings])
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        self._admin = psycopg.connect(self.dsn("postgres"), autocommit=True)

    def dsn(self, database: str) -> str:
        return f"host={self.socket_dir} user={SUPERUSER} dbname={database}"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of one database, as a site stores it."""
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def create_database(self, template: str = "template0") -> str:
        """A new database, a copy of `template` (empty: template0); returns its name. The
        template must have no connections (a closed site's catalog has none)."""
        assert self._admin is not None, "the cluster is not running"
        name = f"t{os.getpid()}_{next(self._names)}"
        self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY file_copy')
        return name

    def copy_site(self, src: Path, dst: Path) -> Path:
        """A copy of a closed site whose catalog is in this cluster: its files, and its catalog
        as a new database that `dst` names."""
        shutil.copytree(src, dst)
        (dst / CATALOG_URL_FILE).write_text(self.url(self.create_database(template=_database(src))) + "\n")
        return dst

    def remove_site(self, path: Path) -> None:
        """A site's files and its catalog's database."""
        self.drop_database(_database(path))
        shutil.rmtree(path)

    def drop_database(self, name: str) -> None:
        assert self._admin is not None, "the cluster is not running"
        self._admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        done = subprocess.run(
            [str(self.bin / program), *args],
            user=self.user.pw_uid if self.user else None,
            group=self.user.pw_gid if self.user else None,
            extra_groups=[] if self.user else None,
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise ClusterUnavailable(
                f"{program} failed (exit {done.returncode}) in {self.root}:\n{done.stdout}{done.stderr}{log}"
            )


def _runner() -> pwd.struct_passwd | None:
    """Whom the server runs as: the postgres user when we are root (initdb refuses root), else us."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise ClusterUnavailable(
            "the tests run as root and there is no `postgres` user to run the throw-away PostgreSQL cluster "
            "as (initdb refuses root); Debian's postgresql package creates it"
        ) from None


def _database(site: Path) -> str:
    """The database a site's catalog is in (the site names it in catalog.url)."""
    database = make_url((site / CATALOG_URL_FILE).read_text().strip()).database
    assert database, f"{site} names no database"
    return database


class Proxy:
    """The cluster reached over TCP through a proxy the test controls: `cut()` drops every
    connection through it and refuses new ones, as a host whose network to the database fails."""

    def __init__(self, cluster: Cluster) -> None:
        self.target = str(cluster.socket_dir / ".s.PGSQL.5432")
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.cut_off = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # cut: the listener is closed
            server = socket.socket(socket.AF_UNIX)
            server.connect(self.target)
            with self.lock:
                if self.cut_off:
                    client.close()
                    server.close()
                    continue
                self.open |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self.lock:
            self.cut_off = True
            self.listener.close()
            for s in self.open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self.open.clear()
