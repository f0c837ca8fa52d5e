"""The audit trail: every command and every authorization decision, append-only, chained and
sealed with a key.

Each entry's digest is an HMAC-SHA256, under the site's audit key (engine.security.auditkey:
kept apart from the catalog, readable by the server's user alone), of the digest before it and
of its own fields (its sequence number among them). So:

* a changed entry fails its seal; a removed one leaves a gap and a broken link; reordered
  ones break the links; an entry appended by someone who can write the catalog but does not
  hold the key fails its seal, and the server never chains onto it;
* entries cut from the end leave a valid shorter chain: the head file (`audit.head`, outside
  the catalog) names the newest entry written, so that is found too, and so are entries after
  it that were not written by the server;
* an empty trail on a site whose activity log holds commands is reported;
* checkpoints of the head (FPL720I lines in the server's log, which systemd's journal also
  keeps, and the head line every `flashpool audit export` ends with) let `audit verify` prove
  that the trail was not rewritten after them, even by someone who holds the key.

What it cannot detect: someone who holds the server's user (and so the key, the catalog, the
head file and the site's log) rewrites the trail consistently and no checkpoint kept elsewhere
(an earlier export, the system journal) is compared with it. docs/SECURITY.md says so too.

A trail from before keys (catalog revisions below 0006) is verified with plain SHA-256 once,
then sealed with a new key; what that check found is written into the sealing entry.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Connection, func, insert, text, update
from sqlmodel import col, select

from engine.catalog import Catalog
from engine.catalog import settings as site_settings
from engine.catalog.models import ActivityRow, AuditRow
from engine.errors import FlashpoolError
from engine.paths import private_file
from engine.printable import printable
from engine.security import auditkey
from engine.security.access import Decision
from engine.security.auditkey import AuditKey
from engine.security.identity import Identity
from engine.security.marks import AuditEntry, AuditMark, marks_in

HEAD_FILE = "audit.head"
GENESIS = "0" * 64
LOG_FILES = ("flashpool.log", "flashpool.log.1", "flashpool.log.2", "flashpool.log.3", "flashpool-server.out")


class AuditKeyMissing(FlashpoolError):
    """The catalog says the trail is sealed with a key that is not in keys/."""


#: how a decision was taken, as the trail records it
ALLOWED, DENIED = "ALLOWED", "DENIED"
REJECTED = "REJECTED"  # refused before any profile was asked: malformed, not text, unknown origin
UNAUTHENTICATED = "UNAUTHENTICATED"  # no identity: no token, a wrong, expired or revoked one
ERROR = "ERROR"  # the profiles could not be read: nothing was decided, nothing done
SYSTEM = "SYSTEM"  # the site's own work (opening, sealing): nobody asked
OPEN = "OPEN"  # a function open to every connected user (who am I, what may I do): nothing to decide


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
    verdict: str = ""  # the decision when no profile took it (REJECTED, UNAUTHENTICATED, ERROR, SYSTEM)

    def fields(self, seq: int) -> dict[str, object]:
        d = self.decision
        taken = self.verdict or (DENIED if d is not None and not d.allowed else ALLOWED)
        return {
            "seq": seq,
            "at": float(self.at),  # as the REAL column gives it back (a clock may give an int)
            "user": printable(self.who.user),
            "groups": list(self.who.groups),
            "origin": self.origin,
            "client": printable(self.who.client),
            "action": printable(self.action),
            "decision": taken,
            "profile": d.profile if d else "",
            "access": d.needed.name if d else "",
            "return_code": self.return_code,
            "message_ids": list(self.message_ids),
        }


#: the trail's lock on PostgreSQL (a transaction-scoped advisory lock): entries from every host of
#: an HSMplex are appended one transaction at a time, onto the newest, so the chain stays one chain
AUDIT_LOCK = 0x464C5041  # "FLPA"


def _appended_elsewhere(c: Connection, last: tuple[int, str]) -> bool:
    """Whether the trail moved on since this process's newest entry (`last`): another host of
    the plex appended. Taken under the trail's lock where several hosts share the catalog; a
    SQLite catalog is driven by one process, which knows its newest entry."""
    if c.dialect.name != "postgresql":
        return False
    c.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK})
    newest = c.execute(select(AuditRow.seq, AuditRow.digest).order_by(col(AuditRow.seq).desc()).limit(1)).first()
    return newest is not None and (newest[0], newest[1]) != last


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


def _body(prev: str, fields: dict[str, object]) -> bytes:
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{prev}\n{body}".encode()


def legacy_digest(prev: str, fields: dict[str, object]) -> str:
    """How entries were chained before the trail had a key (revision 0005 and older)."""
    return hashlib.sha256(_body(prev, fields)).hexdigest()


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
        self._key: AuditKey | None = None

    @property
    def key(self) -> AuditKey:
        if self._key is None:
            raise RuntimeError("the audit trail is used before the site opened it")
        return self._key

    # -- opening --------------------------------------------------------------------------------------
    def open(self, who: Identity, clock: Callable[[], float]) -> list[str]:
        """At the site's open, before any entry (blocking): the key, the trail sealed if it was
        kept without one, the head brought level with entries the server wrote before it could
        update it. Returns what an operator should hear (for the log and the activity log)."""
        notes: list[str] = []
        with self.catalog.transaction() as c:
            stored = site_settings.read(c)
        key = auditkey.load(self.root)
        if key is None:
            pending = auditkey.pending(self.root)
            if stored.audit_key_id is not None:
                if pending is None or pending.id != stored.audit_key_id:
                    raise AuditKeyMissing(
                        f"the audit trail is sealed with key {stored.audit_key_id}, but {auditkey.key_path(self.root)} "
                        "is missing: restore it from the site's backup (without it no entry can be added or checked)"
                    )
                auditkey.install_pending(self.root)  # stopped after the catalog named it
                key = pending
            else:
                auditkey.drop_pending(self.root)  # a seal that never committed
                self._key, note = self._seal(who, clock())
                return [note]
        elif stored.audit_key_id != key.id:
            notes.append(
                f"FPL723E THE CATALOG NAMES AUDIT KEY {stored.audit_key_id or 'NONE'} BUT KEYS/AUDIT.KEY IS KEY "
                f"{key.id}: THE KEY OR THE CATALOG WAS REPLACED (flashpool audit verify)"
            )
        self._key = key
        with self._lock, self.catalog.transaction() as c:
            self._last = self._resume(c, notes)
        return notes

    def _seal(self, who: Identity, at: float) -> tuple[AuditKey, str]:
        """A trail kept without a key: checked as it was chained, re-chained under a new key, and
        an entry that says what the check found, all in one transaction."""
        with self.catalog.session() as s:
            rows = list(s.exec(select(AuditRow).order_by(col(AuditRow.seq))))
            count, problems = _check_chain(rows, None)
            head = self._head()
            if rows and head is not None and head[0] >= 0 and head[0] != rows[-1].seq:
                problems.append(f"the head file named entry {head[0]}, the newest was {rows[-1].seq}")
        key = auditkey.new_pending(self.root)
        prev = GENESIS
        with self.catalog.transaction() as c:
            for row in rows:
                digest = key.seal(_body(prev, _fields(row)))
                c.execute(update(AuditRow).where(col(AuditRow.seq) == row.seq).values(prev=prev, digest=digest))
                prev = digest
            stored = site_settings.read(c)
            site_settings.write(c, replace(stored, audit_key_id=key.id))
            seq = (rows[-1].seq if rows else 0) + 1
            found = "; ".join(problems) if problems else "NO PROBLEM FOUND"
            action = (
                f"AUDIT SEAL: {count} ENTRIES KEPT WITHOUT A KEY WERE CHECKED ({found}) AND SEALED WITH KEY {key.id}"
                if rows
                else f"AUDIT SEAL: THE TRAIL BEGINS, SEALED WITH KEY {key.id}"
            )
            fields = Auditable(who, "OPEN", action, at, None, 8 if problems else 0, (), SYSTEM).fields(seq)
            digest = key.seal(_body(prev, fields))
            c.execute(insert(AuditRow), [_row(fields, prev, digest)])
        auditkey.install_pending(self.root)
        with self._lock:
            self._last = (seq, digest)
            self._write_head(seq, digest, key)
        return key, f"FPL721I {action}"

    def _resume(self, c: Connection, notes: list[str]) -> tuple[int, str]:
        """Where the next entry goes: after the newest entry, chained onto the newest one that
        carries a valid seal. Entries after the head that carry one were written by the server
        before a stop let it update the head: the head moves on to them. Entries that do not
        are kept as they are, for `audit verify` to report, and nothing chains onto them."""
        newest = c.execute(select(func.max(AuditRow.seq))).scalar()
        head = self._head()
        if newest is None:
            if head is not None and head[0] > 0:
                return head[0], head[1]  # every entry removed: the next one says where it goes
            return 0, GENESIS
        if head is not None and head[0] > newest:
            return head[0], head[1]  # entries were cut from the end: the gap stays in the chain
        floor = head[0] if head is not None and head[0] >= 0 else 0
        tail = [
            AuditRow(**dict(r._mapping))
            for r in c.execute(select(AuditRow).where(col(AuditRow.seq) >= floor).order_by(col(AuditRow.seq).desc()))
        ]
        authentic = next((r for r in tail if self.key.seal(_body(r.prev, _fields(r))) == r.digest), None)
        if authentic is None:
            notes.append(f"FPL724E NO ENTRY AFTER THE HEAD (ENTRY {floor}) CARRIES A VALID SEAL")
            return newest, head[1] if head is not None else GENESIS
        if authentic.seq != newest:
            notes.append(
                f"FPL724E AUDIT ENTRIES {authentic.seq + 1}-{newest} DO NOT CARRY A VALID SEAL: WRITTEN BY SOMEONE "
                f"WITHOUT THE SITE'S AUDIT KEY. THE TRAIL GOES ON FROM ENTRY {authentic.seq}"
            )
        elif head is not None and authentic.seq > head[0] >= 0:
            notes.append(
                f"FPL722W AUDIT ENTRIES {head[0] + 1}-{authentic.seq} WERE WRITTEN AFTER THE HEAD FILE'S LAST UPDATE "
                "(A STOP BETWEEN THE TWO); THEIR SEALS ARE VALID AND THE HEAD MOVES ON TO THEM"
            )
            self._write_head(authentic.seq, authentic.digest, self.key)
        return newest, authentic.digest

    # -- writing --------------------------------------------------------------------------------------
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
        verdict: str = "",
    ) -> int:
        """Append one entry (blocking); returns its sequence number. `also`: more rows written in
        the same transaction (a command's activity entry), so both are there or neither."""
        return self.record_all([Auditable(who, origin, action, at, decision, rc, message_ids, verdict)], also)[0]

    def record_all(self, entries: Sequence[Auditable], also: Callable[[Connection], None] | None = None) -> list[int]:
        """Append entries in this order, in one transaction with `also` (blocking): a group
        commit, so fifty askers at once cost one commit; returns their sequence numbers."""
        key = self.key
        with self._lock:
            rows: list[dict[str, object]] = []
            try:
                with self.catalog.transaction() as c:
                    if self._last is None or _appended_elsewhere(c, self._last):
                        self._last = self._resume(c, [])  # after a failed transaction, or another host's entries
                    seq, digest = self._last
                    seqs = []
                    for e in entries:
                        seq, prev = seq + 1, digest
                        fields = e.fields(seq)
                        digest = key.seal(_body(prev, fields))
                        rows.append(_row(fields, prev, digest))
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
                self._write_head(seq, digest, key)
            return seqs

    def _write_head(self, seq: int, digest: str, key: AuditKey) -> None:
        """In place, one fixed-width line at offset 0 (a rename per entry made ext4 flush the
        file's data: 2.7 ms a command). A write torn by a crash reads as a damaged head file,
        which `audit verify` reports; it never vouches for a shorter trail. Hosts of an HSMplex
        share the file: under its lock, it only moves forward (a host that committed an older
        entry and writes after another must not take the head back)."""
        if self._head_fd < 0:
            self._head_fd = private_file(self.root / HEAD_FILE, os.O_RDWR)
        line = f"{seq:>20} {digest} {key.id}\n".encode()
        fcntl.flock(self._head_fd, fcntl.LOCK_EX)
        try:
            written = os.pread(self._head_fd, len(line), 0).split()
            if written and written[0].isdigit() and int(written[0]) >= seq and len(written) == 3:
                if written[2].decode(errors="replace") == key.id:
                    return  # another host's newer entry is the head already
            os.pwrite(self._head_fd, line, 0)
            os.ftruncate(self._head_fd, len(line))
        finally:
            fcntl.flock(self._head_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._head_fd >= 0:
            os.close(self._head_fd)
            self._head_fd = -1

    # -- reading --------------------------------------------------------------------------------------
    def _head(self) -> tuple[int, str, str] | None:
        """(seq, digest, key id) of the head file; key id "" before keys; seq -1 when damaged."""
        try:
            parts = (self.root / HEAD_FILE).read_text().split()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError):
            return (-1, "", "")
        if len(parts) not in (2, 3) or not parts[0].isdigit():
            return (-1, "", "")
        return int(parts[0]), parts[1], parts[2] if len(parts) == 3 else ""

    def mark(self) -> AuditMark:
        """The newest entry written, as a checkpoint records it (blocking)."""
        with self.catalog.session() as s:
            row = s.exec(select(AuditRow).order_by(col(AuditRow.seq).desc()).limit(1)).first()
        if row is None:
            return AuditMark(0, GENESIS, self.key.id, "the trail")
        return AuditMark(row.seq, row.digest, self.key.id, "the trail")

    def entries(self, since: float | None = None) -> Iterator[AuditEntry]:
        with self.catalog.session() as s:
            q = select(AuditRow).order_by(col(AuditRow.seq))
            if since is not None:
                q = q.where(AuditRow.at >= since)
            rows = list(s.exec(q))
        for row in rows:
            yield _entry(row)

    def verify(self, against: Iterable[AuditMark] = ()) -> tuple[int, list[str]]:
        """(entries checked, what is wrong): every changed, removed, reordered or forged entry,
        a missing or stale head, an emptied trail, a replaced key, and every checkpoint (the
        site's log, `against`) the trail no longer matches."""
        key = self.key
        with self.catalog.session() as s:
            rows = list(s.exec(select(AuditRow).order_by(col(AuditRow.seq))))
            stored = site_settings.read(s.connection())
            activity = s.exec(select(func.count()).select_from(ActivityRow)).one()
        count, problems = _check_chain(rows, key)
        if stored.audit_key_id != key.id:
            problems.append(
                f"the catalog names audit key {stored.audit_key_id or 'none'} but keys/audit.key is key {key.id}: "
                "the key or the catalog was replaced"
            )
        last = rows[-1].seq if rows else 0
        head = self._head()
        if head is None:
            if rows:
                problems.append(f"the head file {HEAD_FILE} is missing: removed entries at the end cannot be ruled out")
        elif head[0] < 0:
            problems.append(f"the head file {HEAD_FILE} is damaged")
        else:
            by_seq = {r.seq: r.digest for r in rows}
            if head[2] and head[2] != key.id:
                problems.append(f"the head file was written under key {head[2]}, the trail's key is {key.id}")
            if head[0] > last:
                problems.append(f"entries {last + 1}-{head[0]} were removed from the end")
            elif head[0] in by_seq and by_seq[head[0]] != head[1]:
                problems.append(f"entry {head[0]} is not the entry the head file recorded")
            elif head[0] < last:
                problems.append(
                    f"entries {head[0] + 1}-{last} come after the newest entry the head file recorded: appended "
                    "by someone other than the site's server"
                )
        if not rows and activity:
            problems.append(
                f"the trail is empty but the activity log holds {activity} entries: the trail's entries were removed"
            )
        problems += _against(rows, key, [*self._checkpoints(), *against])
        return count, problems

    def _checkpoints(self) -> list[AuditMark]:
        """The FPL720I checkpoints in the site's own logs."""
        out: list[AuditMark] = []
        for name in LOG_FILES:
            try:
                text = (self.root / name).read_text(errors="replace")
            except OSError:
                continue
            out += marks_in(text, name)
        return out


def _row(fields: dict[str, object], prev: str, digest: str) -> dict[str, object]:
    return {
        **fields,
        "groups": json.dumps(fields["groups"]),
        "message_ids": json.dumps(fields["message_ids"]),
        "prev": prev,
        "digest": digest,
    }


def _check_chain(rows: Sequence[AuditRow], key: AuditKey | None) -> tuple[int, list[str]]:
    """The links, the sequence and every entry's seal (`key` None: the plain SHA-256 of a trail
    kept before keys)."""
    problems: list[str] = []
    prev, expected = GENESIS, 1
    for row in rows:
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
        body = _fields(row)
        sealed = legacy_digest(row.prev, body) if key is None else key.seal(_body(row.prev, body))
        if sealed != row.digest:
            problems.append(
                f"entry {row.seq} was changed after it was written"
                if key is None
                else f"entry {row.seq} does not carry a valid seal: changed after it was written, or written by "
                "someone without the site's audit key"
            )
        prev, expected = row.digest, row.seq + 1
    return len(rows), problems


def _against(rows: Sequence[AuditRow], key: AuditKey, marks: Iterable[AuditMark]) -> list[str]:
    by_seq = {r.seq: r.digest for r in rows}
    problems: list[str] = []
    seen: set[tuple[int, str, str]] = set()
    replaced: set[str] = set()
    for m in marks:
        if (m.seq, m.digest, m.key) in seen or m.seq == 0:
            continue
        seen.add((m.seq, m.digest, m.key))
        if m.key and m.key != key.id:
            if m.key not in replaced:
                replaced.add(m.key)
                problems.append(
                    f"{m.source} recorded entry {m.seq} sealed with key {m.key}; the trail is sealed with key "
                    f"{key.id}: the key was replaced and the trail sealed again"
                )
        elif m.seq not in by_seq:
            problems.append(f"entry {m.seq}, which {m.source} recorded, is missing")
        elif by_seq[m.seq] != m.digest:
            problems.append(f"entry {m.seq} is not the entry {m.source} recorded: the trail was rewritten since")
    return problems


__all__ = [
    "ALLOWED",
    "DENIED",
    "ERROR",
    "OPEN",
    "REJECTED",
    "SYSTEM",
    "UNAUTHENTICATED",
    "AuditKeyMissing",
    "AuditTrail",
    "Auditable",
    "legacy_digest",
]
