"""LIST and QUERY asked at once run once, and no asker is told what was read before it asked;
every asker is still authorized, logged and audited on its own."""

from __future__ import annotations

import asyncio
import threading

from engine.hsm import listing
from engine.hsm.coalesce import Coalescer
from engine.security import Access, Identity, store


async def test_askers_that_come_while_a_read_runs_share_the_next_run_not_this_one():
    started, release = asyncio.Event(), asyncio.Event()
    state = {"value": 0}
    reads: Coalescer[int] = Coalescer()

    async def read() -> int:
        seen = state["value"]
        if reads.runs == 1:  # the first run is slow: others arrive while it is under way
            started.set()
            await release.wait()
        return seen

    first = asyncio.create_task(reads.run("LIST", read))
    await started.wait()
    state["value"] = 1  # a change finishes after the first run read, before the others ask
    others = [asyncio.create_task(reads.run("LIST", read)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    assert await first == 0
    assert [await t for t in others] == [1] * 5  # all five saw the change: they shared run 2
    assert reads.runs == 2
    assert await reads.run("LIST", read) == 1 and reads.runs == 3  # alone: a run of its own


async def test_a_failed_run_fails_each_of_its_askers_and_the_next_run_is_fresh():
    reads: Coalescer[int] = Coalescer()
    calls = {"n": 0}

    async def read() -> int:
        calls["n"] += 1
        await asyncio.sleep(0.01)
        if calls["n"] == 1:
            raise OSError("disk said no")
        return 7

    results = await asyncio.gather(*(reads.run("Q", read) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, OSError) for r in results) and calls["n"] == 1
    assert await reads.run("Q", read) == 7


async def test_concurrent_lists_run_once_each_logged_and_audited_for_its_own_user(site, monkeypatch):
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL)")).rc == 0
    with site.catalog.session() as s:  # every user may LIST
        if not store.define(s, "STGADMIN.ARC.LIST", Access.READ, "root", 0.0):
            store.alter(s, "STGADMIN.ARC.LIST", Access.READ)
        s.commit()
    site.context.guard.changed()
    gate = threading.Event()
    runs: list[str] = []
    original = listing.list_command

    def slow_list(ctx, req, res, seen):  # the first LIST holds its run open until the others have asked
        runs.append(req.copypool)
        if len(runs) == 1:
            gate.wait(5)
        original(ctx, req, res, seen)

    monkeypatch.setattr(listing, "list_command", slow_list)
    users = [Identity(f"user{i}", ("sysprog",)) for i in range(6)]
    first = asyncio.create_task(site.hsm.execute("LIST COPYPOOL(PAYROLL)", "API", users[0]))
    for _ in range(2000):
        if runs or first.done():
            break
        await asyncio.sleep(0.001)
    assert runs, (await first).lines()
    later = [asyncio.create_task(site.hsm.execute("LIST  COPYPOOL(PAYROLL)", "API", u)) for u in users[1:]]
    await asyncio.sleep(0.05)
    gate.set()
    results = [await first] + [await t for t in later]
    assert len(runs) == 2  # the first asker's run, then one run for the five that came during it
    assert all(r.rc == 0 and "COPYPOOL=PAYROLL" in r.listing for r in results)
    assert results[1].command == "LIST  COPYPOOL(PAYROLL)"  # each result names its own command text
    audited = [e.user for e in site.context.audit.entries() if e.action.startswith("LIST")]
    assert sorted(audited) == sorted(u.user for u in users)
