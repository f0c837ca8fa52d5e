"""Site: the engine's public entry point - a directory holding the catalog, the volume images
and the tape library. Opening a site resumes every background copy from the persisted maps."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import fcntl
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, inspect
from sqlalchemy.exc import DatabaseError

from engine import plex, sitefiles
from engine.catalog import Catalog, CatalogError, CatalogMissing, Fence, settings, sqlite_url
from engine.catalog import constructs as repo
from engine.catalog.models import (
    PermitRow,
    ProfileRow,
    RoleGrantRow,
    StorageGroupRow,
)
from engine.catalog.store import make_engine, unusable
from engine.catalog.transfer import copy_catalog
from engine.catalog.urls import shown
from engine.datasets.manager import DataSets, DataSetStore
from engine.definition import Definition
from engine.errors import FlashpoolError, VolumeError
from engine.events import EventBus
from engine.flashcopy import (
    CopierSettings,
    FlashCopyController,
    FlashCopyCore,
    FlashCopyOptions,
    Relationship,
)
from engine.flashcopy.heldlog import HeldLog
from engine.geometry import Geometry
from engine.hsm import dump, dumpcycle, interrupted, setsys
from engine.hsm.alerts import AlertWatch
from engine.hsm.context import Context
from engine.hsm.service import FastReplication
from engine.paths import (
    CATALOG_FILE,
    CATALOG_URL_FILE,
    OutsideSite,
    fsync_dir,
    inside,
    is_site,
    private_dir,
    private_file,
)
from engine.security import AuditTrail, Function, Guard, Identity, Kind, Role
from engine.security.marks import AuditMark
from engine.storage import Volume
from engine.views import Views

LOCK_FILE = "site.lock"
MIGRATED_CATALOG = "catalog.db.migrated"  # the SQLite catalog `flashpool catalog migrate` moved away from
VOLUME_DIR = "volumes"
HELD_LOG = "held-writes.log"  # host writes held for the FlashCopy core's group commit (heldlog.py)
TAPE_DIR = "tapes"

log = logging.getLogger("flashpool.site")


class SiteError(FlashpoolError):
    pass


class SiteInUse(SiteError):
    """Another process holds the site (its lock): DFSMShsm's enqueue failing."""


def check_site(root: Path) -> None:
    """`root` holds a site this user may open in a process of its own; else why not (the
    message every command that opens a site gives)."""
    sitefiles.check_owner(root)
    if not is_site(root):
        raise CatalogMissing(f"{root} is not a flashpool site (no catalog); create it with `flashpool init`")


def _lock_site(root: Path) -> int:
    """One process drives a site at a time (its FlashCopy state lives in that process). The lock
    is on the site directory itself, which cannot be deleted from under it; `site.lock` only
    names the holder for the message."""
    check_site(root)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        try:
            holder = (root / LOCK_FILE).read_text(errors="replace").strip() or "another process"
        except OSError:
            holder = "another process"
        raise SiteInUse(f"the site {root} is in use by {holder}; close it there first") from None
    holder_fd = private_file(root / LOCK_FILE, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(holder_fd, f"process {os.getpid()}".encode())
    finally:
        os.close(holder_fd)
    return fd


def _refuse_if_served(root: Path, c: Connection) -> None:
    """SiteInUse while a host of the site's HSMplex holds a lease (on any machine): the site is
    the plex's then, and a process outside it writes nothing of it."""
    serving = plex.live_systems(c)
    if serving:
        raise SiteInUse(
            f"the site {root} is served by its HSMplex: system(s) {', '.join(serving)} hold a lease; send commands "
            "to a host (FLASHPOOL_SYSTEM=NAME names one), or stop every host (a dead one's lease runs out by itself)"
        )


def _refuse_while_served(root: Path, url: str) -> None:
    """The same for the catalog tools, on a catalog of any revision (one older than the plex
    has no hosts)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return  # no catalog: the tool says so (connecting would create an empty one)
    eng = make_engine(url)
    try:
        with eng.connect() as c:
            if inspect(c).has_table("plex_host"):
                _refuse_if_served(root, c)
    except DatabaseError:  # the tool itself says what is wrong with the catalog
        pass
    finally:
        eng.dispose()


def _point_at(root: Path, url: str) -> None:
    """The site's catalog is the database at `url` from now on: catalog.url (the owner's alone: it
    may hold a password) written beside and renamed into place, so it is whole or absent."""
    work = root / f".{CATALOG_URL_FILE}.new"
    fd = private_file(work, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, f"{url}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(work, root / CATALOG_URL_FILE)
    fsync_dir(root)


def _security_rows(defn: Definition, creator: str, at: float) -> list[object]:
    """A new site's profiles: one per protected function (UACC NONE), its creator the first
    security administrator, then the definition's roles and profiles."""
    rows: list[object] = [ProfileRow(name=f.value, uacc="NONE", owner=creator, created_at=at) for f in Function]
    grants = {(Role.SECURITY, Kind.USER, creator)}
    for r in defn.roles:
        grants |= {(r.role, Kind.USER, u) for u in r.users} | {(r.role, Kind.GROUP, g) for g in r.groups}
    rows += [
        RoleGrantRow(role=role.value, kind=kind.value, name=name, granted_by=creator, at=at)
        for role, kind, name in sorted(grants, key=lambda g: (g[0].value, g[1].value, g[2]))
    ]
    defined = {f.value for f in Function}
    for p in defn.profiles:
        if p.name in defined:
            row = next(r for r in rows if isinstance(r, ProfileRow) and r.name == p.name)
            row.uacc = p.uacc.name
        else:
            rows.append(ProfileRow(name=p.name, uacc=p.uacc.name, owner=creator, created_at=at))
            defined.add(p.name)
        rows += [PermitRow(profile=p.name, kind=e.kind.value, name=e.name, access=e.access.name) for e in p.permits]
    return rows


