"""The disks a power cut could leave, built from what the recording file system saw.

A run (`record`) serves a copy of the scenario's base site through tests/power/recordfs.py and
runs the scenario's command on it in a child process; the child marks the moment it was answered
(RC) by creating `ACK` beside the site. The log then holds every change and flush in order.

A state (`build`) is the base site plus the log up to a cut:
* names (create, mkdir, rename, unlink, rmdir) and truncations up to the cut persist, in order —
  the file system's metadata journal commits them in the order they were made (ext4
  data=ordered, XFS);
* a write persists when a flush of its file (fsync or fdatasync) follows it before the cut;
* every other write before the cut — written but not flushed — may or may not have reached the
  disk: `keep` decides for each (none, all, or a random subset from a seed), and the ones kept
  land in the order they were made; in a torn state each kept write lands only in some of its
  4 KB sectors (a disk writes a sector atomically, not a track);
* SQLite's shared-memory index (`-shm`) is not kept: a power cut leaves nothing of it that
  SQLite trusts, and it rebuilds it from the WAL.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import select

from engine.catalog.models import (
    AuditRow,
    BackupVersionRow,
    CopyPoolRow,
    DumpClassRow,
    PermitRow,
    ProfileRow,
    RoleGrantRow,
    SiteSettingRow,
)
from engine.flashcopy import CopierSettings
from engine.site import Site
from tests.hsm.crash_points import HOST_WRITES, Model, Scenario, check, clock
from tests.hsm.crash_points import build as build_base
from tests.hsm.lies_site import SOURCES, TRACKS, track
from tests.power.recordfs import Op, load

ROOT = Path(__file__).resolve().parents[2]
FLUSHES = ("fsync", "fdatasync")
NAMES = ("create", "mkdir", "rename", "unlink", "rmdir", "truncate")


@dataclass
class Run:
    base: Path  # the site before the command (the disk the log starts from)
    ops: list[Op]
    ack: int  # the index of the ACK marker's creation: everything before it was done when RC came
    answered: Promised  # what the catalog said when the RC was answered
    settled: Promised  # ... and once what the command left running had ended (a FREND dump)
    model: Model
    scenario: Scenario

    def cuts(self) -> list[int]:
        """Where a power cut is worth trying: after every flush, at the answer, at the end."""
        points = {i + 1 for i, op in enumerate(self.ops) if op.kind in (*FLUSHES, "fsyncdir")}
        return sorted(points | {self.ack, self.ack + 1, len(self.ops)})


#: What an answered command may have changed and a power cut must not take back: its versions,
#: the configuration (copy pools, dump classes, settings and holds), the security setup, and the
#: audit trail (whose entries up to the answer must all still be there, in order).
Promised = dict[str, list[str]]
TABLES = {
    "versions": BackupVersionRow,
    "copy pools": CopyPoolRow,
    "dump classes": DumpClassRow,
    "settings": SiteSettingRow,
    "profiles": ProfileRow,
    "permits": PermitRow,
    "grants": RoleGrantRow,
}


def promised(site: Site) -> Promised:
    def rows(model: type) -> list[str]:
        found = s.exec(select(model)).all()
        if model is BackupVersionRow:  # its state, not its copy progress
            return sorted(json.dumps([v.copy_pool, v.version, v.dasd_state]) for v in found)
        return sorted(json.dumps(r.model_dump(), sort_keys=True, default=str) for r in found)

    with site.catalog.session() as s:
        out = {name: rows(model) for name, model in TABLES.items()}
        audit = s.exec(select(AuditRow).order_by(AuditRow.seq)).all()  # type: ignore[arg-type]
        out["audit"] = [json.dumps(r.model_dump(), sort_keys=True, default=str) for r in audit]
    return out


def promised_at(path: Path) -> Promised:
    """The promised state as Site.open leaves the site at `path`."""
    site = Site.open(path, clock=clock())
    try:
        return promised(site)
    finally:
        site.close_files()


def lost(answered: Promised, settled: Promised, now: Promised) -> list[str]:
    """What the answer said that the state after the cut no longer says: each table as it was
    answered, or as the work the command left running (RETURNCONTROL(FREND)) then made it."""
    out = [
        f"{name}: {now[name]} after the cut, {answered[name]} when answered"
        for name in TABLES
        if now[name] not in (answered[name], settled[name])
    ]
    if now["audit"][: len(answered["audit"])] != answered["audit"]:
        out.append(f"audit: {len(answered['audit'])} entries when answered, not all of them after the cut")
    return out


def unwritten(path: Path, run: Run) -> list[str]:
    """After the host's flush answered, every host write it covered reads back."""
    n = run.scenario.host_writes
    if not n:
        return []
    site = Site.open(path, clock=clock())
    try:
        core = site.flashcopy.core
        return [
            f"{v} lost a host write its flush made durable"
            for v in SOURCES
            if core.read_run(v, 0, n) != [track(v, HOST_WRITES, i) for i in range(n)]
        ]
    finally:
        site.close_files()


