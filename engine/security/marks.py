"""The audit trail's entries and checkpoints as values: what an export holds and a log records,
read by clients that must not import the catalog (cli.thin), and by the trail itself."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

CHECKPOINT = re.compile(r"FPL720I AUDIT CHECKPOINT: ENTRY ([0-9]+) DIGEST ([0-9a-f]{64}) KEY ([0-9a-f]{16})")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: float
    user: str
    groups: tuple[str, ...]
    origin: str
    client: str
    action: str
    decision: str  # ALLOWED | DENIED | REJECTED | UNAUTHENTICATED | ERROR | SYSTEM | OPEN
    profile: str
    access: str
    return_code: int
    message_ids: tuple[str, ...]
    prev: str
    digest: str


@dataclass(frozen=True, slots=True)
class AuditMark:
    """One entry as someone recorded it at some time: a checkpoint in a log, an entry or the
    head line of an export. The trail still holds it, or it was rewritten since."""

    seq: int
    digest: str
    key: str  # the fingerprint of the key it was sealed with ("" before keys)
    source: str = ""  # where it was recorded, for the report

    def checkpoint(self) -> str:
        return f"FPL720I AUDIT CHECKPOINT: ENTRY {self.seq} DIGEST {self.digest} KEY {self.key}"


def marks_in(text: str, source: str) -> list[AuditMark]:
    """Checkpoints in a log, or the entries and head line of an export (JSON lines)."""
    out: list[AuditMark] = []
    key = ""
    entries: list[tuple[int, str, int]] = []
    for n, line in enumerate(text.splitlines(), 1):
        found = CHECKPOINT.search(line)
        if found:
            out.append(AuditMark(int(found[1]), found[2], found[3], f"{source} line {n}"))
            continue
        if not line.startswith("{"):
            continue
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        head = data.get("head")
        if isinstance(head, dict) and {"seq", "digest", "key"} <= set(head):
            key = str(head["key"])
            out.append(AuditMark(int(head["seq"]), str(head["digest"]), key, f"{source} (its head line)"))
        elif isinstance(data.get("seq"), int) and isinstance(data.get("digest"), str):
            entries.append((data["seq"], data["digest"], n))
    out += [AuditMark(seq, digest, key, f"{source} line {n}") for seq, digest, n in entries]
    return out


class NotAuditMarks(ValueError):
    """A file given to compare the trail with holds no checkpoint, or is an export with a line
    that is not one of its entries."""


def marks_given(text: str, source: str) -> list[AuditMark]:
    """`marks_in` of a file an administrator names (`audit verify --against`): a comparison with
    nothing in it must not pass as one. An export (JSON lines) is read whole: each line its head
    or an entry; a log may hold any other lines, but at least one checkpoint."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if lines and lines[0][1].lstrip().startswith("{"):
        for n, line in lines:
            if not marks_in(line, source):
                raise NotAuditMarks(
                    f"{source} line {n} is not an audit entry or the head line of an export (flashpool audit export)"
                )
    found = marks_in(text, source)
    if not found:
        raise NotAuditMarks(
            f"{source} holds no audit checkpoint (FPL720I) and no exported entry: it is neither a flashpool "
            "log nor an audit export"
        )
    return found
