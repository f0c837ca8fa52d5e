"""Constructs changed online: a volume added to a source storage group and one to its backup
storage group are backed up and recovered byte for byte; a lowered VERSIONS rolls off at the next
FRBACKUP exactly the versions the dry run listed; a change that would orphan a version, lose data
or change what cannot change is refused with nothing changed; every change is one transaction,
audited and logged; a preview that no longer matches is not applied."""

from __future__ import annotations

import asyncio
import json
import os
import tomllib
from pathlib import Path

import pytest
import tomli_w
from sqlmodel import select

from engine import config
from engine.api import LocalSite
from engine.catalog.models import ActivityRow, AuditRow, VolumeRow
from engine.config import ConfigChange, ConfigOp, Shape
from engine.demo import demo_definition, seed_demo
from engine.site import Site

DB2 = "DSN$DB0A$DB"


@pytest.fixture
async def api(tmp_path):
    site = Site.create(tmp_path / "site", demo_definition())
    await seed_demo(site)
    await site.flashcopy.drain()
    local = LocalSite(site)
    yield local
    await site.close()


def valid_versions(api: LocalSite, pool: str) -> list[int]:
    return sorted(v.version for v in api.versions(pool) if v.dasd_state in ("RECOVERABLE", "FCFRRINCOMPLETE"))


def catalog_rows(api: LocalSite) -> str:
    """Everything config may change, to compare before and after a refusal."""
    return api.configuration().definition.split("\n", 1)[1]  # without the export's time


async def change(api: LocalSite, ch: ConfigChange, expect: str | None = None):
    return await api.change_config(ch, expect)


async def test_volumes_added_to_a_source_group_and_its_backup_group_are_backed_up_and_recovered(api):
    site = api.engine
    preview = await asyncio.to_thread(api.config_preview, ConfigChange(ConfigOp.ADD_VOLUMES, "HRDATA", ("HR0003",)))
    assert not preview.allowed and any("HRBK is too small" in p for p in preview.problems), preview
    res = await change(api, ConfigChange(ConfigOp.ADD_VOLUMES, "HRBK", ("HRB003",)))
    assert res.rc == 0, res.lines()
    res = await change(api, ConfigChange(ConfigOp.ADD_VOLUMES, "HRDATA", ("HR0003",)))
    assert res.rc == 0 and "FPL800I" in [m.id for m in res.messages], res.lines()
    assert (site.path / "volumes" / "HR0003.img").exists() and "HR0003" in site.volumes
    size = site.context.volume("HR0003").geometry.track_size
    for k in range(0, 150, 7):
        await site.flashcopy.write("HR0003", k, f"HR0003 track {k} new volume ".encode().ljust(size, b"+"))
    backed = await site.hsm.execute("FRBACKUP COPYPOOL(HRNIGHT) FCINCREMENTAL TOKEN(AFTER)")
    assert backed.rc == 0, backed.lines()
    assert "HR0003" in next(m.text for m in backed.messages if m.id == "ARC1805I")
    await site.flashcopy.drain()
    sources = ["HR0001", "HR0002", "HR0003"]
    before = {v: await asyncio.to_thread(api.volume_digest, v) for v in sources}
    for v in sources:
        await api.damage(v, 0, 149)
    damaged = {v: await asyncio.to_thread(api.volume_digest, v) for v in sources}
    assert all(damaged[v] != before[v] for v in sources)
    rec = await site.hsm.execute("FRRECOV COPYPOOL(HRNIGHT) TOKEN(AFTER)")
    assert rec.rc == 0, rec.lines()
    await site.flashcopy.drain()
    assert {v: await asyncio.to_thread(api.volume_digest, v) for v in sources} == before


