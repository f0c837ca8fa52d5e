"""The audit trail: every command and every authorization decision, append-only and
hash-chained.

Each entry's digest is the SHA-256 of the digest before it and of its own fields (its sequence
number among them), so changing an entry breaks its digest, removing one leaves a gap in the
sequence and a broken link, and reordering breaks the links. Removing entries from the end
leaves a valid shorter chain: the site's `audit.head` file names the newest entry written, so
that is found too. Someone who can rewrite both the catalog and that file can forge a
consistent trail; the chain makes tampering evident, it is not a secret.

Allowed reads (the console's views, LIST and QUERY answered in-process by the console's
refresh) are not entries; every refused request is.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, insert
from sqlmodel import col, select

from engine.catalog import Catalog
from engine.catalog.models import AuditRow
from engine.paths import Sharing
from engine.security.access import Decision
from engine.security.identity import Identity

HEAD_FILE = "audit.head"
GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class Auditable:
    """What one entry records, before it has its place in the chain."""

    who: Identity
    origin: str
    action: str
    at: float
    decision: Decision | None = None
    return_code: int = 0
    message_ids: tuple[str, ...] = ()

    def fields(self, seq: int) -> dict[str, object]:
        d = self.decision
        return {
            "seq": seq,
            "at": float(self.at),  # as the REAL column gives it back (a clock may give an int)
            "user": self.who.user,
            "groups": list(self.who.groups),
            "origin": self.origin,
            "client": self.who.client,
            "action": self.action,
            "decision": "DENIED" if d is not None and not d.allowed else "ALLOWED",
            "profile": d.profile if d else "",
            "access": d.needed.name if d else "",
            "return_code": self.return_code,
            "message_ids": list(self.message_ids),
        }


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: float
    user: str
    groups: tuple[str, ...]
    origin: str
    client: str
    action: str
    decision: str  # ALLOWED | DENIED
    profile: str
    access: str
    return_code: int
    message_ids: tuple[str, ...]
    prev: str
    digest: str


def _fields(row: AuditRow) -> dict[str, object]:
    return {
        "seq": row.seq,
        "at": row.at,
        "user": row.user,
        "groups": json.loads(row.groups),
        "origin": row.origin,
        "client": row.client,
        "action": row.action,
        "decision": row.decision,
        "profile": row.profile,
        "access": row.access,
        "return_code": row.return_code,
        "message_ids": json.loads(row.message_ids),
    }


def _digest(prev: str, fields: dict[str, object]) -> str:
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()


def digest_of(prev: str, row: AuditRow) -> str:
    return _digest(prev, _fields(row))


def _entry(row: AuditRow) -> AuditEntry:
    f = _fields(row)
    return AuditEntry(
        row.seq,
        row.at,
        row.user,
        tuple(f["groups"]),  # type: ignore[arg-type]
        row.origin,
        row.client,
        row.action,
        row.decision,
        row.profile,
        row.access,
        row.return_code,
        tuple(f["message_ids"]),  # type: ignore[arg-type]
        row.prev,
        row.digest,
    )


class AuditTrail:
    def __init__(self, catalog: Catalog, root: Path) -> None:
        self.catalog = catalog
        self.root = root
        self._lock = threading.Lock()
        self._last: tuple[int, str] | None = None  # the newest entry written: (seq, digest)
        self._head_fd = -1

    def record(
        self,
        who: Identity,
        origin: str,
        action: str,
        at: float,
        decision: Decision | None = None,
        rc: int = 0,
        message_ids: tuple[str, ...] = (),
        also: Callable[[Connection], None] | None = None,
    ) -> int:
        """Append one entry (blocking); returns its sequence number. `also`: more rows written in
        the same transaction (a command's activity entry), so both are there or neither."""
        return self.record_all([Auditable(who, origin, action, at, decision, rc, message_ids)], also)[0]

    def record_all(self, entries: Sequence[Auditable], also: Callable[[Connection], None] | None = None) -> list[int]:
        """Append entries in this order, in one transaction with `also` (blocking): a group
        commit, so fifty askers at once cost one commit; returns their sequence numbers."""
        with self._lock:
            try:
                with self.catalog.transaction() as c:
                    if self._last is None:  # once per open: this process is the site's only writer
                        last = c.execute(
                            select(AuditRow.seq, AuditRow.digest).order_by(col(AuditRow.seq).desc()).limit(1)
                        ).first()
                        self._last = (last[0], last[1]) if last else (0, GENESIS)
                        head = self._head()
                        if head is not None and head[0] > self._last[0]:
                            # entries were cut from the end: the next one follows the last one
                            # written, so the gap stays in the chain for `audit verify` to find
                            self._last = head
                    seq, digest = self._last
                    rows, seqs = [], []
                    for e in entries:
                        seq, prev = seq + 1, digest
                        fields = e.fields(seq)
                        digest = _digest(prev, fields)
                        rows.append(
                            {
                                **fields,
                                "groups": json.dumps(fields["groups"]),
                                "message_ids": json.dumps(fields["message_ids"]),
                                "prev": prev,
                                "digest": digest,
                            }
                        )
                        seqs.append(seq)
                    if rows:
                        c.execute(insert(AuditRow), rows)
                    if also is not None:
                        also(c)
            except BaseException:
                self._last = None  # read again from what the catalog holds
                raise
            if rows:
                self._last = (seq, digest)
                self._write_head(seq, digest)
            return seqs

    def _write_head(self, seq: int, digest: str) -> None:
        """In place, one fixed-width line at offset 0 (a rename per entry made ext4 flush the
        file's data: 2.7 ms a command). A write torn by a crash reads as a damaged head file,
        which `audit verify` reports; it never vouches for a shorter trail."""
        if self._head_fd < 0:
            self._head_fd = Sharing.of(self.root).create(self.root / HEAD_FILE, os.O_RDWR)
        line = f"{seq:>20} {digest}\n".encode()
        os.pwrite(self._head_fd, line, 0)
        os.ftruncate(self._head_fd, len(line))

    def close(self) -> None:
        if self._head_fd >= 0:
            os.close(self._head_fd)
            self._head_fd = -1

    def _head(self) -> tuple[int, str] | None:
        try:
            seq, digest = (self.root / HEAD_FILE).read_text().split()
            return int(seq), digest
        except FileNotFoundError:
            return None
        except ValueError:
            return (-1, "")

    def entries(self, since: float | None = None) -> Iterator[AuditEntry]:
        with self.catalog.session() as s:
            q = select(AuditRow).order_by(col(AuditRow.seq))
            if since is not None:
                q = q.where(AuditRow.at >= since)
            rows = list(s.exec(q))
        for row in rows:
            yield _entry(row)

    def verify(self) -> tuple[int, list[str]]:
        """(entries checked, what is wrong): every changed, removed or reordered entry."""
        problems: list[str] = []
        prev, expected, count = GENESIS, 1, 0
        seen: dict[int, str] = {}
        with self.catalog.session() as s:
            rows = list(s.exec(select(AuditRow).order_by(col(AuditRow.seq))))
        for row in rows:
            count += 1
            if row.seq != expected:
                problems.append(
                    f"entries {expected}-{row.seq - 1} are missing"
                    if row.seq > expected + 1
                    else f"entry {expected} is missing"
                    if row.seq > expected
                    else f"entry {row.seq} is out of order"
                )
            if row.prev != prev:
                problems.append(f"entry {row.seq} does not follow the entry before it (removed or reordered entries)")
            if digest_of(row.prev, row) != row.digest:
                problems.append(f"entry {row.seq} was changed after it was written")
            seen[row.seq] = row.digest
            prev, expected = row.digest, row.seq + 1
        head = self._head()
        if head is None:
            if rows:
                problems.append(f"the head file {HEAD_FILE} is missing: removed entries at the end cannot be ruled out")
        elif head[0] < 0:
            problems.append(f"the head file {HEAD_FILE} is damaged")
        elif head[0] > (rows[-1].seq if rows else 0):
            last = rows[-1].seq if rows else 0
            problems.append(f"entries {last + 1}-{head[0]} were removed from the end")
        elif head[0] in seen and seen[head[0]] != head[1]:
            problems.append(f"entry {head[0]} is not the entry the head file recorded")
        return count, problems


__all__ = ["AuditEntry", "AuditTrail", "Auditable", "digest_of"]
