"""Activity and audit entries asked for at once share one commit, and each asker returns only
once its own entry is in the catalog; the chain stays whole."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy.exc import OperationalError

from engine.hsm.groupcommit import GroupCommit
from engine.security import Identity


async def test_writes_asked_for_while_a_batch_commits_share_the_next_batch():
    gate = threading.Event()
    batches: list[list[int]] = []

    def write(items):
        batches.append(list(items))
        if len(batches) == 1:
            gate.wait(5)

    journal: GroupCommit[int] = GroupCommit(write)
    first = asyncio.create_task(journal.write(0))
    while not batches:
        await asyncio.sleep(0.001)
    rest = [asyncio.create_task(journal.write(n)) for n in range(1, 8)]
    await asyncio.sleep(0.01)
    assert not any(t.done() for t in rest)  # nobody returns before its entry is written
    gate.set()
    await asyncio.gather(first, *rest)
    assert batches == [[0], list(range(1, 8))] and journal.commits == 2


async def test_concurrent_commands_cost_fewer_commits_and_every_entry_is_there_chained(site):
    me = Identity.current()
    users = [Identity(me.user, me.groups, "unix", f"pid {i}") for i in range(12)]
    before = site.hsm.journal.commits
    results = await asyncio.gather(*(site.hsm.execute("QUERY SETSYS", "API", u) for u in users))
    assert all(r.rc == 0 for r in results)
    assert site.hsm.journal.commits - before < len(users)
    entries = [e for e in site.context.audit.entries() if e.action == "QUERY SETSYS"]
    assert sorted(e.client for e in entries) == sorted(u.client for u in users)  # one each, none lost
    checked, problems = site.context.audit.verify()
    assert checked >= len(users) and problems == []


async def test_a_batch_the_catalog_refuses_warns_every_asker_of_it(site, monkeypatch):
    def refuse(*_a, **_k):
        raise OperationalError("INSERT", {}, Exception("database or disk is full"))

    monkeypatch.setattr(site.context.audit, "record_all", refuse)
    results = await asyncio.gather(*(site.hsm.execute("QUERY SETSYS", "API") for _ in range(4)))
    for r in results:
        ids = [m.id for m in r.messages]
        assert "FPL151W" in ids and "FPL152W" in ids and r.rc == 0