async def test_lowered_versions_roll_off_at_the_next_frbackup_as_the_dry_run_said(api):
    site = api.engine
    assert valid_versions(api, DB2) == [1, 2, 3]
    lower = ConfigChange(ConfigOp.ALTER_POOL, DB2, versions=1)
    plan = await asyncio.to_thread(api.config_preview, lower)
    assert plan.allowed and plan.roll_offs[0].copy_pool == DB2
    assert plan.roll_offs[0].versions == (1, 2, 3)
    assert any("rolls off version 001" in e for e in plan.effects), plan.effects
    res = await change(api, lower, plan.digest)
    assert res.rc == 0, res.lines()
    assert valid_versions(api, DB2) == [1, 2, 3], "nothing rolls off until the next FRBACKUP"
    await site.flashcopy.drain()
    impact = await asyncio.to_thread(api.impact, f"FRBACKUP COPYPOOL({DB2})")
    assert sorted(impact.versions_invalidated) == [1, 2, 3]
    backed = await site.hsm.execute(f"FRBACKUP COPYPOOL({DB2})")
    assert backed.rc == 0, backed.lines()
    assert "FPL109I" in [m.id for m in backed.messages]
    assert valid_versions(api, DB2) == [4]
    listing = await site.hsm.execute(f"LIST COPYPOOL({DB2})")
    assert sum(1 for line in listing.lines() if line.startswith("004 ")) == 1
    assert not any(line.startswith(("001 ", "002 ", "003 ")) for line in listing.lines())
    # the freed targets serve again: VERSIONS up to 3 and three more backups need no new volume
    assert (await change(api, ConfigChange(ConfigOp.ALTER_POOL, DB2, versions=3))).rc == 0
    for _ in range(3):
        await site.flashcopy.drain()
        assert (await site.hsm.execute(f"FRBACKUP COPYPOOL({DB2})")).rc == 0
    assert valid_versions(api, DB2) == [5, 6, 7]


async def test_a_change_that_would_orphan_a_version_or_lose_data_is_refused_and_changes_nothing(api):
    before = catalog_rows(api)
    refusals = {
        ConfigChange(ConfigOp.REMOVE_VOLUMES, "DB0ADATA", ("DB0A01",)): "is the source of version",
        ConfigChange(ConfigOp.REMOVE_VOLUMES, "DB0ABK", ("BK0A01",)): "is the target of version",
        ConfigChange(ConfigOp.DELETE_POOL, "PAYROLL"): "FRDELETE COPYPOOL(PAYROLL) ALL BOTH first",
        ConfigChange(ConfigOp.DELETE_GROUP, "PAYDATA"): "PAYDATA is used by copy pool(s) PAYROLL",
        ConfigChange(ConfigOp.DELETE_DUMP_CLASS, "ONSITE"): "ONSITE is used by copy pool(s) PAYROLL",
        ConfigChange(ConfigOp.ALTER_POOL, "PAYROLL", versions=9): "backup group PAYBK is too small",
        ConfigChange(ConfigOp.ALTER_POOL, "PAYROLL", versions=86): "VERSIONS is 0 to 85",
        ConfigChange(ConfigOp.ADD_VOLUMES, "DB0ADATA", ("BK0A16",)): "a volume belongs to one storage group",
        ConfigChange(ConfigOp.ADD_VOLUMES, "NOSUCH", ("NEW001",)): "storage group NOSUCH is not defined",
        ConfigChange(ConfigOp.DEFINE_GROUP, "NEWBK", ("NB0001",), group_type="POOL"): "without a backup_group",
        ConfigChange(ConfigOp.DELETE_VOLUMES, volumes=("PBK006",)): "remove it from the group first",
    }
    for ch, why in refusals.items():
        plan = await asyncio.to_thread(api.config_preview, ch)
        assert not plan.allowed and any(why in p for p in plan.problems), (ch.describe(), plan.problems)
        res = await change(api, ch)
        assert res.rc == 8 and {m.id for m in res.messages} == {"FPL802E"}, res.lines()
        assert catalog_rows(api) == before, ch.describe()
    # the PAYROLL version holds the dump copies of ONSITE: with the copy pool's link gone, the
    # class still may not go
    data = tomllib.loads(api.configuration().definition)
    next(p for p in data["copy_pool"] if p["name"] == "PAYROLL")["dump_classes"] = []
    data["dump_class"] = [c for c in data["dump_class"] if c["name"] != "ONSITE"]
    plan = await asyncio.to_thread(api.config_preview, ConfigChange(ConfigOp.APPLY, definition=tomli_w.dumps(data)))
    assert not plan.allowed and any("dump class ONSITE holds" in p for p in plan.problems), plan.problems


