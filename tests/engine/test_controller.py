"""The asyncio controller: background copiers, events, atomic multi-establish."""

from __future__ import annotations

import asyncio

import pytest

from engine import errors
from engine.events import CopyProgress, EventBus, RelationshipEnded, RelationshipEstablished, TracksWritten
from engine.flashcopy import CopierSettings, CopyMode, EstablishRequest, FlashCopyController
from tests.conftest import track


@pytest.fixture
def controller(core):
    return FlashCopyController(core.volumes, core=core, copier=CopierSettings(concurrency=2, chunk_tracks=3))


async def test_background_copiers_finish_every_copy_and_publish_events(controller):
    seen = []
    controller.events.listen(seen.append)
    data = [track(f"a{i}") for i in range(16)]
    await controller.write_run("A", 0, data)
    await controller.establish(source="A", target="B")
    await controller.establish(source="A", target="C", persistent=True)
    controller.start()
    try:
        await controller.wait_idle(timeout=10)
    finally:
        await controller.stop()
    assert [controller.core.volume(v).read_tracks_sync(0, 16) for v in "BC"] == [data, data]
    kinds = {type(e) for e in seen}
    assert {TracksWritten, RelationshipEstablished, CopyProgress, RelationshipEnded} <= kinds
    ended = [e for e in seen if isinstance(e, RelationshipEnded)]
    assert [(e.source, e.target) for e in ended] == [("A", "B")]  # C is persistent
    assert controller.relationships()[0].state.value == "COPY COMPLETE"
    final = [e for e in seen if isinstance(e, CopyProgress) and e.target == "B"][-1]
    assert final.out_of_sync == 0 and final.percent_complete == 100.0


async def test_establish_many_is_all_or_nothing(controller):
    await controller.establish(source="D", target="C")
    with pytest.raises(errors.TargetInRelationship):
        await controller.establish_many(
            [
                EstablishRequest("A", "B"),
                EstablishRequest("BIG", "C", tracks=16),
            ]
        )
    assert [(r.source, r.target) for r in controller.relationships()] == [("D", "C")]


async def test_pause_stops_copying(controller):
    await controller.establish(source="A", target="B")
    controller.pause(True)
    controller.start()
    await asyncio.sleep(0.05)
    assert controller.relationships()[0].out_of_sync == 16
    controller.pause(False)
    await controller.wait_idle(timeout=10)
    await controller.stop()
    assert controller.relationships() == []


async def test_reverse_refresh_withdraw_through_the_controller(controller):
    await controller.write("A", 0, track("v1"))
    rel = await controller.establish(source="A", target="B", incremental=True, mode=CopyMode.COPY)
    await controller.drain()
    await controller.write("A", 0, track("v2"))
    assert (await controller.refresh(rel.id)).out_of_sync == 1
    await controller.drain()
    await controller.write("A", 0, track("bad"))
    rev = await controller.reverse(rel.id)
    assert rev is not None and (rev.source, rev.target) == ("B", "A")
    assert await controller.read("A", 0) == track("v2")
    result = await controller.withdraw(rel.id)
    assert result.invalid_tracks == 1  # withdrawn before the reversal copied its track
    assert controller.relationships() == []


async def test_event_bus_subscriber_gets_events_and_drops_only_progress_when_full():
    bus = EventBus(queue_size=3)
    got = []

    async def reader():
        async for ev in bus.subscribe():
            got.append(ev)
            if len(got) == 3:
                return

    task = asyncio.create_task(reader())
    await asyncio.sleep(0)
    bus.publish(CopyProgress(0, 1, "A", "B", 5, 10, 5, 1.0))
    bus.publish(CopyProgress(0, 1, "A", "B", 4, 10, 6, 1.0))
    bus.publish(CopyProgress(0, 1, "A", "B", 3, 10, 7, 1.0))
    bus.publish(TracksWritten(0, "A", 0, 1))  # queue full: the oldest progress goes
    await asyncio.wait_for(task, 2)
    assert [type(e).__name__ for e in got] == ["CopyProgress", "CopyProgress", "TracksWritten"]
    assert [e.out_of_sync for e in got[:2]] == [4, 3]


async def _copy_onto_a_full_disk(ctl, monkeypatch):
    """16 written tracks of A, A -> B established, and a disk that is full for B's writes."""
    import os

    data = [track(f"a{i}") for i in range(16)]
    await ctl.write_run("A", 0, data)
    rel = await ctl.establish(source="A", target="B")
    failures = []
    ctl.events.listen(lambda e: failures.append(e) if type(e).__name__ == "CopyFailed" else None)

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "copy_file_range", full)
    monkeypatch.setattr(os, "pwrite", full)
    monkeypatch.setattr(os, "pwritev", full)
    return data, rel, failures


async def test_a_full_disk_stops_one_copy_with_an_event_and_loses_nothing(controller, monkeypatch):
    import os

    data, rel, failures = await _copy_onto_a_full_disk(controller, monkeypatch)
    real = os.copy_file_range
    controller.start()
    try:
        await controller.wait_idle(timeout=5)  # idle: the only copy is parked as failed
        assert "no space left" in controller.failed[rel.id]
        assert failures and failures[0].rel_id == rel.id
        assert await controller.read_run("B", 0, 16) == data  # still the point in time
        monkeypatch.setattr(os, "copy_file_range", real)
        monkeypatch.undo()
        controller.retry_failed()
        await controller.wait_idle(timeout=5)
    finally:
        await controller.stop()
    assert controller.relationships() == []
    assert controller.core.volume("B").read_tracks_sync(0, 16) == data


async def test_a_parked_copy_resumes_by_itself_once_space_is_back(core, monkeypatch):
    """Nobody has to tell the copiers that space was freed: they try parked copies again."""
    ctl = FlashCopyController(core.volumes, core=core, copier=CopierSettings(chunk_tracks=3, retry_seconds=0.05))
    data, rel, failures = await _copy_onto_a_full_disk(ctl, monkeypatch)
    ctl.start()
    try:
        while not failures:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        assert len(failures) >= 2  # tried again on its own while the disk stayed full
        monkeypatch.undo()  # space is back

        async def copied() -> None:
            while rel.id in ctl.failed or ctl.relationships():
                await asyncio.sleep(0.01)

        await asyncio.wait_for(copied(), 5)
    finally:
        await ctl.stop()
    assert ctl.core.volume("B").read_tracks_sync(0, 16) == data
