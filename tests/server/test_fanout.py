"""The event stream's fan-out: a client that never reads costs a bounded outbox and is dropped;
copy progress is coalesced to the newest per relationship; state changes keep their order."""

from __future__ import annotations

import asyncio

import pytest

from engine.events import ActivityLogged, CopyProgress, EventBus, TracksWritten
from server.fanout import FanOut, TooSlow


def progress(rel: int, left: int) -> CopyProgress:
    return CopyProgress(0.0, rel, "A", "B", left, 100, 100 - left, 1.0)


async def test_progress_is_coalesced_and_state_changes_keep_their_order():
    bus = EventBus()
    fan = FanOut(bus, limit=100, interval=0.01)
    box = fan.open()
    for left in range(100, 0, -1):
        bus.publish(progress(1, left))
        bus.publish(progress(2, left))
    bus.publish(ActivityLogged(1.0, "CLI", "FRBACKUP COPYPOOL(X)", "X", 0))
    bus.publish(TracksWritten(2.0, "A", 0, 1))
    batch = await anext(box.batches())
    assert [type(e).__name__ for e in batch] == ["ActivityLogged", "TracksWritten", "CopyProgress", "CopyProgress"]
    assert {(e.rel_id, e.out_of_sync) for e in batch if isinstance(e, CopyProgress)} == {(1, 1), (2, 1)}
    assert fan.backlog() == 0


async def test_a_client_that_never_reads_is_dropped_and_the_others_go_on():
    bus = EventBus()
    fan = FanOut(bus, limit=50, interval=0.01)
    stuck, reading = fan.open(), fan.open()
    got: list[object] = []

    async def read() -> None:
        async for batch in reading.batches():
            got.extend(batch)

    reader = asyncio.create_task(read())
    for i in range(200):
        bus.publish(TracksWritten(float(i), "A", i, 1))
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    assert len(got) == 200  # the reading client missed nothing
    assert stuck.backlog <= 50 and stuck.overflowed
    with pytest.raises(TooSlow):
        await anext(stuck.batches())
    fan.shutdown()
    await asyncio.wait_for(reader, 1)  # the stream ends when the server stops