async def test_sizes_and_types_never_change_and_an_unknown_image_is_never_taken(api):
    data = tomllib.loads(api.configuration().definition)
    hrbk = next(g for g in data["storage_group"] if g["name"] == "HRBK")
    hrdata = next(g for g in data["storage_group"] if g["name"] == "HRDATA")
    hrbk["tracks"] = hrdata["tracks"] = 300
    plan = await asyncio.to_thread(api.config_preview, ConfigChange(ConfigOp.APPLY, definition=tomli_w.dumps(data)))
    assert any("a volume's size does not change" in p for p in plan.problems), plan.problems
    spare = ConfigChange(ConfigOp.DEFINE_GROUP, "SPARE", ("SP0001",), Shape(tracks=150), group_type="COPYPOOLBACKUP")
    assert (await change(api, spare)).rc == 0
    data = tomllib.loads(api.configuration().definition)
    retyped = next(g for g in data["storage_group"] if g["name"] == "SPARE")
    retyped["type"], retyped["backup_group"] = "POOL", "PAYBK"
    plan = await asyncio.to_thread(api.config_preview, ConfigChange(ConfigOp.APPLY, definition=tomli_w.dumps(data)))
    assert any("type does not change" in p for p in plan.problems), plan.problems
    stray = api.engine.path / "volumes" / "NEW001.img"
    stray.write_bytes(b"someone's data")
    res = await change(api, ConfigChange(ConfigOp.ADD_VOLUMES, "PAYBK", ("NEW001",)))
    assert res.rc == 8 and "NO VOLUME OF THE CATALOG USES IT" in " ".join(res.lines())
    assert stray.read_bytes() == b"someone's data"


async def test_a_volume_leaves_its_group_keeps_its_data_and_is_deleted_only_when_asked(api):
    site = api.engine
    res = await change(api, ConfigChange(ConfigOp.REMOVE_VOLUMES, "PAYBK", ("PBK006",)))
    assert res.rc == 0, res.lines()
    loose = [v.volser for v in api.configuration().loose]
    assert loose == ["PBK006"] and (site.path / "volumes" / "PBK006.img").exists()
    # back into a group, as it is (no new image)
    assert (await change(api, ConfigChange(ConfigOp.ADD_VOLUMES, "PAYBK", ("PBK006",)))).rc == 0
    assert (await change(api, ConfigChange(ConfigOp.REMOVE_VOLUMES, "PAYBK", ("PBK006",)))).rc == 0
    res = await change(api, ConfigChange(ConfigOp.DELETE_VOLUMES, volumes=("PBK006",)))
    assert res.rc == 0, res.lines()
    assert not (site.path / "volumes" / "PBK006.img").exists() and "PBK006" not in site.volumes
    with site.catalog.session() as s:
        assert s.get(VolumeRow, "PBK006") is None
    # a source volume with data sets on it may leave its group once no version holds it, but
    # is not deleted while data sets live on it
    await site.datasets.allocate("LOOSE.DATA.SET", 2, ["PBK005"])
    assert (await change(api, ConfigChange(ConfigOp.REMOVE_VOLUMES, "PAYBK", ("PBK005",)))).rc == 0
    plan = await asyncio.to_thread(api.config_preview, ConfigChange(ConfigOp.DELETE_VOLUMES, volumes=("PBK005",)))
    assert any("LOOSE.DATA.SET" in p and "live on it" in p for p in plan.problems), plan.problems
    plan = await asyncio.to_thread(api.config_preview, ConfigChange(ConfigOp.ADD_VOLUMES, "PAYBK", ("PBK005",)))
    assert any("would be overwritten by the next FRBACKUP" in p for p in plan.problems), plan.problems


