"""ARC messages: the ID, a severity and the text with real values, and a command's result.

Dates use a four-digit year everywhere (as captured DFSMShsm logs print them).
Emulator-specific ARC1806E return codes (50 and up, as docs/DOMAIN.md allows):
  50 the function is held (HOLD), 52 a REQUIRED dump class of the version is incomplete,
  54 fast reverse restore refused (not allowed, no longer eligible, or VERIFY(N) refused),
  56 a volume is unavailable (its image is missing or damaged).
Command syntax errors carry the TSO parse message (IKJ567xxI) and return code 12.
Where DFSMShsm prints nothing an operator would want (what version was made, what a withdraw left),
flashpool adds its own informational messages with the prefix FPL, never a borrowed ARC ID.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine import diskspace

#: FPL760W: said by LIST, `flashpool status`, the console and the server's log of a site opened
#: without durability (docs/ATOMICITY.md)
NOT_DURABLE = (
    "THE SITE RUNS WITHOUT POWER-LOSS DURABILITY (--no-durable): WHAT A COMMAND ANSWERED MAY BE LOST IN A POWER CUT"
)


class Rc(enum.IntEnum):
    """ARC1806E return codes (DFSMShsm's below 50, flashpool's own from 50; docs/DOMAIN.md 9)."""

    NO_VERSION = 2
    IN_THE_WAY = 4
    SEVERAL_POOLS = 6
    NO_TARGET = 10
    SYNTAX = 12
    NO_TOKEN = 14
    NOT_IN_VERSION = 16
    NO_VOLUMES = 24
    UNKNOWN_POOL = 22
    POOL_BUSY = 28
    ENQUEUE = 30
    NOT_AUTHORIZED = 36
    NO_BACKUP = 38
    NO_DUMP_COPY = 42
    NOT_A_DUMP_VOLUME = 44
    OTHER_VOLUMES_TAPE = 46
    DUMP_CLASS = 48
    HELD = 50
    REQUIRED_DUMP = 52
    FRR_REFUSED = 54
    VOLUME_UNAVAILABLE = 56
    INCREMENTAL = 58
    TAPE_DAMAGED = 60
    BSG_HAS_VERSIONS = 62


#: What each return code means, as the README's table shows it (a test keeps them equal).
RC_MEANING = {
    Rc.NO_VERSION: "no such version, or it has no usable DASD copy",
    Rc.IN_THE_WAY: "FlashCopy relationships are in the way (still copying, VERIFY(Y), a recovery in progress)",
    Rc.SEVERAL_POOLS: "the volume is in several copy pools: name one with FROMCOPYPOOL",
    Rc.NO_TARGET: "no eligible target volume (ARC1807I per source)",
    Rc.SYNTAX: "the command is malformed (IKJ567xxI), or a control data set error",
    Rc.NO_TOKEN: "no version carries that token",
    Rc.NOT_IN_VERSION: "the volume is not part of the version",
    Rc.UNKNOWN_POOL: "the copy pool, or the storage group it names (BACKUPSTORAGEGROUP), is not defined as such",
    Rc.POOL_BUSY: "another DFSMShsm function is processing the copy pool (a NOWAIT request does not wait its turn)",
    Rc.ENQUEUE: "enqueue error: another process holds the site (flashpool hsm while a console runs it without a server)",
    Rc.NO_VOLUMES: "the copy pool has no volumes, or all 999 version numbers are in use",
    Rc.NOT_AUTHORIZED: "not authorized (RACF failure in DFSMShsm): the user lacks the access a FACILITY profile requires",
    Rc.NO_BACKUP: "the volume has no fast replication backup",
    Rc.NO_DUMP_COPY: "no dump copy of that kind",
    Rc.NOT_A_DUMP_VOLUME: "not a dump volume",
    Rc.OTHER_VOLUMES_TAPE: "the dump volume holds another volume",
    Rc.DUMP_CLASS: "dump class not defined, not used by the version, or not available for mount",
    Rc.HELD: "the function is held (HOLD)",
    Rc.REQUIRED_DUMP: "a REQUIRED dump class of the version to roll off is incomplete (FORCE overrides)",
    Rc.FRR_REFUSED: "fast reverse restore refused (VERIFY(N), or a VERSIONS=0 NOCOPY copy)",
    Rc.VOLUME_UNAVAILABLE: "a volume is unavailable (its image is missing or short)",
    Rc.INCREMENTAL: "FCINCREMENTAL cannot refresh or create the incremental version",
    Rc.TAPE_DAMAGED: "the dump tape is damaged; nothing was changed",
    Rc.BSG_HAS_VERSIONS: "BACKUPSTORAGEGROUP cannot change while the copy pool has DASD versions",
}


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    text: str

    @property
    def severity(self) -> str:
        return {"I": "INFO", "W": "WARNING", "E": "ERROR", "A": "ACTION"}.get(self.id[-1], "INFO")

    def __str__(self) -> str:
        return f"{self.id} {self.text}"


@dataclass(slots=True)
class CommandResult:
    command: str
    messages: list[Message] = field(default_factory=list)
    rc: int = 0
    listing: list[str] = field(default_factory=list)  # LIST output lines
    data: dict[str, Any] | None = None  # what LIST and QUERY found, the version FRBACKUP made (--json; schemas/)

    def add(self, mid: str, text: str) -> None:
        self.messages.append(Message(mid, text))

    def fail(self, rc: int) -> None:
        self.rc = max(self.rc, int(rc))

    def lines(self) -> list[str]:
        return [str(m) for m in self.messages] + self.listing

    def to_json(self) -> str:
        """One JSON object per command (schemas/hsm-result.schema.json): the listing as data, not
        as its text lines."""
        return json.dumps(
            {
                "command": self.command,
                "rc": self.rc,
                "messages": [{**asdict(m), "severity": m.severity} for m in self.messages],
                "data": self.data,
            }
        )


def stamp(at: float) -> str:
    t = dt.datetime.fromtimestamp(at)
    return f"AT {t:%H:%M:%S} ON {t:%Y/%m/%d}"


def starting(function: str, what: str, at: float, token: str | None = None) -> Message:
    tok = f", TOKEN={token}" if token else ""
    return Message("ARC1801I", f"FAST REPLICATION {function} IS STARTING FOR {what}, {stamp(at)}{tok}")


def completed(function: str, what: str, at: float, rc: int, vol_rc: int, capture_rc: int | None = None) -> Message:
    cap = f", CAPTURE CATALOG RC={capture_rc:04d}" if capture_rc is not None else ""
    return Message(
        "ARC1802I",
        f"FAST REPLICATION {function} HAS COMPLETED FOR {what}, {stamp(at)}, FUNCTION RC={rc:04d}, "
        f"MAXIMUM VOLUME RC={vol_rc:04d}{cap}",
    )


def failed(function: str, what: str, rc: int, why: str = "") -> Message:
    reason = f" - {why}" if why else ""
    return Message("ARC1806E", f"FAST REPLICATION {function} HAS FAILED FOR {what}, RC={rc:04d}{reason}")


def volumes_ok(function: str, cp: str, vols: list[str]) -> Message:
    return Message(
        "ARC1805I",
        f"THE FOLLOWING {len(vols):05d} VOLUME(S) WERE SUCCESSFULLY PROCESSED BY FAST REPLICATION "
        f"{function} OF COPY POOL {cp}: " + " ".join(vols),
    )


def volumes_failed(function: str, cp: str, vols: list[tuple[str, str]]) -> Message:
    return Message(
        "ARC1803E",
        f"THE FOLLOWING {len(vols):05d} VOLUME(S) FAILED DURING FAST REPLICATION {function} OF COPY "
        f"POOL {cp}: " + "; ".join(f"{v} ({why})" for v, why in vols),
    )


def no_target(source: str, why: str) -> Message:
    return Message("ARC1807I", f"NO TARGET VOLUME COULD BE SELECTED FOR SOURCE VOLUME {source}: {why}")


def dss(text: str) -> Message:
    return Message("ARC0640I", f"ARCFRTM - {text}")


def resource_problem(exc: BaseException, where: Path | None = None) -> str:
    """What a database or file-system error means for the operator: a full disk is not damage.
    `where`: the site, whose file system is asked when SQLite says only "disk I/O error"."""
    text = str(getattr(exc, "orig", None) or exc)
    if diskspace.full(where, exc):
        return (
            "no space left on the file system that holds the site (ENOSPC); what was committed is intact and "
            "what was interrupted is finished or undone by the next command on the copy pool - free space and "
            "issue the command again"
        )
    if "i/o error" in text.lower():
        return f"the file system reports an I/O error ({text}); what was committed is intact - check the device"
    if "malformed" in text or "not a database" in text or isinstance(exc, UnicodeDecodeError):
        return f"the catalog is damaged ({text}); restore it from a copy"
    return f"the catalog or a file could not be used ({text}); what was committed is intact"
