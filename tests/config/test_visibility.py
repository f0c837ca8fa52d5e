"""The configuration is read as every other read: a copy pool the caller may not LIST
(`STGADMIN.ARC.LIST.HRNIGHT UACC(NONE)`), with the storage groups only it uses and the volumes
that hold its data, is left out of `config show` and `config export` for an administrator too
(docs/SECURITY.md: every unnamed read), while one permitted to LIST it sees the whole site."""

from __future__ import annotations

import dataclasses
import re
import tomllib

import pytest
import tomli_w

from engine.api import Change, LocalSite, SecurityChange
from engine.demo import demo_definition, seed_demo
from engine.security import Access, Identity, Kind
from engine.site import Site
from server import wire

#: anything of HRNIGHT: its name, its storage groups, its volumes (sources and targets)
HR = re.compile(r"HRNIGHT|HRDATA|HRBK|HR000\d|HRB00\d")


def _configuration(api: LocalSite) -> object:
    """The configuration as `api` reads it, without the export's time (a second may pass)."""
    conf = api.configuration()
    return dataclasses.replace(conf, definition=conf.definition.split("\n", 1)[1])


@pytest.fixture
async def site(tmp_path):
    opened = Site.create(tmp_path / "site", demo_definition())
    await seed_demo(opened)
    await opened.flashcopy.drain()
    owner = LocalSite(opened)
    for ch in (
        SecurityChange(Change.GRANT, name="ada", role="administrator"),
        SecurityChange(Change.GRANT, name="bert", role="administrator"),
        SecurityChange(Change.DEFINE, "STGADMIN.ARC.LIST.HRNIGHT", Access.NONE),
        SecurityChange(Change.PERMIT, "STGADMIN.ARC.LIST.HRNIGHT", kind=Kind.USER, name="bert"),
    ):
        assert (await owner.change_security(ch)).rc == 0
    yield opened
    await opened.close()


def shown(api: LocalSite) -> str:
    conf = api.configuration()
    return str(wire.encode(conf))


async def test_an_administrator_who_may_not_list_a_copy_pool_reads_no_configuration_of_it(site):
    ada, bert = LocalSite(site, Identity("ada", ())), LocalSite(site, Identity("bert", ()))
    assert not [p.name for p in ada.pools() if p.name == "HRNIGHT"], "LIST leaves it out"
    conf = ada.configuration()
    assert [p.name for p in conf.pools] == ["DSN$DB0A$DB", "PAYROLL"]
    assert [g.name for g in conf.groups] == ["DB0ABK", "DB0ADATA", "DB0ALOG", "PAYBK", "PAYDATA"]
    assert not HR.findall(shown(ada)), HR.findall(shown(ada))
    data = tomllib.loads(conf.definition)
    assert [p["name"] for p in data["copy_pool"]] == ["DSN$DB0A$DB", "PAYROLL"]
    assert not HR.findall(conf.definition.split("\n", 3)[3]), "the definition names nothing of it either"
    assert "leaves out" in conf.definition.split("\n\n", 1)[0], "the export says it is not the whole site"
    # one permitted to LIST it sees it all, as the site's definition is
    whole = bert.configuration()
    assert "HRNIGHT" in [p.name for p in whole.pools] and {"HRDATA", "HRBK"} <= {g.name for g in whole.groups}
    assert "HRNIGHT" in whole.definition and "leaves out" not in whole.definition