async def test_copy_pools_and_groups_are_defined_and_deleted_and_work_at_once(api):
    site = api.engine
    new_group = ConfigChange(
        ConfigOp.DEFINE_GROUP, "TESTBK", ("TB0001", "TB0002"), Shape(tracks=150), group_type="COPYPOOLBACKUP"
    )
    assert (await change(api, new_group)).rc == 0
    src = ConfigChange(ConfigOp.DEFINE_GROUP, "TESTSRC", ("TS0001",), Shape(tracks=150), "POOL", "TESTBK")
    assert (await change(api, src)).rc == 0
    pool = ConfigChange(
        ConfigOp.DEFINE_POOL, "TESTPOOL", storage_groups=("TESTSRC",), versions=2, dump_classes=("OFFSITE:2",)
    )
    res = await change(api, pool)
    assert res.rc == 0, res.lines()
    backed = await site.hsm.execute("FRBACKUP COPYPOOL(TESTPOOL) DUMP")
    assert backed.rc == 0, backed.lines()
    plan = await asyncio.to_thread(api.config_preview, ConfigChange(ConfigOp.DELETE_POOL, "TESTPOOL"))
    assert not plan.allowed
    await site.flashcopy.drain()
    assert (await site.hsm.execute("FRDELETE COPYPOOL(TESTPOOL) ALL BOTH")).rc == 0
    for ch in (
        ConfigChange(ConfigOp.DELETE_POOL, "TESTPOOL"),
        ConfigChange(ConfigOp.DELETE_GROUP, "TESTSRC"),
        ConfigChange(ConfigOp.DELETE_GROUP, "TESTBK"),
        ConfigChange(ConfigOp.DELETE_VOLUMES, volumes=("TB0001", "TB0002", "TS0001")),
    ):
        res = await change(api, ch)
        assert res.rc == 0, (ch.describe(), res.lines())
    assert not any(site.path.joinpath("volumes", f"{v}.img").exists() for v in ("TB0001", "TB0002", "TS0001"))


async def test_every_change_is_audited_and_logged_and_a_stale_preview_is_not_applied(api):
    site = api.engine
    first = await asyncio.to_thread(api.config_preview, ConfigChange(ConfigOp.ALTER_POOL, "PAYROLL", versions=1))
    other = await change(api, ConfigChange(ConfigOp.ALTER_POOL, "PAYROLL", description="month end"))
    assert other.rc == 0
    stale = await change(api, ConfigChange(ConfigOp.ALTER_POOL, "PAYROLL", versions=1), first.digest)
    assert stale.rc == 8 and [m.id for m in stale.messages] == ["FPL804E"]
    assert next(p for p in api.configuration().pools if p.name == "PAYROLL").versions == 2
    with site.catalog.session() as s:
        logged = [a for a in s.exec(select(ActivityRow)).all() if a.command.startswith("CONFIG ALTER-POOL PAYROLL")]
        audited = [a for a in s.exec(select(AuditRow)).all() if a.action.startswith("CONFIG ALTER-POOL PAYROLL")]
    assert [a.return_code for a in logged] == [0, 8] and all(a.user == api.who.user for a in logged)
    assert [(a.return_code, a.profile) for a in audited] == [(0, "STGADMIN.FPL.CONFIG"), (8, "STGADMIN.FPL.CONFIG")]


async def test_a_failed_transaction_leaves_no_image_and_no_row(api, monkeypatch):
    from engine.config import commit as applying

    def broken(s, work):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(applying, "_write", broken)
    res = await change(api, ConfigChange(ConfigOp.ADD_VOLUMES, "PAYBK", ("PBK007", "PBK008")))
    assert res.rc == 12 and "FPL590E" in [m.id for m in res.messages], res.lines()
    assert not list((api.engine.path / "volumes").glob("PBK00[78].img"))
    assert "PBK007" not in api.engine.volumes


