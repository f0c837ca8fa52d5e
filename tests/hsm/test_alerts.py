"""Alerts are derived: a change between two readings of the catalog and the live relationships,
raised once, on the event bus and in the activity log."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading

from engine.catalog import constructs as repo
from engine.errors import FlashpoolError
from engine.hsm import alerts
from engine.hsm.alerts import AlertKind, AlertRaised, Facts, VersionFacts, baseline, changes
from engine.site import Site
from tests.catalogs import both_catalogs

pytestmark = both_catalogs  # alerts are numbered and kept in the catalog

POOL = "DSN$DB0A$DB"


def vf(**kw) -> VersionFacts:
    base = dict(
        number=1,
        dasd_state="RECOVERABLE",
        dump_state="NONE",
        copying=False,
        frr_eligible=False,
        relationships=frozenset({7}),
        fcfrr=False,
    )
    return VersionFacts(**{**base, **kw})


def kinds(alerts: list[AlertRaised]) -> list[AlertKind]:
    return [a.kind for a in alerts]


def test_changes_are_transitions_of_versions_that_stay():
    before = Facts({(POOL, 1): vf(copying=True, frr_eligible=True, fcfrr=True)})
    after = Facts({(POOL, 1): vf(copying=False, frr_eligible=False, fcfrr=True)})
    assert kinds(changes(before, after, 0.0)) == [AlertKind.COPY_COMPLETE, AlertKind.FRR_WINDOW_CLOSED]
    assert changes(after, after, 0.0) == []  # nothing changed: nothing raised
    # a version whose copy ends because it was recovered (no longer RECOVERABLE) is no alert
    gone = Facts({(POOL, 1): vf(dasd_state="NONE", fcfrr=True)})
    assert changes(before, gone, 0.0) == []
    # a new version is the command's news, unless its copy completed before the reading
    assert changes(Facts(), after, 0.0) == []
    assert kinds(changes(Facts(), after, 0.0, completed={7})) == [
        AlertKind.COPY_COMPLETE,
        AlertKind.FRR_WINDOW_CLOSED,
    ]
    dumped = Facts({(POOL, 1): vf(dump_state="PARTIAL")})
    done = Facts({(POOL, 1): vf(dump_state="REQUIREDCOMPLETE")})
    assert kinds(changes(dumped, done, 0.0)) == [AlertKind.DUMP_COMPLETE]
    more = Facts({(POOL, 1): vf(dump_state="ALLCOMPLETE")})
    assert changes(done, more, 0.0) == []  # already dumped: said once
    risky = dataclasses.replace(dumped, at_risk={POOL: (1, "ONSITE")})
    assert kinds(changes(dumped, risky, 0.0)) == [AlertKind.REQUIRED_DUMP_AT_RISK]
    assert changes(risky, risky, 0.0) == []


async def _until(pred, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_running_site_raises_each_alert_once_and_logs_it(site):
    got: list[AlertRaised] = []
    site.events.listen(lambda e: got.append(e) if isinstance(e, AlertRaised) else None)
    await site.start(auto_dump_interval=None)
    assert (await site.hsm.execute(f"FRBACKUP COPYPOOL({POOL}) EXECUTE")).rc == 0
    await _until(lambda: {AlertKind.COPY_COMPLETE, AlertKind.FRR_WINDOW_CLOSED} <= set(kinds(got)))
    for cmd in ("FRBACKUP COPYPOOL(ARCHIVE) EXECUTE", "FRBACKUP COPYPOOL(ARCHIVE) EXECUTE"):
        assert (await site.hsm.execute(cmd)).rc == 0
    await _until(lambda: AlertKind.REQUIRED_DUMP_AT_RISK in kinds(got))
    risk = next(a for a in got if a.kind is AlertKind.REQUIRED_DUMP_AT_RISK)
    assert risk.copy_pool == "ARCHIVE" and "VERSION 001" in risk.text and "ONSITE" in risk.text
    # what it warns of is true: the next FRBACKUP is refused for that reason
    refused = await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) EXECUTE")
    assert refused.rc != 0 and "ONSITE" in " ".join(refused.lines())
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(ARCHIVE) DUMPONLY VERSION(1)")).rc == 0
    await _until(lambda: AlertKind.DUMP_COMPLETE in kinds(got))
    await asyncio.sleep(1.0)
    assert sorted(k.name for k in kinds(got)).count("FRR_WINDOW_CLOSED") == 1
    await site.alerts.settle()
    with site.catalog.session() as s:
        logged = [a for a in repo.activity(s, 100) if a.origin == "ALERT"]
    assert len(logged) == len(got)
    ids = sorted(json.loads(a.messages)[0]["id"] for a in logged)
    assert ids == sorted(a.kind.message_id for a in got)
    assert {a.return_code for a in logged if "FPL402W" in a.messages} == {4}


def test_the_baseline_counts_versions_made_since_the_watch_began_as_made():
    first = Facts(
        {(POOL, 1): vf(relationships=frozenset({3})), (POOL, 2): vf(relationships=frozenset({7}), fcfrr=True)}
    )
    base = baseline(first, first_unseen=5)
    assert base.versions[(POOL, 1)] == first.versions[(POOL, 1)]  # older: as read
    assert base.versions[(POOL, 2)].copying and base.versions[(POOL, 2)].frr_eligible
    assert kinds(changes(base, first, 0.0)) == [AlertKind.COPY_COMPLETE, AlertKind.FRR_WINDOW_CLOSED]


async def test_a_copy_that_completes_while_the_first_reading_is_taken_is_still_news(site, monkeypatch):
    """The race CI found: a command right after start, its copies complete before the watcher's
    first reading looks at them."""
    gate = threading.Event()
    real = alerts.facts

    def slow_first(ctx):
        gate.wait(10)
        return real(ctx)

    monkeypatch.setattr(alerts, "facts", slow_first)
    got: list[AlertRaised] = []
    site.events.listen(lambda e: got.append(e) if isinstance(e, AlertRaised) else None)
    await site.start(auto_dump_interval=None)
    assert (await site.hsm.execute(f"FRBACKUP COPYPOOL({POOL}) EXECUTE")).rc == 0
    await _until(lambda: not any(r.uncopied.any() for r in site.flashcopy.core.relationships()))
    gate.set()
    await _until(lambda: {AlertKind.COPY_COMPLETE, AlertKind.FRR_WINDOW_CLOSED} <= set(kinds(got)))
    await asyncio.sleep(1.0)
    assert sorted(kinds(got), key=str) == sorted([AlertKind.COPY_COMPLETE, AlertKind.FRR_WINDOW_CLOSED], key=str)


async def test_a_parked_copy_is_one_alert_until_it_moves_again(site, monkeypatch):
    core = site.flashcopy.core
    real = core.copy_step
    failing = {"on": True}

    def step(rel_id: int, n: int) -> int:
        if failing["on"]:
            raise FlashpoolError("no space left on device")
        return real(rel_id, n)

    monkeypatch.setattr(core, "copy_step", step)
    monkeypatch.setattr(site.flashcopy, "settings", dataclasses.replace(site.flashcopy.settings, retry_seconds=0.1))
    got: list[AlertRaised] = []
    site.events.listen(lambda e: got.append(e) if isinstance(e, AlertRaised) else None)
    await site.start(auto_dump_interval=None)
    assert (await site.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) EXECUTE")).rc == 0
    await _until(lambda: AlertKind.COPY_PARKED in kinds(got))
    await asyncio.sleep(1.0)  # several retries fail meanwhile
    parked = [a for a in got if a.kind is AlertKind.COPY_PARKED]
    assert len(parked) == 2  # one per volume pair, not one per retry
    assert all("NO SPACE" in a.text.upper() for a in parked)
    failing["on"] = False
    await _until(lambda: kinds(got).count(AlertKind.COPY_RESUMED) == 2)
    await _until(lambda: AlertKind.COPY_COMPLETE in kinds(got))


async def test_a_copy_completed_before_the_site_was_opened_again_is_not_news_again(site, tmp_path):
    """Its relationships ended before the close: whoever opens the site next (a restart, or
    another host taking it over) has nothing to announce about it."""
    await site.start(auto_dump_interval=None)
    assert (await site.hsm.execute(f"FRBACKUP COPYPOOL({POOL}) EXECUTE")).rc == 0
    await _until(lambda: AlertKind.COPY_COMPLETE in kinds(site.alerts.raised))
    await site.alerts.settle()
    await site.close()
    for _ in range(2):
        again = Site.open(tmp_path / "site")
        try:
            await again.start(auto_dump_interval=None)
            assert (await again.hsm.execute("FRBACKUP COPYPOOL(PAYROLL) EXECUTE")).rc == 0
            await _until(lambda: AlertKind.COPY_COMPLETE in kinds(again.alerts.raised))  # PAYROLL's, the news
            await asyncio.sleep(1.0)
            await again.alerts.settle()
            assert [a.copy_pool for a in again.alerts.raised if a.kind is AlertKind.COPY_COMPLETE] == ["PAYROLL"]
            with again.catalog.session() as s:
                told = [a for a in repo.activity(s, 100) if "FPL400I" in a.messages and POOL in a.messages]
            assert len(told) == 1
        finally:
            await again.close()
