"""Every configuration refusal names the real reason, in the words of the definition file where
it quotes it: a dump class or storage group in use, a volume already in its group, a storage
group named twice, a misspelt key as the user wrote it."""

from __future__ import annotations

import asyncio
import tomllib

import pytest
import tomli_w

from engine.api import LocalSite
from engine.config import ConfigChange, ConfigOp
from engine.demo import demo_definition
from engine.site import Site


@pytest.fixture
async def api(tmp_path):
    site = Site.create(tmp_path / "site", demo_definition())
    yield LocalSite(site)
    await site.close()


def definition(api: LocalSite) -> str:
    return api.configuration().definition.split("\n", 1)[1]  # without the export's time


async def refused(api: LocalSite, ch: ConfigChange) -> tuple[list[str], list[str]]:
    """The dry run's problems and the change's FPL802E texts; nothing may have changed."""
    before = definition(api)
    plan = await asyncio.to_thread(api.config_preview, ch)
    res = await api.change_config(ch)
    assert res.rc == 8 and {m.id for m in res.messages} == {"FPL802E"}, res.lines()
    assert definition(api) == before, ch.describe()
    return list(plan.problems), [m.text for m in res.messages]


async def test_a_misspelt_key_is_shown_as_written_with_the_keys_as_the_file_writes_them(api):
    data = tomllib.loads(api.configuration().definition)
    pool = next(p for p in data["copy_pool"] if p["name"] == "PAYROLL")
    pool["verions"] = pool.pop("versions")
    problems, texts = await refused(api, ConfigChange(ConfigOp.APPLY, definition=tomli_w.dumps(data)))
    assert any("unknown key 'verions'" in p and "'versions'" in p for p in problems), problems
    (text,) = texts
    where = next(p for p in problems if "verions" in p).split(": ", 1)[0]
    assert where.startswith("copy_pool[") and where.endswith("]"), problems  # as the file writes it
    assert text.startswith(f"CONFIGURATION CHANGE REFUSED: {where}: UNKNOWN KEY 'verions'"), text
    assert "'storage_groups'" in text and "'versions'" in text and "'fast_reverse_restore'" in text, text
    assert "VERIONS" not in text and "'VERSIONS'" not in text, text


async def test_a_dump_class_or_storage_group_in_use_is_refused_as_in_use(api):
    cases = {
        ConfigChange(ConfigOp.DELETE_DUMP_CLASS, "ONSITE"): (
            "dump class ONSITE is used by copy pool(s) PAYROLL: remove it from them first"
        ),
        ConfigChange(ConfigOp.DELETE_GROUP, "PAYDATA"): (
            "storage group PAYDATA is used by copy pool(s) PAYROLL: remove it from them first"
        ),
        ConfigChange(ConfigOp.DELETE_GROUP, "PAYBK"): (
            "storage group PAYBK is the backup group of storage group(s) PAYDATA: give them another one first"
        ),
    }
    for ch, why in cases.items():
        problems, texts = await refused(api, ch)
        assert problems == [why], (ch.describe(), problems)
        assert texts == [f"CONFIGURATION CHANGE REFUSED: {why.upper()}"], texts
        assert not any("which is not defined" in p for p in problems)


async def test_a_volume_already_in_the_group_is_said_to_be_there(api):
    why = "volume HRB002 is in storage group HRBK already: nothing to add"
    problems, texts = await refused(api, ConfigChange(ConfigOp.ADD_VOLUMES, "HRBK", ("HRB002",)))
    assert problems == [why], problems
    assert texts == [f"CONFIGURATION CHANGE REFUSED: {why.upper()}"], texts
    # with a new volume beside it, nothing is added either: the command line names what to add
    problems, _ = await refused(api, ConfigChange(ConfigOp.ADD_VOLUMES, "HRBK", ("HRB003", "hrb001")))
    assert problems == ["volume HRB001 is in storage group HRBK already: nothing to add"], problems


async def test_a_storage_group_or_dump_class_named_twice_is_refused_naming_it(api):
    cases = {
        ConfigChange(ConfigOp.DEFINE_POOL, "NEWP", storage_groups=("PAYDATA", "paydata")): (
            "copy pool NEWP names storage group PAYDATA twice"
        ),
        ConfigChange(ConfigOp.ALTER_POOL, "PAYROLL", storage_groups=("PAYDATA", "PAYDATA")): (
            "copy pool PAYROLL names storage group PAYDATA twice"
        ),
        ConfigChange(ConfigOp.ALTER_POOL, "PAYROLL", dump_classes=("ONSITE", "ONSITE:2")): (
            "copy pool PAYROLL names dump class ONSITE twice"
        ),
    }
    for ch, why in cases.items():
        problems, _ = await refused(api, ch)
        assert problems == [why], (ch.describe(), problems)
    for op in (ConfigOp.ADD_VOLUMES, ConfigOp.REMOVE_VOLUMES):
        problems, _ = await refused(api, ConfigChange(op, "PAYBK", ("PBK006", "pbk006")))
        assert problems == ["volume PBK006 is given twice"], (op, problems)