async def test_export_is_a_definition_init_accepts_and_it_round_trips(api, tmp_path):
    site = api.engine
    assert (
        await site.hsm.execute("SETSYS FASTREPLICATION(DATASETRECOVERY(PREFERRED)) AUTODUMPSTART(0100 0300 0500)")
    ).rc == 0
    assert (await site.hsm.execute("DEFINE DUMPCYCLE(NNNNNNY CYCLESTARTDATE(2026/11/29))")).rc == 0
    assert (await change(api, ConfigChange(ConfigOp.REMOVE_VOLUMES, "PAYBK", ("PBK006",)))).rc == 0
    assert (
        await change(api, ConfigChange(ConfigOp.ALTER_POOL, "HRNIGHT", auto_dump=True, dump_classes=("OFFSITE:3",)))
    ).rc == 0
    text = api.configuration().definition
    path = tmp_path / "site.toml"
    path.write_text(text)
    from engine.definition import load_definition

    twin = Site.create(tmp_path / "twin", load_definition(path))
    try:
        twin_api = LocalSite(twin)
        assert catalog_rows(twin_api) == catalog_rows(api)
        shown = await twin.hsm.execute("QUERY SETSYS")
        assert "DATASETRECOVERY=PREFERRED" in " ".join(shown.lines()) and "ADSTART=(01:00 03:00 05:00)" in " ".join(
            shown.lines()
        )
    finally:
        twin.close_files()
    # the file applied to the site it came from changes nothing; the sections other commands own
    # must agree with the site
    same = await change(api, ConfigChange(ConfigOp.APPLY, definition=text))
    assert same.rc == 0 and [m.id for m in same.messages] == ["FPL801I"], same.lines()
    other = text.replace("DATASETRECOVERY(PREFERRED)", "DATASETRECOVERY(REQUIRED)")
    refused = await change(api, ConfigChange(ConfigOp.APPLY, definition=other))
    assert refused.rc == 8 and "[PARMLIB] DIFFERS FROM THE SITE'S" in " ".join(refused.lines())


def test_the_cli_previews_changes_exports_and_creates_a_site_from_the_export(tmp_path, capsys):
    from cli.main import main

    site = tmp_path / "site"
    assert main(["init", str(site), "--demo", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["--site", str(site), "config", "alter-pool", DB2, "--versions", "1", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "VERSIONS 3 becomes 1" in out and "rolls off version 001" in out
    assert main(["--site", str(site), "config", "remove-volume", "DB0ADATA", "DB0A01", "--dry-run", "--json"]) == 8
    plan = json.loads(capsys.readouterr().out)
    assert plan["problems"] and "is the source of version" in plan["problems"][0]
    assert main(["--site", str(site), "config", "add-volume", "PAYBK", "PBK007", "--model", "3390-1"]) == 0
    assert "3390-1" in capsys.readouterr().out
    export = tmp_path / "exported.toml"
    assert main(["--site", str(site), "config", "export", "-o", str(export)]) == 0
    assert os.stat(export).st_mode & 0o777 == 0o600
    assert main(["--site", str(site), "config", "export", "-o", str(export)]) == 12, "an export never overwrites"
    capsys.readouterr()
    assert main(["init", str(tmp_path / "twin"), "--definition", str(export), "--quiet"]) == 0
    assert Path(tmp_path / "twin" / "volumes" / "PBK007.img").exists()


def test_the_constructs_listing_names_what_holds_each_volume(tmp_path):
    site = Site.create(tmp_path / "s", demo_definition())
    try:
        conf = config.configuration(site.context, "s")
        assert [g.name for g in conf.groups][:2] == ["DB0ABK", "DB0ADATA"]
        assert all(v.held == "" for g in conf.groups for v in g.volumes), "a new site holds nothing"
    finally:
        site.close_files()
