"""IBM's documented command forms, each run against a fresh copy of the demo site: every keyword,
abbreviation and nested form of the syntax diagrams for FRBACKUP, FRRECOV, FRDELETE, LIST, QUERY,
HOLD, RELEASE, SETSYS, DEFINE and AUDIT, and the data set wildcard rules, with the outcome IBM
documents: accepted (RC 0, or the RC the documented situation gives), or refused with the message
and return code IBM names (IKJ567xxI RC 12 for syntax, ARC1806E / ARC1866I with their codes).

`{date}` is the demo's backup day. The demo site: DSN$DB0A$DB (VERSIONS 3, fast reverse restore,
versions 1-3, the newest still copying, no dump class), PAYROLL (VERSIONS 2, version 1 TOKEN
MONTHEND dumped to ONSITE and OFFSITE on tapes T00001-T00003), HRNIGHT (incremental version 2).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil

import pytest

from engine.demo import demo_definition, seed_demo
from engine.site import Site
from tests.sitecopy import copy_site

T0 = 1_795_000_000  # the demo's clock: every run sees the same dates


def _clock(start: int):
    ticks = iter(range(start, start + 10**7, 7))
    return lambda: float(next(ticks))


#: (command, the return code, the message that decides: the refusal's, FPL150I for a keyword that
#: changes nothing here, FPL160W, or "" for a plain success)
FORMS: list[tuple[str, int, str]] = [
    ("FRBACKUP COPYPOOL(PAYROLL)", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) EXECUTE", 0, ""),
    ("FRB CP(PAYROLL) EXEC", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) TOKEN(MYTOKEN)", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) TOKEN(X'C1C2')", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) NOVTOCENQ", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) DUMP", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) DUMP RETURNCONTROL(FASTREPLICATIONEND)", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) DUMP RETURNCONTROL(FREND)", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) DUMP RETURNCONTROL(DUMPEND)", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) DUMP DUMPCLASS(ONSITE)", 0, ""),
    ("FRBACKUP CP(PAYROLL) DUMP DCLASS(ONSITE,OFFSITE)", 0, ""),
    ("FRBACKUP COPYPOOL(DSN$DB0A$DB) DUMPONLY", 48, "ARC1806E"),
    ("FRBACKUP COPYPOOL(DSN$DB0A$DB) DUMPONLY(VERSION(2)) DUMPCLASS(ONSITE)", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) DUMPONLY(VERSION(1))", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) DUMPONLY(TOKEN(MONTHEND))", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) DUMPONLY(GENERATION(0))", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) DUMPONLY(DATE({date}))", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) DUMPONLY VERSION(1)", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) DUMPONLY DUMPCLASS(ONSITE)", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) DUMPONLY(VERSION(1)) VERSION(1)", 12, "IKJ56702I"),
    ("FRBACKUP COPYPOOL(PAYROLL) PREPARE", 0, ""),
    ("FRB CP(PAYROLL) PREP", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) WITHDRAW", 0, ""),
    ("FRBACKUP COPYPOOL(HRNIGHT) FCINCREMENTAL", 0, ""),
    ("FRBACKUP COPYPOOL(HRNIGHT) FCINCREMENTALLAST", 0, ""),
    ("FRB CP(HRNIGHT) FCINC", 0, ""),
    ("FRBACKUP COPYPOOL(HRNIGHT) FCINCREMENTAL(ALL)", 0, "FPL150I"),
    ("FRBACKUP COPYPOOL(PAYROLL) BACKUPSTORAGEGROUP(DB0ABK)", 62, "ARC1806E"),
    ("FRBACKUP COPYPOOL(PAYROLL) BSG(PAYDATA)", 22, "ARC1806E"),
    ("FRBACKUP COPYPOOL(DSN$DB0A$DB) FORCE", 0, ""),
    ("FRBACKUP COPYPOOL(PAYROLL) WAIT", 0, "FPL150I"),
    ("FRBACKUP COPYPOOL(PAYROLL) NOWAIT", 0, "FPL150I"),
    ("HSEND FRBACKUP COPYPOOL(PAYROLL)", 0, ""),
    ("FRBACKUP COPYPOOL(NOSUCH)", 22, "ARC1806E"),
    ("FRBACKUP COPYPOOL(PAYROLL) PREPARE DUMP", 12, "IKJ56702I"),
    ("FRBACKUP", 12, "IKJ56701I"),
    ("FRRECOV COPYPOOL(PAYROLL)", 0, ""),
    ("FRRECOV CP(PAYROLL) VERIFY(Y)", 0, ""),
    ("FRRECOV COPYPOOL(PAYROLL) VERIFY(N)", 0, ""),
    ("FRRECOV COPYPOOL(PAYROLL) VERSION(1)", 0, ""),
    ("FRRECOV COPYPOOL(PAYROLL) GENERATION(0)", 0, ""),
    ("FRRECOV COPYPOOL(PAYROLL) TOKEN(MONTHEND)", 0, ""),
    ("FRRECOV COPYPOOL(PAYROLL) DATE({date})", 0, ""),
    ("FRRECOV COPYPOOL(PAYROLL) FROMDASD", 0, ""),
    ("FRRECOV COPYPOOL(PAYROLL) FROMDUMP", 0, ""),
    ("FRRECOV COPYPOOL(PAYROLL) FROMDUMP(DUMPCLASS(OFFSITE))", 0, ""),
    ("FRRECOV COPYPOOL(DSN$DB0A$DB)", 0, ""),
    ("FRRECOV COPYPOOL(DSN$DB0A$DB) VERSION(2)", 0, ""),
    ("FRRECOV TOVOLUME(PAY001) FROMCOPYPOOL(PAYROLL)", 0, ""),
    ("FRR TOV(PAY001) FCP(PAYROLL)", 0, ""),
    ("FRRECOV TOVOLUME(PAY001) FROMDUMP", 0, ""),
    ("FRRECOV TOVOLUME(PAY001) FROMDUMP(DUMPCLASS(ONSITE))", 0, ""),
    ("FRRECOV TOVOLUME(PAY001) FROMDUMP(DUMPVOLUME(T00002))", 0, ""),
    ("FRRECOV TOVOLUME(PAY001) FROMDUMP DUMPCLASS(ONSITE) GENERATION(0)", 0, ""),
    ("FRRECOV TOVOLUME(PAY001) FROMDUMP APPLYINCREMENTAL", 0, "FPL150I"),
    ("FRRECOV TOVOLUME(PAY001) FROMDUMP AINC", 0, "FPL150I"),
    ("FRRECOV COPYPOOL(PAYROLL) ALLOWPPRCP(NO)", 0, "FPL150I"),
    ("FRRECOV COPYPOOL(PAYROLL) ALLOWPPRCP(YES)", 0, "FPL150I"),
    ("FRRECOV COPYPOOL(PAYROLL) ALLOWPPRCP(PMNO)", 0, "FPL150I"),
    ("FRRECOV COPYPOOL(PAYROLL) ALLOWPPRCP(PMPREF)", 0, "FPL150I"),
    ("FRRECOV COPYPOOL(PAYROLL) ALLOWPPRCP(PMREQ)", 0, "FPL150I"),
    ("FRRECOV COPYPOOL(PAYROLL) ALLOWPPRCP(PRESERVEMIRRORNO)", 0, "FPL150I"),
    ("FRRECOV COPYPOOL(PAYROLL) ALLOWPPRCP(PRESERVEMIRRORPREFERRED)", 0, "FPL150I"),
    ("FRRECOV COPYPOOL(PAYROLL) ALLOWPPRCP(PRESERVEMIRRORREQUIRED)", 0, "FPL150I"),
    ("FRRECOV COPYPOOL(PAYROLL) WAIT", 0, "FPL150I"),
    ("FRRECOV COPYPOOL(PAYROLL) NOWAIT", 0, "FPL150I"),
    ("FRRECOV COPYPOOL(NOSUCH)", 22, "ARC1806E"),
    ("FRRECOV DSNAME(PAY.MASTER.FILE) REPLACE", 0, ""),
    ("FRRECOV DSNAME(PAY.MASTER.FILE)", 8, "ARC1866I"),
    ("FRRECOV DSN(PAY.*) REPLACE", 8, "ARC1866I"),
    ("FRRECOV DSNAME(PAY.**) REPLACE", 0, ""),
    ("FRRECOV DSNAME(PAY.MASTER.FILE,PAY.HISTORY.G0001V00) REPLACE", 0, ""),
    ("FRRECOV DSNAME(PAY.MASTER.FILE) REPLACE FROMCOPYPOOL(PAYROLL)", 0, ""),
    ("FRRECOV DSNAME(PAY.MASTER.FILE) REPLACE FROMDUMP", 0, ""),
    ("FRRECOV DSNAME(PAY.MASTER.FILE) REPLACE FROMDUMP(DUMPCLASS(OFFSITE))", 0, ""),
    ("FRRECOV DSNAME(PAY.MASTER.FILE) REPLACE FASTREPLICATION(REQUIRED)", 0, ""),
    ("FRRECOV DSNAME(PAY.MASTER.FILE) REPLACE FR(NONE)", 0, ""),
    ("FRRECOV DSNAME(PAY.MASTER.FILE) REPLACE FASTREPLICATION(PREFERRED)", 0, ""),
    ("FRRECOV DSNAME(NO.SUCH.*) NOCOPYPOOLBACKUP(RC4)", 4, "ARC1866I"),
    ("FRRECOV DSNAME(NO.SUCH.*) NOCOPYPOOLBACKUP(RC8)", 8, "ARC1866I"),
    ("FRRECOV DSNAME(PAY.MASTER.FILE) NEWNAME(PAY.MASTER.RESTORED)", 0, ""),
    ("FRRECOV DSNAME(PAY.MASTER.FILE) NEWNAME(PAY.MASTER.RESTORED) FROMDUMP", 0, ""),
    ("FRRECOV DSNAME(PAY.MASTER.FILE) NEWNAME(PAY.HISTORY.G0001V00)", 8, "ARC1866I"),
    ("FRRECOV DSNAME(PAY.MASTER.FILE) NEWNAME(PAY.HISTORY.G0001V00) REPLACE", 0, ""),
    ("FRRECOV DSNAME(**) REPLACE", 12, "IKJ56702I"),
    ("FRRECOV DSNAME(**.DS01) REPLACE", 12, "IKJ56702I"),
    ("FRRECOV DSNAME(*.MASTER.FILE) REPLACE", 12, "IKJ56702I"),
    ("FRRECOV DSNAME(%AY.MASTER.FILE) REPLACE", 12, "IKJ56702I"),
    ("FRRECOV DSNAME(PAY.MA**.FILE) REPLACE", 12, "IKJ56702I"),
    ("FRRECOV DSNAME(PAY.*) NEWNAME(PAY.NEW)", 12, "IKJ56702I"),
    ("FRDELETE COPYPOOL(PAYROLL) VERSIONS(1)", 0, ""),
    ("FRDEL CP(PAYROLL) VERS(1) DASDONLY", 0, ""),
    ("FRDELETE COPYPOOL(PAYROLL) VERSIONS(1) DUMPONLY", 0, ""),
    ("FRDELETE COPYPOOL(PAYROLL) VERSIONS(1) DUMPONLY(DUMPCLASS(OFFSITE))", 0, ""),
    ("FRDELETE COPYPOOL(PAYROLL) VERSIONS(1) BOTH", 0, ""),
    ("FRDELETE COPYPOOL(PAYROLL) TOKEN(MONTHEND)", 0, ""),
    ("FRDELETE COPYPOOL(PAYROLL) ALL", 0, ""),
    ("FRDELETE COPYPOOL(PAYROLL) VERSIONS(9)", 2, "ARC1806E"),
    ("LIST COPYPOOL", 0, ""),
    ("LIST COPYPOOL(PAYROLL)", 0, ""),
    ("LIST CP(PAYROLL) ALLVOLS(ALLVERS)", 0, ""),
    ("LIST COPYPOOL(PAYROLL) ALLVOLS(GENERATION(0))", 0, ""),
    ("LIST COPYPOOL(PAYROLL) ALLVOLS(TOKEN(MONTHEND))", 0, ""),
    ("LIST COPYPOOL(PAYROLL) FASTREPLICATIONVOLS", 0, ""),
    ("LIST COPYPOOL(PAYROLL) FRVOLS", 0, ""),
    ("LIST COPYPOOL(PAYROLL) DUMPVOLS", 0, ""),
    ("LIST COPYPOOL(PAYROLL) NOVOLS", 0, ""),
    ("LIST COPYPOOL(DSN$DB0A$DB) DATASETS", 0, ""),
    ("LIST COPYPOOL SELECT(DUMPSTATE(ALLCOMPLETE))", 0, ""),
    ("LIST PVOL(PAY001)", 0, ""),
    ("LIST COPYPOOLBACKUPSTORAGEGROUP(PAYBK)", 0, ""),
    ("LIST CPBSG(PAYBK)", 0, ""),
    ("LIST DUMPVOLUME(T00001)", 0, ""),
    ("LIST DVOL(T00002)", 0, ""),
    ("LIST DUMPVOLUME", 0, ""),
    ("LIST DUMPVOLUME(T99999)", 44, "ARC1806E"),
    ("LIST DUMPCLASS(ONSITE)", 0, ""),
    ("LIST DUMPCLASS", 0, ""),
    ("LIST DUMPCLASS(NOSUCH)", 48, "ARC1806E"),
    ("LIST PRIMARYVOLUME(PAY001)", 0, ""),
    ("LIST PRIMARYVOLUME", 0, ""),
    ("LIST COPYPOOL(PAYROLL) OUTDATASET(MY.LISTING)", 0, ""),
    ("LIST COPYPOOL(PAYROLL) ODS(MY.LISTING)", 0, ""),
    ("LIST COPYPOOL(PAYROLL) SYSOUT(A)", 0, ""),
    ("LIST COPYPOOL(PAYROLL) TERMINAL", 0, ""),
    ("LIST COPYPOOL(PAYROLL) TERM", 0, ""),
    ("QUERY COPYPOOL(DSN$DB0A$DB)", 0, ""),
    ("Q CP(PAYROLL)", 0, ""),
    ("QUERY SETSYS", 0, ""),
    ("HOLD FRBACKUP", 0, ""),
    ("HOLD FRB", 0, ""),
    ("HOLD FRRECOV", 0, ""),
    ("HOLD FRRECOV(TAPE)", 0, ""),
    ("HOLD FRRECOV(DATASET)", 0, ""),
    ("HOLD DUMP", 0, ""),
    ("HOLD DUMP(AUTO)", 0, ""),
    ("HOLD DUMP(FRBACKUP)", 0, ""),
    ("HOLD ALL", 0, ""),
    ("RELEASE FRBACKUP", 0, ""),
    ("REL FRR", 0, ""),
    ("RELEASE FRRECOV(TAPE)", 0, ""),
    ("RELEASE FRRECOV(DATASET)", 0, ""),
    ("RELEASE DUMP", 0, ""),
    ("RELEASE DUMP(AUTO)", 0, ""),
    ("RELEASE DUMP(FRBACKUP)", 0, ""),
    ("RELEASE ALL", 0, ""),
    ("SETSYS FASTREPLICATION(DATASETRECOVERY(PREFERRED))", 0, ""),
    ("SETSYS FR(DSR(REQUIRED))", 0, ""),
    ("SETSYS FASTREPLICATION(DATASETRECOVERY(NONE))", 0, ""),
    ("SETSYS FASTREPLICATION(VOLUMEPAIRMESSAGES(YES))", 0, ""),
    ("SETSYS FR(VPM(NO))", 0, ""),
    ("SETSYS FASTREPLICATION(FCRELATION(FULL))", 0, ""),
    ("SETSYS FASTREPLICATION(FCRELATION(EXTENT))", 4, "FPL160W"),
    ("SETSYS MAXCOPYPOOLTASKS(FRBACKUP(10) FRRECOV(5) DSS(12))", 0, ""),
    ("SETSYS MAXCOPYPOOLTASKS(FRB(4))", 0, ""),
    ("SETSYS MAXCOPYPOOLTASKS(FRBACKUP(65))", 12, "IKJ56702I"),
    ("SETSYS AUTODUMPSTART(0100 0300 0500)", 0, ""),
    ("SETSYS AUTODUMPSTART(2500)", 12, "IKJ56702I"),
    ("DEFINE DUMPCYCLE(NNNYNNN CYCLESTARTDATE(2026/11/01))", 0, ""),
    ("DEFINE DUMPCYCLE(YYYYYYY)", 0, ""),
    ("DEFINE DUMPCYCLE(NNXNNNN)", 12, "IKJ56702I"),
    ("DEFINE DUMPCLASS(WEEKLY FREQUENCY(7) RETENTIONPERIOD(30))", 0, ""),
    ("DEFINE DUMPCLASS(ONSITE RETPD(NOLIMIT))", 0, ""),
    ("DEFINE DUMPCLASS(VAULT FRDUMP(REQUIRED) FASTREPLICATIONRECOVER(AVAILABLEFORMOUNT(NO)))", 0, ""),
    ("DEFINE DUMPCLASS(VAULT STACK(10) DAY(3))", 0, ""),
    ("DEFINE DUMPCLASS(VAULT FREQUENCY(1000))", 12, "IKJ56702I"),
    ("AUDIT COPYPOOLCONTROLS", 0, ""),
    ("AUDIT COPYPOOLCONTROLS(PAYROLL)", 0, ""),
    ("AUDIT CPCTL(PAYROLL) FIX", 0, ""),
    ("AUDIT COPYPOOLCONTROLS NOFIX", 0, ""),
    ("AUDIT COPYPOOLCONTROLS(PAYROLL) ODS(AUDIT.REPORT)", 0, ""),
    ("AUDIT COPYPOOLCONTROLS(NOSUCH)", 22, "ARC1806E"),
]
DECIDING = ("ARC1806E", "ARC1866I", "IKJ56701I", "IKJ56702I", "IKJ56712I", "ARC0101I", "FPL160W", "FPL150I", "ARC1803E")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("ibm-forms") / "demo"

    async def build() -> None:
        site = Site.create(path, demo_definition(), clock=_clock(T0))
        await seed_demo(site)
        await site.close()

    asyncio.run(build())
    return path


async def _run(path, text: str):
    site = Site.open(path, clock=_clock(T0 + 3600))
    try:
        return await site.hsm.execute(text)
    finally:
        await site.close()
        shutil.rmtree(path)  # 170 copies of the demo would fill a disk


@pytest.mark.parametrize(("command", "rc", "deciding"), FORMS, ids=[f[0] for f in FORMS])
def test_ibm_form(template, tmp_path, command: str, rc: int, deciding: str) -> None:
    text = command.replace("{date}", dt.datetime.fromtimestamp(T0).strftime("%Y/%m/%d"))
    res = asyncio.run(_run(copy_site(template, tmp_path / "site"), text))
    ids = [m.id for m in res.messages]
    assert res.rc == rc, res.lines()
    assert next((i for i in ids if i in DECIDING), "") == deciding, res.lines()
    if rc == 0 and command.startswith(("FRBACKUP", "FRB ", "FRRECOV", "FRR ", "HSEND")):
        assert "ARC1802I" in ids, res.lines()  # the function completed, as DFSMShsm says it


def test_list_prints_ibms_header_date_and_tokens(template, tmp_path) -> None:
    res = asyncio.run(_run(copy_site(template, tmp_path / "site"), "LIST COPYPOOL(PAYROLL)"))
    assert re.fullmatch(
        r"-- DFSMShsm CONTROL DATASET --COPY POOL--LISTING --- AT \d\d:\d\d:\d\d ON \d\d/\d\d/\d\d FOR SYSTEM=FLASHPOOL",
        res.listing[0],
    ), res.listing[0]
    assert "TOKEN(C)=C'MONTHEND' TOKEN(H)=X'4D4F4E5448454E44'" in res.listing


def test_every_documented_verb_and_refusal_kind_is_in_the_table() -> None:
    verbs = {re.sub(r"^HSEND ", "", c).split()[0] for c, _, _ in FORMS}
    assert {"FRBACKUP", "FRRECOV", "FRDELETE", "LIST", "QUERY", "HOLD", "RELEASE", "SETSYS", "DEFINE", "AUDIT"} <= verbs
    assert {d for _, _, d in FORMS} >= {"", "ARC1806E", "ARC1866I", "IKJ56701I", "IKJ56702I", "FPL150I", "FPL160W"}
    print(f"{len(FORMS)} documented forms")
