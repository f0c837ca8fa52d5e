"""Intents: how an HSM command stays atomic with the FlashCopy engine across a process crash.

A command that changes both the catalog and FlashCopy state runs as one unit under the core's
lock (no copier and no host write in between) in three steps:

1. one catalog transaction records an `IntentRow` and makes every *pessimistic* change: a version
   whose bytes the engine step may change stops being RECOVERABLE (FAILED, NONE or deleted)
   before a single bit moves;
2. the engine step; each relationship it establishes carries the intent's tag in its label, and
   every relationship that ends leaves a tombstone (`EndedRelationshipRow`) in the very
   transaction that removes it;
3. one catalog transaction makes the *optimistic* changes (a new version becomes RECOVERABLE,
   pairs become RECOVERED) and deletes the intent.

A crash between 1 and 3 leaves the intent; `resolve` (called by `Site.open` before anything else
runs) finishes or undoes it from the facts the journal recorded. See docs/ATOMICITY.md.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, delete, select

from engine.catalog.models import (
    BackupVersionRow,
    EndedRelationshipRow,
    IntentRow,
    VersionPairRow,
)
from engine.flashcopy import FlashCopyCore, Relationship
from engine.hsm import standing
from engine.states import DasdState, FailedReason, PairState

if TYPE_CHECKING:
    from engine.catalog import Catalog


class IntentKind(enum.Enum):
    BACKUP = "BACKUP"  # undone: the relationships it established are withdrawn
    WITHDRAW = "WITHDRAW"  # finished: the relationships it names are withdrawn
    FAST_REVERSE = "FAST_REVERSE"  # finished: each pair's outcome is read from the relationships
    DATASET = "DATASET"  # finished: the data set's tracks copied again and recataloged (dsrecover)


def tag(intent_id: int) -> str:
    return f"#{intent_id}"


def tagged(label: str, intent_id: int) -> str:
    return f"{label} {tag(intent_id)}"


def has_tag(label: str, intent_id: int) -> bool:
    return label.endswith(" " + tag(intent_id))


def begin(s: Session, kind: IntentKind, pool: str, now: float, **payload: object) -> int:
    row = IntentRow(kind=kind.value, copy_pool=pool, created_at=now, payload=json.dumps(payload))
    s.add(row)
    s.flush()
    assert row.id is not None
    return row.id


def end(s: Session, intent_id: int) -> None:
    s.exec(delete(IntentRow).where(col(IntentRow.id) == intent_id))


@dataclass(frozen=True, slots=True)
class Resolution:
    intent_id: int
    kind: IntentKind
    copy_pool: str
    text: str


def withdraw_listed(core: FlashCopyCore, listed: Sequence[Sequence[Any]]) -> int:
    """Withdraw [id, label] relationships that still exist with that label; returns how many."""
    n = 0
    with core.one_commit():
        for rel_id, label in listed:
            rel = core.find(int(rel_id))
            if rel is not None and rel.label == label:
                core.withdraw(rel.id)
                n += 1
    return n


def withdraw_atomically(
    catalog: Catalog,
    core: FlashCopyCore,
    pool: str,
    what: str,
    rels: list[Relationship],
    change: Callable[[Session], None],
    now: float,
) -> int:
    """Withdraw `rels` after `change` (the catalog's pessimistic side: versions that lose their
    bytes stop being RECOVERABLE) is committed with an intent that names them; the intent is
    finished at the next open if the process dies in between. Call under the core's lock."""
    listed = [(r.id, r.label) for r in rels]
    with catalog.session() as s:
        iid = begin(s, IntentKind.WITHDRAW, pool, now, what=what, relationships=listed)
        change(s)
        s.commit()
    n = withdraw_listed(core, listed)
    with catalog.session() as s:
        end(s, iid)
        s.commit()
    return n