class Site:
    def __init__(
        self,
        path: Path,
        catalog: Catalog,
        volumes: dict[str, Volume],
        unavailable: dict[str, str],
        suspended: dict[int, str],
        flashcopy: FlashCopyController,
    ) -> None:
        self.path = path
        self.catalog = catalog
        self.volumes = volumes
        self.unavailable = unavailable  # volser -> why its image cannot be used
        self.suspended = suspended  # relationship id -> why it was not resumed
        self.flashcopy = flashcopy
        self.events: EventBus = flashcopy.events
        #: what commands, views and data sets work with (they never reach back through the Site)
        self.context = Context(
            root=path,
            catalog=catalog,
            flashcopy=flashcopy,
            volumes=volumes,
            unavailable=unavailable,
            datasets=DataSetStore(catalog, flashcopy, flashcopy.clock),
            clock=flashcopy.clock,
            guard=Guard(catalog, path),
            audit=AuditTrail(catalog, path),
        )
        self.hsm = FastReplication(self.context)
        self.datasets = DataSets(self.context.datasets)
        self.views = Views(self.context)
        self._lock = -1
        self.recovered: list[str] = []  # what opening finished or undid after a crash
        self.repaired: list[sitefiles.Repair] = []  # files opening made the owner's alone again
        self.replayed: tuple[int, list[str]] = (0, [])  # held host writes replayed at open, volumes gone
        self.audit_notes: list[str] = []  # what opening the audit trail found (sealed, head moved, forged)
        self._checkpointed: AuditMark | None = None
        self.demo = False  # a demo site (flashpool init --demo, or the console's first start)
        self._scheduler: asyncio.Task[None] | None = None
        self.alerts = AlertWatch(self.context)
        self._alerting: asyncio.Task[None] | None = None

    # -- create / open ------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        definition: Definition | None = None,
        *,
        catalog_url: str | None = None,
        **options: object,
    ) -> Site:
        """Create the directory, the catalog (SQLite inside it unless `catalog_url` names another
        database) and the volume images; then open it. All or nothing: the site is built in a
        temporary directory beside it and renamed into place, so a failure leaves nothing."""
        root = Path(path)
        if is_site(root):
            raise SiteError(f"{root} already holds a flashpool site")
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise SiteError(f"{root} exists and is not an empty directory; a site is created in a new or empty one")
        defn = definition or Definition()  # parse_definition reported every mistake already
        work = root.parent / f".{root.name}.creating-{os.getpid()}"
        try:
            root.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(work, ignore_errors=True)
            private_dir(work)  # images, tapes and catalog are the shop's data: the owner's alone
            cls._build(work, defn, catalog_url)
            sitefiles.secure(work, sitefiles.share_gid(defn.share_group))  # shared: the folder's group
            for folder in (work / VOLUME_DIR, work / TAPE_DIR, work):
                fsync_dir(folder)
            if root.exists():
                root.rmdir()
            os.rename(work, root)
            fsync_dir(root.parent)
        except OSError as exc:
            shutil.rmtree(work, ignore_errors=True)
            raise SiteError(f"the site cannot be created at {root}: {exc.strerror or exc}") from None
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        return cls.open(root, **options)  # type: ignore[arg-type]

    @staticmethod
    def _build(root: Path, defn: Definition, catalog_url: str | None) -> None:
        private_dir(root / VOLUME_DIR)
        private_dir(root / TAPE_DIR)
        url = catalog_url or sqlite_url(root / CATALOG_FILE)
        if catalog_url:
            _point_at(root, catalog_url)
        else:
            os.close(private_file(root / CATALOG_FILE, os.O_WRONLY))  # SQLite's journal files follow its mode
        catalog = Catalog.create(url)
        rows: list[object] = [dc.onto(None) for dc in defn.dump_classes]
        rows += [StorageGroupRow(name=g.name, type=g.type, backup_group=g.backup_group) for g in defn.storage_groups]
        for group, vol in [(g.name, v) for g in defn.storage_groups for v in g.volumes] + [
            (None, v) for v in defn.extra_volumes
        ]:
            image = f"{VOLUME_DIR}/{vol.volser}.img"
            Volume.create(root / image, vol.volser, vol.geometry).close()
            rows.append(vol.row(group, image))
        rows += [pool.onto(None) for pool in defn.copy_pools]
        rows += [link for pool in defn.copy_pools for link in pool.links()]
        rows += _security_rows(defn, Identity.current().user, time.time())
        catalog.add_rows(rows)
        with catalog.transaction() as c:
            settings.write(c, settings.Settings(share_group=defn.share_group))
            setsys.write(c, defn.parmlib.setsys)
            if defn.parmlib.dump_cycle is not None:
                days, start = defn.parmlib.dump_cycle
                dumpcycle.write(c, days, start, dt.date.today())
        trail = AuditTrail(catalog, root)
        trail.open(Identity.current(), time.time)  # the trail begins sealed with the site's key
        trail.close()
        catalog.close()

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        options: FlashCopyOptions | None = None,
        copier: CopierSettings | None = None,
        clock: Callable[[], float] = time.time,
        durable: bool = True,
        fence: Fence | None = None,
    ) -> Site:
        """Open a site. `durable` (the default) keeps every promise through a power cut
        (docs/ATOMICITY.md): the catalog flushes each commit, FlashCopy flushes a target before
        the bits that vouch for its tracks. Without it, only through a process crash. `fence`:
        a host of the plex's check on every commit that writes the catalog, from the first one
        opening makes (engine.plex.ownership)."""
        root = Path(path)
        lock = _lock_site(root)
        options = dataclasses.replace(options or FlashCopyOptions(), durable=durable)
        try:
            return cls._open(root, lock, options=options, copier=copier, clock=clock, fence=fence)
        except (DatabaseError, sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # damage found after the first read
            os.close(lock)
            raise unusable(cls.catalog_url(root), exc) from None
        except BaseException:
            os.close(lock)
            raise

    @classmethod
    def _open(
        cls,
        root: Path,
        lock: int,
        *,
        options: FlashCopyOptions,
        copier: CopierSettings | None,
        clock: Callable[[], float],
        fence: Fence | None,
    ) -> Site:
        catalog_files = (CATALOG_FILE, f"{CATALOG_FILE}-wal", f"{CATALOG_FILE}-shm", CATALOG_URL_FILE)
        repaired = sitefiles.secure(root, None, only=catalog_files)  # the catalog's files first
        catalog = Catalog.open(cls.catalog_url(root), durable=options.durable)
        if fence is not None:
            catalog.guard(fence)
        try:
            with catalog.transaction() as c:
                found = settings.read(c)
                if fence is None:  # only a host of the plex, holding the site's volumes, may open it now
                    _refuse_if_served(root, c)
            repaired += sitefiles.secure(root, sitefiles.share_gid(found.share_group))
        except BaseException:
            catalog.close()
            raise
        volumes: dict[str, Volume] = {}
        unavailable: dict[str, str] = {}
        for row in catalog.volumes():
            g = Geometry(row.model, row.cylinders, row.tracks_per_cylinder, row.track_size)
            try:
                volumes[row.volser] = Volume.open(inside(root, row.image, VOLUME_DIR), row.volser, g)
            except (VolumeError, OutsideSite) as exc:
                unavailable[row.volser] = str(exc)
        rels, next_id, damaged = catalog.load_relationships()
        usable: list[Relationship] = []
        suspended: dict[int, str] = dict(damaged)
        for rel in rels:
            missing = [v for v in dict.fromkeys((rel.source, rel.target, rel.feed)) if v not in volumes]
            if missing:
                why = ", ".join(unavailable.get(v, f"volume {v} is not defined in the catalog") for v in missing)
                suspended[rel.id] = f"relationship {rel.id} ({rel.source} -> {rel.target}) suspended: {why}"
            else:
                usable.append(rel)
        core = FlashCopyCore(
            volumes,
            options,
            journal=catalog.journal(),
            clock=clock,
            relationships=usable,
            next_id=next_id,
            held_log=HeldLog(root / HELD_LOG),
        )
        held = core.replay_held()
        ctl = FlashCopyController(volumes, core=core, copier=copier, clock=clock)
        site = cls(root, catalog, volumes, unavailable, suspended, ctl)
        site._lock = lock
        site.repaired = repaired
        site.replayed = held
        with catalog.session() as s:
            site.demo = repo.is_demo(s)
        site.audit_notes = site.context.audit.open(Identity.current(), clock)
        site.recovered = site._finish_interrupted(clock())
        site._checkpointed = site.context.audit.mark()  # the head file has it; a checkpoint when it moves
        site.hsm.apply_setsys(site.context.setsys())
        return site

    @staticmethod
    def catalog_url(root: Path) -> str:
        pointer = root / CATALOG_URL_FILE
        return pointer.read_text().strip() if pointer.exists() else sqlite_url(root / CATALOG_FILE)

    @classmethod
    def upgrade_catalog(cls, path: str | os.PathLike[str]) -> tuple[str | None, str]:
        """`flashpool catalog upgrade`: the migrations, with the site locked (nobody else has it open)."""
        root = Path(path)
        lock = _lock_site(root)
        try:
            _refuse_while_served(root, cls.catalog_url(root))
            return Catalog.upgrade(cls.catalog_url(root))
        finally:
            os.close(lock)

    @classmethod
    def migrate_catalog(cls, path: str | os.PathLike[str], url: str) -> dict[str, int]:
        """`flashpool catalog migrate`: the site's own SQLite catalog copied into the empty
        database at `url` and verified, then the site switched to it (locked meanwhile, so nobody
        writes either). The SQLite file stays beside, renamed, as the copy to go back to."""
        root = Path(path)
        lock = _lock_site(root)
        try:
            if (root / CATALOG_URL_FILE).exists():
                raise SiteError(
                    f"the site's catalog is already in another database ({shown(cls.catalog_url(root))}); "
                    "only a site's own SQLite catalog is migrated"
                )
            _refuse_while_served(root, cls.catalog_url(root))
            source = Catalog.open(cls.catalog_url(root))
            try:
                counts = copy_catalog(source, url)
            finally:
                source.close()
            _point_at(root, url)
            os.replace(root / CATALOG_FILE, root / MIGRATED_CATALOG)
            fsync_dir(root)
            return counts
        finally:
            os.close(lock)

    def _finish_interrupted(self, now: float) -> list[str]:
        """Before anything else runs: finish or undo every HSM command an interruption left
        behind, and verify the dump copies on tapes that were being written (docs/ATOMICITY.md).
        What was done goes to the activity log."""
        done = interrupted.finish(self.context.asked_by("OPEN"), None)
        with self.catalog.session() as s:
            tapes = dump.check_unfinished_tapes(s, self.path)
            for pool, text in done:
                repo.log_activity(
                    s.connection(),
                    repo.ActivityEntry(
                        now, "OPEN", "RESOLVE INTENT", pool, 4, [{"id": "FPL140I", "severity": "W", "text": text}]
                    ),
                )
            replayed, gone = self.replayed
            if replayed or gone:
                text = f"{replayed} host write(s) held for a group commit when the site stopped were written again" + (
                    f"; those to {', '.join(gone)} are lost (the volume is gone)" if gone else ""
                )
                log.warning("FPL145I %s", text.upper())
                repo.log_activity(
                    s.connection(),
                    repo.ActivityEntry(
                        now, "OPEN", "REPLAY HELD WRITES", None, 4, [{"id": "FPL145I", "severity": "W", "text": text}]
                    ),
                )
            for text in tapes:
                repo.log_activity(
                    s.connection(),
                    repo.ActivityEntry(
                        now, "OPEN", "VERIFY TAPES", None, 4, [{"id": "FPL141I", "severity": "W", "text": text}]
                    ),
                )
            if self.repaired:
                shown = "; ".join(r.describe() for r in self.repaired[:20])
                more = f" and {len(self.repaired) - 20} more" if len(self.repaired) > 20 else ""
                repo.log_activity(
                    s.connection(),
                    repo.ActivityEntry(
                        now,
                        "OPEN",
                        "SECURE SITE FILES",
                        None,
                        4,
                        [
                            {
                                "id": "FPL710W",
                                "severity": "W",
                                "text": f"{len(self.repaired)} FILE(S) OF THE SITE WERE OPEN TO OTHER USERS AND ARE "
                                f"NOW THE OWNER'S ALONE: {shown}{more}",
                            }
                        ],
                    ),
                )
            for note in self.audit_notes:
                if "THE TRAIL BEGINS" in note:
                    continue  # a new site's first entry: in the trail and the log, not news for operators
                code, _, text = note.partition(" ")
                severity = code[-1]
                repo.log_activity(
                    s.connection(),
                    repo.ActivityEntry(
                        now,
                        "OPEN",
                        "OPEN AUDIT TRAIL",
                        None,
                        {"I": 0, "W": 4}.get(severity, 8),
                        [{"id": code, "severity": severity, "text": text}],
                    ),
                )
            for text in self.suspended.values():
                repo.log_activity(
                    s.connection(),
                    repo.ActivityEntry(
                        now, "OPEN", "LOAD RELATIONSHIPS", None, 8, [{"id": "FPL142E", "severity": "E", "text": text}]
                    ),
                )
            s.commit()
        for pool, text in done:
            log.warning("open: %s: %s", pool, text)
        for text in tapes:
            log.warning("open: %s", text)
        for note in self.audit_notes:
            level = {"I": logging.INFO, "W": logging.WARNING}.get(note.split()[0][-1], logging.ERROR)
            log.log(level, note)
        for r in self.repaired:
            log.warning("open: FPL710W %s was open to other users; repaired: %s", r.path, r.describe())
        for text in self.suspended.values():
            log.error("open: %s", text)
        for volser, why in self.unavailable.items():
            log.error("open: volume %s is unavailable: %s", volser, why)
        return [text for _, text in done] + tapes + list(self.suspended.values())

    # -- running ------------------------------------------------------------------------------
    async def start(self, auto_dump_interval: float | None = 300.0, primary: Callable[[], bool] = lambda: True) -> None:
        """Resume every background copy and run automatic dump on its schedule (needs a running
        event loop), while `primary()` says this host is the plex's primary (always, alone).
        `auto_dump_interval=None` leaves automatic dump off."""
        self.off_loop()
        self.flashcopy.start()
        if self._alerting is None:
            self._alerting = asyncio.create_task(self.alerts.run(), name="flashpool-alerts")
        if auto_dump_interval and self._scheduler is None:
            self._scheduler = asyncio.create_task(
                self.hsm.schedule(auto_dump_interval, primary), name="flashpool-autodump"
            )

    def off_loop(self) -> None:
        """The site now lives on the running event loop: its catalog is read and written only from
        worker threads (checked in strict mode, see engine.catalog.store.STRICT_LOOP)."""
        self.catalog.off_loop()
        self.flashcopy.bind()

    async def close(self) -> None:
        for task in (self._scheduler, self._alerting):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._scheduler = self._alerting = None
        await self.hsm.settle()
        await self.alerts.settle()
        await self.flashcopy.stop()
        with contextlib.suppress(DatabaseError, OSError, FlashpoolError):
            await asyncio.to_thread(self.flashcopy.core.destage)  # held host writes, off the loop
        with contextlib.suppress(DatabaseError, OSError):
            await asyncio.to_thread(self.checkpoint_audit)
        self.close_files()

    def close_files(self) -> None:
        """Release volumes, catalog and lock without a running loop (after the loop that ran the
        site's background tasks has ended, e.g. when the console exits)."""
        if self.catalog.on_loop_thread() is False:  # not from the loop (async close did it)
            with contextlib.suppress(DatabaseError, OSError):
                self.checkpoint_audit()
        self.flashcopy.core.close()
        for v in self.volumes.values():
            v.close()
        self.context.audit.close()
        self.catalog.close()
        if self._lock >= 0:
            os.close(self._lock)
            self._lock = -1

    def checkpoint_audit(self, force: bool = False) -> None:
        """The audit trail's newest entry into the log (FPL720I) if it moved since the last
        checkpoint (or `force`): a copy of the head outside the catalog, for `audit verify`
        (blocking)."""
        mark = self.context.audit.mark()
        if force or mark != self._checkpointed:
            log.info(mark.checkpoint())
            self._checkpointed = mark

    def settings(self) -> settings.Settings:
        """The site's security settings (blocking)."""
        with self.catalog.transaction() as c:
            return settings.read(c)

    def share_gid(self) -> int | None:
        """The group whose members may connect to the server's socket (blocking)."""
        return sitefiles.share_gid(self.settings().share_group)

    def secure_files(self) -> list[sitefiles.Repair]:
        """Every file the owner's alone again, the socket's folder for the share group as it is
        set now (blocking; after `security set share-group`)."""
        return sitefiles.secure(self.path, self.share_gid())


__all__ = ["CatalogError", "Site", "SiteError", "SiteInUse"]