def unrecovered(path: Path, run: Run) -> list[str]:
    """After a volume or copy pool recovery answered RC 0, every volume it recovered reads the
    recovered point in time (not its old content, nor a mix of both)."""
    scenario = run.scenario
    if scenario.recovers is None or scenario.dataset:
        return []
    want = run.model.versions[scenario.recovers]
    one = re.search(r"TOVOLUME\((\w+)\)", scenario.command)
    site = Site.open(path, clock=clock())
    try:
        core = site.flashcopy.core
        return [
            f"{v} does not hold the recovered point in time"
            for v in ([one.group(1)] if one else sorted(want))
            if core.read_run(v, 0, TRACKS) != want[v]
        ]
    finally:
        site.close_files()


def _mounted(path: Path, timeout: float = 10.0) -> None:
    start = time.monotonic()
    while not os.path.ismount(path):
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"the recording file system did not mount on {path}")
        time.sleep(0.02)


def record(root: Path, scenario: Scenario, copiers: bool = False, durable: bool = True) -> Run:
    """Run the scenario's command on a recorded copy of its base site (opened with or without
    durability)."""
    base, model = build_base(root, scenario)
    backing, mount, log = root / "backing", root / "mnt", root / "ops.log"
    backing.mkdir()
    mount.mkdir()
    shutil.copytree(base, backing / "site")
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.power.recordfs", str(backing), str(mount), str(log)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    answered_file = root / "answered.json"
    try:
        _mounted(mount)
        _run_child(mount, scenario, answered_file, copiers, durable)
    finally:
        subprocess.run(["fusermount3", "-u", str(mount)], check=False)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.send_signal(signal.SIGKILL)
            raise
    ops = load(log)
    ack = next(i for i, op in enumerate(ops) if op.kind == "create" and op.path == "/ACK")
    said = json.loads(answered_file.read_text())
    return Run(base, ops, ack, said["answered"], said["settled"], model, scenario)


def _run_child(mount: Path, scenario: Scenario, answered: Path, copiers: bool, durable: bool) -> None:
    pid = os.fork()
    if pid == 0:
        code = 0
        try:

            async def main() -> None:
                site = Site.open(mount / "site", clock=clock(), copier=CopierSettings(chunk_tracks=3), durable=durable)
                if copiers:
                    await site.start(auto_dump_interval=None)
                try:
                    res = await scenario.run(site)
                    if res.rc > 4:
                        raise AssertionError(f"{scenario.name} ended with RC {res.rc}: {res.lines()}")
                    at_answer = promised(site)
                    (mount / "ACK").touch()  # the answer's place among the writes
                    await site.hsm.settle()  # what the command left running (a FREND dump) ends
                    answered.write_text(json.dumps({"answered": at_answer, "settled": promised(site)}))
                finally:
                    await site.close()

            asyncio.run(main())
        except BaseException:  # noqa: BLE001 - the parent sees it as exit code 1
            import traceback

            traceback.print_exc()
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"the recorded command failed ({status})"


