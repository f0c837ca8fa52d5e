"""Finishing or undoing what an interrupted command left behind (its intent: see intent.py).

A crash leaves an intent for `Site.open`; a command that failed half-way in a running site (a
full disk, a database error) leaves one too, and the site may run for months. So the same work
runs at the open (every pool) and before the next command on the pool (under its serialisation,
so no other command of that pool is in flight)."""

from __future__ import annotations

import json

from sqlmodel import col, select

from engine.catalog.models import IntentRow
from engine.flashcopy import FlashCopyCore
from engine.hsm import dsrecovery, intent
from engine.hsm.context import Context
from engine.hsm.intent import IntentKind


def pending(ctx: Context, pool: str | None) -> bool:
    with ctx.catalog.session() as s:
        q = select(IntentRow.id)
        if pool is not None:
            q = q.where(IntentRow.copy_pool == pool)
        return s.exec(q.limit(1)).first() is not None


def finish(ctx: Context, pool: str | None) -> list[tuple[str, str]]:
    """Finish or undo the intents of `pool` (of every pool when None), oldest first; returns
    (copy pool, what was done) per intent (the caller reports them as FPL140I)."""
    if not pending(ctx, pool):
        return []
    # after a failed journal commit the engine's memory is ahead of the journal: persist first,
    # so that ending an intent never leaves the journal behind the catalog
    ctx.batch(lambda core: core.commit_pending())
    done: list[tuple[str, str]] = []
    with ctx.catalog.session() as s:
        q = select(IntentRow).where(IntentRow.kind == IntentKind.DATASET.value).order_by(col(IntentRow.id))
        rows = list(s.exec(q if pool is None else q.where(IntentRow.copy_pool == pool)).all())
    for row in rows:
        assert row.id is not None
        payload = json.loads(row.payload)
        done.append((row.copy_pool, dsrecovery.finish_interrupted(ctx, payload)))
        ctx.make_durable(v for v in dsrecovery.written_by(payload) if v in ctx.volumes)
        with ctx.catalog.session() as s:
            intent.end(s, row.id)
            s.commit()

    def resolve(core: FlashCopyCore) -> list[tuple[str, str]]:
        with ctx.catalog.session() as s:
            texts = [(r.copy_pool, r.text) for r in intent.resolve(s, core, pool)]
            s.commit()
        return texts

    return done + ctx.batch(resolve)
