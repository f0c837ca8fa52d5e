"""A monitor with `STGADMIN.ARC.LIST.HR UACC(NONE)` finds nothing of HR in any read: not its name,
volumes, data sets, versions, token, storage group or relationships, in any answer of the API,
any LIST or QUERY, the activity log, or the event stream, while another monitor sees it all."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.api import Change, LocalSite, NotAuthorized, SecurityChange
from engine.errors import FlashpoolError
from engine.events import Event
from engine.hsm.verify import Expectation
from engine.security import Access, Check, Function, Identity
from engine.site import Site
from server import wire
from server.client import RemoteSite
from tests.security.test_route_matrix import _populate, _tokens
from tests.server.harness import Server, as_owner, free_port, make_site

#: what of HR could show: its name, volumes, data set, storage group, a version's token (as text
#: and as hex)
HR_MARKS = re.compile(r"(?<![A-Z])HR(?![A-Z])|HR0001|HR\.DATA|HRSG|HRNIGHT|484E49474854")


def _dump(value: object) -> str:
    return json.dumps(wire.encode(value))


async def _reads(api: RemoteSite) -> dict[str, str]:
    """Every unnamed read (and the named ones about PAY), as JSON text."""
    out: dict[str, str] = {}
    for name, read in {
        "status": api.status,
        "pools": api.pools,
        "volumes": api.volumes,
        "storage": api.storage,
        "relationships": api.relationships,
        "activity": lambda: api.activity(500),
        "datasets": api.datasets,
        "datasets_on": lambda: api.datasets_on(["PAY001", "PAY002"]),
        "versions PAY": lambda: api.versions("PAY"),
        "impact PAY": lambda: api.impact("FRRECOV COPYPOOL(PAY)"),
        "precheck PAY": lambda: api.precheck("FRRECOV COPYPOOL(PAY)"),
        "may": lambda: api.may([Check(Function.LIST, "PAY")]),
    }.items():
        out[name] = _dump(await asyncio.to_thread(read))
    for text in ("LIST COPYPOOL", "LIST COPYPOOL(PAY) ALLVOLS", "LIST CPBSG(BK)", "QUERY SETSYS", "LIST PVOL(PAY001)"):
        res = await api.command(text)
        assert res.rc in (0, 4), (text, res.lines())
        out[text] = _dump(res)
    return out


async def _named_hr(api: RemoteSite, hidden: bool) -> list[str]:
    """Every read that names HR or something of it: those refused; with `hidden`, what the others
    answered must not show HR."""
    refused: list[str] = []
    for name, read in {
        "pools HR": lambda: api.pools("HR"),
        "versions HR": lambda: api.versions("HR"),
        "pairs HR": lambda: api.pairs("HR", 1),
        "activity HR": lambda: api.activity(50, "HR"),
        "verify_backup HR": lambda: api.verify_backup("HR", 1),
        "relationships HR0001": lambda: api.relationships("HR0001"),
        "digest HR0001": lambda: api.volume_digest("HR0001"),
        "band map HR0001": lambda: api.band_map("HR0001", 8),
        "dataset HR.DATA": lambda: api.dataset("HR.DATA"),
        "digest HR.DATA": lambda: api.dataset_digest("HR.DATA"),
        "datasets on HR0001": lambda: api.datasets_on(["HR0001"]),
        "impact HR": lambda: api.impact("FRRECOV COPYPOOL(HR)"),
        "precheck HR": lambda: api.precheck("FRBACKUP COPYPOOL(HR)"),
        "expect HR": lambda: api.expect("FRRECOV COPYPOOL(HR)"),
        "verify HR0001": lambda: api.verify([Expectation("volume", "HR0001", "0" * 64, "x")]),
    }.items():
        try:
            answer = await asyncio.to_thread(read)
        except NotAuthorized as exc:
            assert "ICH408I" in str(exc)
            refused.append(name)
            continue
        assert not (hidden and HR_MARKS.search(_dump(answer))), (name, answer)
    for text in ("LIST COPYPOOL(HR)", "QUERY COPYPOOL(HR)", "LIST PVOL(HR0001)", "LIST CPBSG(BK) ALLVOLS"):
        res = await api.command(text)
        if res.rc == 36:
            refused.append(text)
        else:
            assert not (hidden and HR_MARKS.search(_dump(res))), (text, res.lines())
    return refused


async def _events(api: RemoteSite, into: list[Event], ready: asyncio.Event) -> None:
    stream = api.events()
    ready.set()
    async for e in stream:
        into.append(e)


@pytest.fixture
def site(tmp_path) -> Path:
    path = make_site(tmp_path / "site")
    asyncio.run(_populate(path))
    return path


async def test_a_monitor_that_may_not_list_hr_finds_nothing_of_it_anywhere(site, tls):
    port = free_port()
    with Server(site, "--listen", f"127.0.0.1:{port}", "--tls-cert", str(tls["cert"]), "--tls-key", str(tls["key"])):
        tokens = await asyncio.to_thread(_tokens, site, {"restricted": "monitor", "everyone": "monitor"})

        def client(user: str) -> RemoteSite:
            return RemoteSite(url=f"https://127.0.0.1:{port}", token=tokens[user], cafile=str(tls["ca"]))

        await as_owner(
            site,
            SecurityChange(Change.DEFINE, profile="STGADMIN.ARC.LIST.HR"),  # UACC(NONE)
            SecurityChange(Change.PERMIT, profile="STGADMIN.ARC.LIST.HR", name="*", access=Access.READ),
            SecurityChange(Change.PERMIT, profile="STGADMIN.ARC.LIST.HR", name="restricted", access=Access.NONE),
            SecurityChange(Change.SET, name="audit-reads", value="failures"),
        )
        owner = RemoteSite(site)
        try:  # HR's activity: a backup with a token, a LIST, a damaged volume
            assert (await owner.command("FRBACKUP COPYPOOL(HR) TOKEN(HRNIGHT)")).rc == 0
            assert (await owner.command("LIST COPYPOOL(HR)")).rc == 0
            assert (await owner.damage("HR0001", 5, 6)).rc == 0
        finally:
            await owner.close()
        restricted, everyone = (
            await asyncio.to_thread(client, "restricted"),
            await asyncio.to_thread(client, "everyone"),
        )
        try:
            seen_by = {"restricted": [], "everyone": []}
            ready = {k: asyncio.Event() for k in seen_by}
            readers = [
                asyncio.create_task(_events(api, seen_by[k], ready[k]))
                for k, api in (("restricted", restricted), ("everyone", everyone))
            ]
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready.values())), 10)
            await asyncio.sleep(1.0)  # both streams open on the server
            owner = RemoteSite(site)
            try:  # what happens now, on both pools
                assert (await owner.command("FRBACKUP COPYPOOL(HR)")).rc == 0
                assert (await owner.command("FRBACKUP COPYPOOL(PAY)")).rc == 0
                assert (await owner.damage("HR0001", 7, 7)).rc == 0
                assert (await owner.command("QUERY COPYPOOL(HR)")).rc == 0
                # a command that names HR's storage group, about no copy pool; and the backup
                # group PAY shares with HR, which stays
                assert (await owner.command("LIST CPBSG(HRSG)")).rc == 22  # not a backup group
                assert (await owner.command("LIST CPBSG(BK)")).rc == 0
            finally:
                await owner.close()
            for _ in range(100):
                if any("PAY" in _dump(e) for e in seen_by["restricted"]):
                    break
                await asyncio.sleep(0.1)
            # every read: the other monitor sees HR, this one does not
            mine, theirs = await _reads(restricted), await _reads(everyone)
            for name, text in mine.items():
                assert not HR_MARKS.search(text), (name, HR_MARKS.search(text), text[:2000])
            assert any(HR_MARKS.search(t) for t in theirs.values())
            assert "PAY" in mine["pools"] and "PAY001" in mine["volumes"]  # PAY's are there
            assert "LIST CPBSG(BK)" in mine["activity"] and "LIST CPBSG(HRSG)" in theirs["activity"]
            refused = await _named_hr(restricted, hidden=True)
            assert {"pools HR", "versions HR", "digest HR0001", "dataset HR.DATA", "impact HR"} <= set(refused)
            assert {"LIST COPYPOOL(HR)", "QUERY COPYPOOL(HR)", "LIST PVOL(HR0001)"} <= set(refused)
            assert await _named_hr(everyone, hidden=False) == []
            # the event streams
            for r in readers:
                r.cancel()
            assert seen_by["restricted"] and any("PAY" in _dump(e) for e in seen_by["restricted"])
            for e in seen_by["restricted"]:
                assert not HR_MARKS.search(_dump(e)), e
            assert any(HR_MARKS.search(_dump(e)) for e in seen_by["everyone"])
        finally:
            for api in (restricted, everyone):
                with contextlib.suppress(Exception):
                    await api.close()


async def test_a_name_the_site_does_not_know_is_refused_as_a_hidden_one(site):
    """To a monitor that may not LIST HR, a volume, data set, storage group or tape the site does
    not know is refused exactly as HR's are (ICH408I, RC 36, audited DENIED): "not known" beside
    "not authorized" would tell which of the refused names are real. A monitor that may LIST every
    copy pool is still told that a name is not known."""
    opened = Site.open(site)
    try:
        owner = LocalSite(opened)
        for change in (
            SecurityChange(Change.GRANT, name="rita", role="monitor"),
            SecurityChange(Change.GRANT, name="ivan", role="monitor"),
            SecurityChange(Change.DEFINE, profile="STGADMIN.ARC.LIST.HR"),  # UACC(NONE)
            SecurityChange(Change.PERMIT, profile="STGADMIN.ARC.LIST.HR", name="ivan", access=Access.READ),
        ):
            assert (await owner.change_security(change)).rc == 0
        rita, ivan = LocalSite(opened, Identity("rita", ())), LocalSite(opened, Identity("ivan", ()))

        def refusal(read: Callable[[], object]) -> str:
            with pytest.raises(NotAuthorized) as refused:
                read()
            return str(refused.value)

        for hidden, unknown, read in (
            ("HR0001", "NOVOL1", lambda api, name: api.volume_digest(name)),
            ("HR0001", "NOVOL1", lambda api, name: api.relationships(name)),
            ("HR0001", "NOVOL1", lambda api, name: api.datasets_on([name])),
            ("HR.DATA", "NO.SUCH.DATA", lambda api, name: api.dataset(name)),
            ("HR.DATA", "NO.SUCH.DATA", lambda api, name: api.dataset_digest(name)),
        ):
            told = refusal(lambda: read(rita, hidden)).replace(hidden, "?")
            assert refusal(lambda: read(rita, unknown)).replace(unknown, "?") == told
        for hidden, unknown, text in (
            ("HRSG", "NOSG", "LIST CPBSG({})"),
            ("HR0001", "NOVOL1", "LIST PRIMARYVOLUME({})"),
        ):
            told = await rita.command(text.format(hidden))
            asked = await rita.command(text.format(unknown))
            assert told.rc == asked.rc == 36
            assert [str(m).replace(hidden, "?") for m in told.messages] == [
                str(m).replace(unknown, "?") for m in asked.messages
            ]
        assert (await rita.command("LIST PVOL(NOVOL1)")).rc == 36
        assert (await rita.command("LIST DUMPVOLUME(T99999)")).rc == 36
        trail = [e for e in opened.context.audit.entries() if e.user == "rita"]
        assert [e.decision for e in trail if "NOVOL1" in e.action or "NO.SUCH" in e.action][:3] == ["DENIED"] * 3
        # one that may LIST every copy pool is told what is not there
        with pytest.raises(FlashpoolError, match="not known"):
            ivan.volume_digest("NOVOL1")
        assert ivan.relationships("NOVOL1") == [] and ivan.dataset("NO.SUCH.DATA") is None
        assert (await ivan.command("LIST CPBSG(NOSG)")).rc == 22
        assert (await ivan.command("LIST PRIMARYVOLUME(NOVOL1)")).rc == 22
        assert (await ivan.command("LIST DUMPVOLUME(T99999)")).rc == 44
    finally:
        await opened.close()