def durable_writes(ops: list[Op], cut: int) -> set[int]:
    """The writes before `cut` that a flush of their file made durable before `cut`."""
    ident: dict[str, int] = {}
    next_id = 0

    def file_of(path: str) -> int:
        nonlocal next_id
        if path not in ident:
            ident[path] = next_id
            next_id += 1
        return ident[path]

    writes: dict[int, list[int]] = {}
    durable: set[int] = set()
    for i, op in enumerate(ops[:cut]):
        if op.kind == "create":
            ident.pop(op.path, None)
            file_of(op.path)
        elif op.kind == "rename":
            ident[op.to] = file_of(op.path)
            ident.pop(op.path, None)
        elif op.kind == "unlink":
            ident.pop(op.path, None)
        elif op.kind == "write":
            writes.setdefault(file_of(op.path), []).append(i)
        elif op.kind in FLUSHES:
            durable.update(writes.pop(file_of(op.path), []))
    return durable


SECTOR = 4096  # what a disk writes atomically; a longer write can land in part (torn)


@dataclass(frozen=True)
class Keep:
    """Which of the writes not yet flushed reach the disk at the cut, and how much of each: with
    `torn`, each kept write lands only in the 4 KB sectors it says (a write the power cut tore)."""

    writes: Callable[[int], bool]
    torn: Callable[[int, int], bool] | None = None  # (write, sector) -> that sector landed


def build(run: Run, cut: int, keep: Keep, out: Path) -> Path:
    """The disk at a power cut after ops[:cut], with the unflushed writes `keep` says reached it."""
    shutil.copytree(run.base, out / "site")
    durable = durable_writes(run.ops, cut)
    for i, op in enumerate(run.ops[:cut]):
        target = out / op.path.lstrip("/")
        if op.kind == "write":
            if i in durable or keep.writes(i):
                whole = i in durable or keep.torn is None
                fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
                try:
                    for at in range(0, len(op.data), len(op.data) if whole else SECTOR):
                        if whole or keep.torn(i, at // SECTOR):  # type: ignore[misc]
                            os.pwrite(fd, op.data[at : at + (len(op.data) if whole else SECTOR)], op.offset + at)
                finally:
                    os.close(fd)
        elif op.kind == "create":
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.close(fd)
        elif op.kind == "mkdir":
            target.mkdir(mode=0o700, exist_ok=True)
        elif op.kind == "truncate":
            os.truncate(target, op.size)
        elif op.kind == "unlink":
            target.unlink(missing_ok=True)
        elif op.kind == "rmdir":
            shutil.rmtree(target, ignore_errors=True)
        elif op.kind == "rename":
            os.replace(target, out / op.to.lstrip("/"))
    for shm in (out / "site").rglob("*-shm"):
        shm.unlink()
    return out / "site"


def choices(seed: int, ops: int) -> list[tuple[str, Keep]]:
    """Which of the `ops` recorded changes, if unflushed, reach the disk: none, all, two random
    subsets, and a random subset of them torn at 4 KB sectors (all reproduced by the seed)."""
    rng = random.Random(seed)
    subsets = [{i for i in range(ops) if rng.random() < 0.5} for _ in range(3)]
    tear = rng.randrange(1 << 30)
    return [
        ("none", Keep(lambda i: False)),
        ("all", Keep(lambda i: True)),
        *((f"subset{n}", Keep(lambda i, s=s: i in s)) for n, s in enumerate(subsets[:2])),
        ("torn", Keep(lambda i: i in subsets[2], lambda i, k: random.Random(tear ^ (i << 20) ^ k).random() < 0.5)),
    ]


def problems_at(run: Run, cut: int, keep: Keep, out: Path) -> list[str]:
    """Build the state and check the promise on it: the site opens, settles, and every promise
    the catalog makes holds (tests/hsm/crash_points.check); an answered command is not lost."""
    path = build(run, cut, keep, out)
    try:
        found = check(path, run.model, run.scenario)
    except Exception as exc:  # noqa: BLE001 - a site that does not open is a broken promise
        return [f"the site does not open or check: {type(exc).__name__}: {exc}"]
    if cut > run.ack:
        found += [
            f"the answered command is lost: {what}" for what in lost(run.answered, run.settled, promised_at(path))
        ]
        found += [f"the answered recovery is lost: {what}" for what in unrecovered(path, run)]
        found += unwritten(path, run)
    return found
