"""Commands of a caller whose profiles restrict it to some copy pools.

Data set recovery checks STGADMIN.ARC.DSRECOV.<copy pool> for every data set it recovers or
replaces, however the command names it (a filter, a full name, NEWNAME's target), and never names
a data set the caller may not LIST. (Without FROMCOPYPOOL it checked only STGADMIN.ARC.DSRECOV:
an operator refused HR's data sets recovered them, replaced one by NEWNAME, and a filter listed
their names.) A command about a volume of a copy pool the caller may not LIST is refused without
naming that pool, as a volume the site does not know is."""

from __future__ import annotations

import asyncio

import pytest

from engine.api import Change, LocalSite, SecurityChange
from engine.security import Access, Identity
from engine.site import Site
from tests.security.test_route_matrix import _populate
from tests.server.harness import make_site

OLGA = Identity("olga", ())


@pytest.fixture
def site(tmp_path):
    path = make_site(tmp_path / "site")
    asyncio.run(_populate(path))
    opened = Site.open(path)
    owner = LocalSite(opened)
    res = asyncio.run(owner.change_security(SecurityChange(Change.GRANT, name="olga", role="operator")))
    assert res.rc == 0, res.lines()
    yield opened
    opened.close_files()


async def _restrict(site: Site, profile: str) -> None:
    res = await LocalSite(site).change_security(SecurityChange(Change.DEFINE, profile=profile))  # UACC(NONE)
    assert res.rc == 0, res.lines()


async def _as_olga(site: Site, text: str) -> tuple[int, str]:
    res = await site.hsm.execute(text, "CLI", OLGA)
    return res.rc, "\n".join(res.lines())


async def test_a_data_set_of_a_pool_whose_dsrecov_is_refused_is_neither_recovered_nor_replaced(site):
    await _restrict(site, "STGADMIN.ARC.DSRECOV.HR")
    hr, pay = await site.datasets.read("HR.DATA"), await site.datasets.read("PAY.DATA")
    await site.datasets.write("HR.DATA", b"Z" * len(hr))
    changed = await site.datasets.read("HR.DATA")
    assert changed != hr
    rc, text = await _as_olga(site, "FRRECOV DSNAME(HR.DATA) REPLACE")
    assert rc == 8 and "DATA SET HR.DATA, RC=36" in text and "STGADMIN.ARC.DSRECOV.HR" in text, text
    rc, text = await _as_olga(site, "FRRECOV DSNAME(HR.**) REPLACE")  # a filter: the same refusal
    assert rc == 8 and "DATA SET HR.DATA, RC=36" in text, text
    rc, text = await _as_olga(site, "FRRECOV DSNAME(PAY.DATA) NEWNAME(HR.DATA) REPLACE")
    assert rc == 8 and "RC=36" in text and "STGADMIN.ARC.DSRECOV.HR" in text, text
    assert await site.datasets.read("HR.DATA") == changed  # nothing of HR was written
    rc, text = await _as_olga(site, "FRRECOV DSNAME(PAY.DATA) REPLACE")  # her own pool's: as before
    assert rc == 0 and await site.datasets.read("PAY.DATA") == pay, text
    rc, text = await _as_olga(site, "FRRECOV DSNAME(PAY.DATA) FROMCOPYPOOL(HR) REPLACE")
    assert rc == 36, text  # the named pool is checked before anything, as it was
    permit = SecurityChange(Change.PERMIT, profile="STGADMIN.ARC.DSRECOV.HR", name="olga", access=Access.READ)
    assert (await LocalSite(site).change_security(permit)).rc == 0
    rc, text = await _as_olga(site, "FRRECOV DSNAME(HR.DATA) REPLACE")  # the profile grants it now
    assert rc == 0 and await site.datasets.read("HR.DATA") == hr, text


async def test_a_data_set_the_caller_may_not_list_is_not_named_nor_recovered(site):
    await _restrict(site, "STGADMIN.ARC.LIST.HR")
    before = await site.datasets.read("HR.DATA")
    await site.datasets.write("HR.DATA", b"Z" * len(before))
    changed = await site.datasets.read("HR.DATA")
    rc, text = await _as_olga(site, "FRRECOV DSNAME(HR.**) REPLACE")
    assert rc == 8 and "NO CATALOGED DATA SET MATCHES HR.**" in text and "HR.DATA" not in text, text
    for cmd in ("FRRECOV DSNAME(HR.DATA) REPLACE", "FRRECOV DSNAME(PAY.DATA) NEWNAME(HR.DATA) REPLACE"):
        rc, text = await _as_olga(site, cmd)
        assert rc == 8 and "USER olga IS NOT AUTHORIZED TO RECOVER OR REPLACE HR.DATA" in text, text
        assert "STGADMIN" not in text and "HR0001" not in text and " HR " not in text, text
    assert await site.datasets.read("HR.DATA") == changed != before


async def test_a_volume_of_a_hidden_pool_is_refused_as_an_unknown_one_is_without_naming_its_pool(site):
    await _restrict(site, "STGADMIN.ARC.LIST.HR")
    answers = {}
    for volser in ("HR0001", "NOVOL1"):
        rc, text = await _as_olga(site, f"LIST PVOL({volser})")
        answers[volser] = (rc, text.replace(volser, "V"))
        assert rc == 36 and "HOLDS DATA OF A COPY POOL YOU MAY NOT LIST" in text, text
        assert "STGADMIN" not in text and " HR " not in text and ".HR " not in text, text
    assert answers["HR0001"] == answers["NOVOL1"]  # one answer: which names are real is not told
    await _restrict(site, "STGADMIN.ARC.FRRECOV.HR")  # HR's recovery refused too: still not named
    rc, text = await _as_olga(site, "FRRECOV TOVOLUME(HR0001)")
    assert rc == 36 and "VOLUME HR0001 HOLDS DATA OF A COPY POOL YOU MAY NOT LIST" in text, text
    assert "STGADMIN" not in text and " HR " not in text, text