async def test_a_change_that_reaches_a_copy_pool_the_caller_may_not_list_is_refused_not_previewed(site):
    """Neither a preview nor the change tells or changes what the caller may not LIST: naming
    the copy pool, a storage group only it uses (its preview names the pool's versions), or a
    whole definition; a change elsewhere goes on as for anyone."""
    from engine.api import NotAuthorized
    from engine.config import ConfigChange, ConfigOp

    ada, bert = LocalSite(site, Identity("ada", ())), LocalSite(site, Identity("bert", ()))
    before = _configuration(bert)
    hidden = [
        ConfigChange(ConfigOp.ALTER_POOL, "HRNIGHT", versions=3),
        ConfigChange(ConfigOp.ALTER_POOL, "HRNIGHT", description="renamed"),
        ConfigChange(ConfigOp.REMOVE_VOLUMES, "HRBK", volumes=("HRB002",)),
        ConfigChange(ConfigOp.DELETE_GROUP, "HRDATA"),
    ]
    for change in hidden:
        with pytest.raises(NotAuthorized, match="YOU MAY NOT LIST"):
            ada.config_preview(change)
        res = await ada.change_config(change)
        assert res.rc == 36 and res.messages[0].id == "ICH408I" and not HR.findall(str(res.lines())), res.lines()
        assert bert.config_preview(change).change  # the one who may LIST it previews it as before
    assert _configuration(bert) == before  # nothing changed
    plan = ada.config_preview(ConfigChange(ConfigOp.ALTER_POOL, "PAYROLL", versions=3))
    assert plan.allowed and not HR.findall(str(plan)), plan
    assert (await ada.change_config(ConfigChange(ConfigOp.ALTER_POOL, "PAYROLL", versions=3))).rc == 0


async def test_a_change_that_names_a_storage_group_of_a_copy_pool_the_caller_may_not_list_is_refused(site):
    """HRNIGHT's storage groups are its data: a new copy pool over HRDATA would let FRBACKUP copy
    HRNIGHT's volumes to targets the caller reads. So a change naming HRDATA or HRBK (as a pool's
    storage group, as a backup group, defined again, deleted, or in a definition applied) is
    refused as one naming HRNIGHT is, audited, and its preview tells nothing of them either."""
    from engine.api import NotAuthorized
    from engine.config import ConfigChange, ConfigOp

    ada, bert = LocalSite(site, Identity("ada", ())), LocalSite(site, Identity("bert", ()))
    # HRBK large enough for a second pool over HRDATA: the change would be made for anyone who may see it
    assert (await bert.change_config(ConfigChange(ConfigOp.ADD_VOLUMES, "HRBK", volumes=("HRB003", "HRB004")))).rc == 0
    spy = ConfigChange(ConfigOp.DEFINE_POOL, "SPY", storage_groups=("HRDATA",), versions=1)
    assert bert.config_preview(spy).allowed
    before = _configuration(bert)
    mine = tomllib.loads(ada.configuration().definition)
    mine["copy_pool"].append({"name": "SPY", "storage_groups": ["HRDATA"], "versions": 1})
    naming = [
        spy,
        ConfigChange(ConfigOp.ALTER_POOL, "PAYROLL", storage_groups=("PAYDATA", "HRDATA")),
        ConfigChange(ConfigOp.DEFINE_GROUP, "HRDATA", group_type="POOL", volumes=("ZZ0001",)),
        ConfigChange(ConfigOp.DELETE_GROUP, "HRBK"),
        ConfigChange(ConfigOp.ALTER_GROUP, "PAYDATA", backup_group="HRBK"),
        ConfigChange(ConfigOp.DEFINE_GROUP, "NEWSG", group_type="POOL", backup_group="HRBK", volumes=("NEW001",)),
        ConfigChange(ConfigOp.APPLY, definition=tomli_w.dumps(mine)),
    ]
    for change in naming:
        with pytest.raises(NotAuthorized, match="YOU MAY NOT LIST") as refused:
            ada.config_preview(change)
        assert not HR.findall(str(refused.value)), refused.value
        res = await ada.change_config(change)
        assert res.rc == 36 and res.messages[0].id == "ICH408I" and not HR.findall(str(res.lines())), res.lines()
    assert _configuration(bert) == before  # nothing changed: no copy pool SPY to back up
    assert (await ada.command("FRBACKUP COPYPOOL(SPY)")).rc == 22  # ARC1806E: not defined
    denied = [e for e in site.context.audit.entries() if e.user == "ada" and e.return_code == 36]
    assert len(denied) == 2 * len(naming), [e.action for e in denied]
    assert all(
        e.decision == "DENIED" and e.profile == "STGADMIN.ARC.LIST.HRNIGHT" and "ICH408I" in e.message_ids
        for e in denied
    ), denied
    # a change that names only what the caller sees goes on as for anyone
    plan = ada.config_preview(ConfigChange(ConfigOp.ALTER_GROUP, "PAYDATA", backup_group="DB0ABK"))
    assert plan.change and not HR.findall(str(plan)), plan