def reversed_pairs(s: Session, core: FlashCopyCore, pairs: list[VersionPairRow], intent_id: int) -> set[str]:
    """Sources of `pairs` that a fast reverse restore (intent `intent_id`) brought back: the
    pair's relationship now runs target -> source (live or ended), or a recovery relationship
    tagged with the intent was established onto the source."""
    done: set[str] = set()
    ended = {e.id: e for e in s.exec(select(EndedRelationshipRow)).all()}
    for p in pairs:
        if p.relationship_id is not None:
            rel = core.find(p.relationship_id)
            gone = ended.get(p.relationship_id)
            if (rel is not None and rel.source == p.target) or (rel is None and gone and gone.source == p.target):
                done.add(p.source)
                continue
        if any(has_tag(r.label, intent_id) for r in core.incoming(p.source)) or any(
            e.target == p.source and has_tag(e.label, intent_id) for e in ended.values()
        ):
            done.add(p.source)
    return done


def settle_fast_reverse(s: Session, version: BackupVersionRow, recovered: set[str], at: float) -> None:
    """The version's state after a fast reverse restore recovered `recovered` (cumulative) at `at`."""
    pairs = list(s.exec(select(VersionPairRow).where(VersionPairRow.version_id == version.id)).all())
    for p in pairs:
        if p.source in recovered and p.state != PairState.RECOVERED:
            p.state = PairState.RECOVERED
            s.add(p)
    left = [p for p in pairs if p.state != PairState.RECOVERED]
    if left:
        version.dasd_state = DasdState.FCFRRINCOMPLETE
    else:
        standing.mark_failed(version, FailedReason.FAST_REVERSED, at)
    version.recovery_incomplete = bool(left)
    s.add(version)


def resolve(s: Session, core: FlashCopyCore, pool: str | None = None) -> list[Resolution]:
    """Finish or undo every intent an interruption left behind (of one pool, or all), oldest
    first; the caller commits. Call under the core's lock."""
    out: list[Resolution] = []
    q = select(IntentRow).order_by(col(IntentRow.id))
    for row in s.exec(q if pool is None else q.where(IntentRow.copy_pool == pool)).all():
        assert row.id is not None
        kind = IntentKind(row.kind)
        if kind is IntentKind.DATASET:
            continue  # finished by the site first (it needs the data set services)
        payload = json.loads(row.payload)
        if kind is IntentKind.BACKUP:
            undone = [r for r in core.relationships() if has_tag(r.label, row.id)]
            with core.one_commit():
                for r in undone:
                    core.withdraw(r.id)
            text = (
                f"FRBACKUP OF COPY POOL {row.copy_pool} WAS INTERRUPTED; ITS {len(undone)} NEW RELATIONSHIP(S) "
                f"WERE WITHDRAWN AND NO VERSION WAS CREATED"
            )
            if payload.get("victims"):
                text += "; THE VERSION(S) IT WAS REPLACING ARE FAILED (THEIR TARGETS ARE REUSED BY THE NEXT FRBACKUP)"
        elif kind is IntentKind.WITHDRAW:
            n = withdraw_listed(core, payload["relationships"])
            text = f"{payload['what']} OF COPY POOL {row.copy_pool} WAS INTERRUPTED AND HAS BEEN FINISHED ({n} RELATIONSHIP(S) WITHDRAWN)"
        else:
            version = s.get(BackupVersionRow, payload["version_id"])
            if version is None:
                text = (
                    f"FAST REVERSE RESTORE OF COPY POOL {row.copy_pool} WAS INTERRUPTED; ITS VERSION NO LONGER EXISTS"
                )
            else:
                pairs = list(s.exec(select(VersionPairRow).where(VersionPairRow.version_id == version.id)).all())
                done = reversed_pairs(s, core, [p for p in pairs if p.source in payload["sources"]], row.id)
                settle_fast_reverse(s, version, done, row.created_at)
                text = (
                    f"FAST REVERSE RESTORE OF VERSION {version.version:03d} OF COPY POOL {row.copy_pool} WAS INTERRUPTED: "
                    f"{len(done)} OF {len(payload['sources'])} VOLUME(S) RECOVERED; THE VERSION IS {version.dasd_state}"
                    + (
                        "; RE-ISSUE FRRECOV COPYPOOL TO RECOVER THE OTHERS"
                        if version.dasd_state == DasdState.FCFRRINCOMPLETE
                        else ""
                    )
                )
        s.delete(row)
        out.append(Resolution(row.id, kind, row.copy_pool, text))
    # when no intent is open any more (another pool's command may have one), the tombstones
    # have served their purpose
    s.flush()
    s.exec(delete(EndedRelationshipRow).where(~select(IntentRow.id).exists()))
    return out
