"""The HSM command parser: every form docs/DOMAIN.md lists, abbreviations, and clear errors."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.command import (
    Action,
    CommandSyntaxError,
    FrBackup,
    FrDelete,
    FromDump,
    FrRecov,
    Hold,
    Incremental,
    ListCopyPool,
    Query,
    ReturnControl,
    Selection,
    parse_command,
)


def test_frbackup_forms():
    assert parse_command("FRBACKUP COPYPOOL(DB2PROD)") == FrBackup("DB2PROD")
    r = parse_command(
        "frbackup cp(dsn$db0a$db) execute dump returncontrol(frend) dumpclass(onsite offsite) token('Nightly run') novtocenq force nowait"
    )
    assert r == FrBackup(
        "DSN$DB0A$DB",
        Action.EXECUTE,
        dump=True,
        return_control=ReturnControl.FASTREPLICATIONEND,
        token=b"Nightly run",
        novtocenq=True,
        force=True,
        dump_classes=("ONSITE", "OFFSITE"),
        wait=False,
    )
    assert parse_command("FRB CP(P1) FCINCREMENTAL(ALL)").incremental_all
    assert parse_command("FRB CP(P1) FCINCREMENTALLAST").incremental is Incremental.FCINCREMENTALLAST
    assert parse_command("FRB CP(P1) PREPARE BSG(CPB2)") == FrBackup("P1", Action.PREPARE, backup_group="CPB2")
    assert parse_command("FRB CP(P1) BSG()").backup_group == ""
    assert parse_command("FRB CP(P1) WITHDRAW").action is Action.WITHDRAW
    r = parse_command("FRBACKUP COPYPOOL(P1) DUMPONLY VERSION(12) DUMPCLASS(ONSITE)")
    assert (r.action, r.selection, r.dump_classes) == (Action.DUMPONLY, Selection(version=12), ("ONSITE",))
    assert parse_command("FRB CP(P1) TOKEN(X'C1C2C3')").token == b"\xc1\xc2\xc3"
    assert parse_command("HSEND FRB CP(P1)") == FrBackup("P1")


def test_frrecov_forms():
    assert parse_command("FRRECOV COPYPOOL(DSN$DB0A$DB) VERIFY(Y)") == FrRecov(copypool="DSN$DB0A$DB")
    r = parse_command("FRRECOV CP(P1) GENERATION(1) VERIFY(NO) FROMDASD")
    assert (r.selection, r.verify, r.from_dasd, r.level) == (Selection(generation=1), False, True, "COPYPOOL")
    assert parse_command("FRR CP(P1) DATE(2025/3/14)").selection == Selection(date=dt.date(2025, 3, 14))
    r = parse_command("FRRECOV TOVOLUME(DB0A03) FROMCOPYPOOL(P1) FROMDUMP(DUMPCLASS(ONSITE)) GENERATION(0)")
    assert (r.volume, r.from_copypool, r.from_dump) == ("DB0A03", "P1", FromDump(dump_class="ONSITE"))
    assert parse_command("FRR TOV(V1) FROMDUMP(DUMPVOLUME(T00417))").from_dump == FromDump(dump_volume="T00417")
    assert parse_command("FRR TOV(V1) FROMDUMP").from_dump == FromDump()
    r = parse_command("FRRECOV DSNAME(PAY.**, 'db0a.dsndbc.payroll.*') REPLACE FASTREPLICATION(REQUIRED)")
    assert (r.dsnames, r.replace, r.fast_replication) == (("PAY.**", "DB0A.DSNDBC.PAYROLL.*"), True, "REQUIRED")


def test_other_commands():
    assert parse_command("FRDELETE COPYPOOL(P1) VERSIONS(9,10)") == FrDelete("P1", versions=(9, 10))
    r = parse_command("FRDELETE CP(P1) TOKEN(T) DUMPONLY(DUMPCLASS(OFFSITE))")
    assert (r.token, r.scope, r.dump_classes) == (b"T", "DUMPONLY", ("OFFSITE",))
    assert parse_command("FRDEL CP(P1) ALL BOTH") == FrDelete("P1", all=True, scope="BOTH")
    assert parse_command("LIST COPYPOOL") == ListCopyPool()
    r = parse_command("LIST COPYPOOL(P1) ALLVOLS(GENERATION(2)) SELECT(DUMPSTATE(PARTIAL))")
    assert (r.copypool, r.selection, r.select) == ("P1", Selection(generation=2), ("DUMPSTATE", "PARTIAL"))
    assert parse_command("LIST CP(P1) ALLVOLS(ALLVERS)").all_versions
    assert parse_command("LIST CP(P1) FRVOLS").volumes == "FASTREPLICATIONVOLS"
    assert parse_command("LIST PVOL(DB0A01)") == ListCopyPool(pvol="DB0A01")
    assert parse_command("LIST CP SELECT(INCOMPLETERECOVERY)").select == ("INCOMPLETERECOVERY", "")
    assert parse_command("QUERY COPYPOOL(P1)") == Query(copypool="P1")
    assert parse_command("Q SETSYS") == Query(setsys=True)
    assert parse_command("HOLD FRRECOV(TAPE)") == Hold((("FRRECOV", "TAPE"),))
    assert parse_command("RELEASE FRBACKUP FRRECOV") == Hold((("FRBACKUP", None), ("FRRECOV", None)), release=True)


def test_continuations_comments_separators_and_prefixes():
    text = "FRBACKUP COPYPOOL(P1) -  /* tonight */\n   EXECUTE +\n   TOKEN(A)"
    assert parse_command(text) == FrBackup("P1", token=b"A")
    assert parse_command("FRB CP( P1 ) DCLASS(A,B C) DUMP").dump_classes == ("A", "B", "C")
    assert parse_command("frback cp(p1) prep").action is Action.PREPARE  # unique prefixes
    assert parse_command("FRB CP(P1) TOKEN('it''s')").token == b"it's"


@pytest.mark.parametrize(
    "text, message, column",
    [
        ("", "no command given", 1),
        ("FRBAKUP CP(P1)", "FRBAKUP is not an HSM command", 1),
        ("FRBACKUP", "FRBACKUP needs COPYPOOL", 9),
        ("FRBACKUP COPYPOOL(P1) EXECUTE PREPARE", "EXECUTE and PREPARE are mutually exclusive", 31),
        ("FRBACKUP COPYPOOL(P1) EXECUTE FOO", "INVALID KEYWORD, FOO", 31),
        ("FRBACKUP COPYPOOL(9P) ", "'9P' is not a valid copy pool name", 19),
        ("FRBACKUP COPYPOOL(P1", "parenthesis after COPYPOOL is never closed", 18),
        ("FRBACKUP COPYPOOL(P1) TOKEN('abc", "quoted value in TOKEN is never closed", 29),
        ("FRBACKUP COPYPOOL(P1) TOKEN(X'ABC')", "not an even number of hexadecimal digits", 29),
        ("FRBACKUP COPYPOOL(P1) TOKEN(X'ZZ')", "holds 'Z', which are not hexadecimal digits", 29),
        ("FRBACKUP COPYPOOL(P1) -", "ends with a continuation (- or +) but no line follows", 23),
        ("LIST COPYPOOL(X'C1C2')", "X'C1C2' in COPYPOOL: only TOKEN takes a hexadecimal value", 15),
        ("FRRECOV TOVOLUME(X'AB')", "X'AB' in TOVOLUME: only TOKEN", 18),
        ("FRRECOV CP(P1) VERSION(X'12')", "X'12' in VERSION: only TOKEN", 24),
        ("FRB CP(P1) DUMPONLY(VERSION(X'01'))", "X'01' in VERSION: only TOKEN", 29),
        ("FRBACKUP COPYPOOL(P1) COPYPOOL(P2)", "COPYPOOL is given twice", 23),
        ("FRBACKUP COPYPOOL(P1,P2)", "COPYPOOL takes one copy pool name, got 2", 22),
        ("FRBACKUP COPYPOOL(P1) PREPARE DUMP", "DUMP is not valid with PREPARE", 31),
        ("FRBACKUP COPYPOOL(P1) RETURNCONTROL(FREND)", "RETURNCONTROL is not valid without DUMP", 23),
        ("FRBACKUP COPYPOOL(P1) FCINC(SOME)", "must be one of ALL", 29),
        ("FRBACKUP COPYPOOL(P1) VERSION(1)", "VERSION is not valid without DUMPONLY", 23),
        ("FRRECOV CP(P1) VERSION(1000)", "VERSION(1000) must be a number from 1 to 999", 24),
        ("FRRECOV CP(P1) GEN(1) VERSION(3)", "GENERATION and VERSION are mutually exclusive", 23),
        ("FRRECOV CP(P1) DATE(2025/13/01)", "not a date in the form yyyy/mm/dd", 21),
        ("FRRECOV TOVOLUME(TOOLONG1)", "invalid volser", 18),
        ("FRRECOV CP(P1) REPLACE", "REPLACE is not valid for a copy pool", 16),
        ("FRRECOV DSN(A.BADQUALIFIER9)", "is not a data set name", 13),
        ("FRRECOV", "FRRECOV needs COPYPOOL", 8),
        ("FRDELETE CP(P1)", "FRDELETE needs ALL, VERSIONS", 16),
        ("FRDELETE CP(P1) VERSIONS(1,2,1)", "VERSIONS names 001 more than once", 30),
        ("FRB CP(P1) DUMP DUMPCLASS(ONSITE,ONSITE)", "DUMPCLASS names ONSITE more than once", 34),
        ("FRB CP(P1) DUMP DCLASS(A,B,a)", "DUMPCLASS names A more than once", 28),
        ("FRB CP(P1) DUMPONLY DUMPCLASS(A B A)", "DUMPCLASS names A more than once", 35),
        ("FRDELETE CP(P1) ALL DUMPONLY(DUMPCLASS(X,X))", "DUMPCLASS names X more than once", 42),
        ("LIST CP(P1) SELECT(COLOUR(RED))", "SELECT takes DUMPSTATE", 20),
        ("HOLD FRBACKUP(X)", "FRBACKUP takes no value", 6),
        ("FRB CP(P1) FCI", "ambiguous", 12),
        ("FRB CP(P1) )", "closing parenthesis without an opening one", 12),
    ],
)
def test_every_error_names_the_problem_and_the_column(text, message, column):
    with pytest.raises(CommandSyntaxError) as info:
        parse_command(text)
    assert message in info.value.text
    assert info.value.position == column
    assert info.value.message_id.startswith("IKJ567")


KEYWORDS = [
    "COPYPOOL(P1)",
    "CP(X)",
    "EXECUTE",
    "DUMP",
    "TOKEN('a b')",
    "VERSION(3)",
    "GEN(0)",
    "FROMDUMP(DUMPCLASS(C))",
    "DSNAME(A.B.*)",
    "TOVOLUME(V1)",
    "SELECT(DUMPSTATE(NONE))",
    "ALLVOLS(ALLVERS)",
    "X'C1'",
    "(",
    ")",
    "'",
    ",",
    "-",
    "/*",
    "*/",
    "FCINCREMENTAL(ALL)",
]
VERBS = ["FRBACKUP", "FRRECOV", "FRDELETE", "LIST", "QUERY", "HOLD", "RELEASE", "HSEND", "FRB", "Q"]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(VERBS + KEYWORDS), max_size=8), st.text(max_size=30))
def test_fuzz_never_crashes(parts, junk):
    text = " ".join(parts) + junk
    try:
        parse_command(text)
    except CommandSyntaxError as exc:
        assert exc.position >= 1 and exc.text


def test_mutated_valid_commands_never_crash():
    rng = random.Random(5)
    valid = [
        "FRBACKUP COPYPOOL(DSN$DB0A$DB) EXECUTE DUMP RETURNCONTROL(FREND) DUMPCLASS(ONSITE,OFFSITE)",
        "FRRECOV TOVOLUME(DB0A03) FROMCOPYPOOL(CP1) FROMDUMP(DUMPVOLUME(T00417)) GENERATION(0)",
        "LIST COPYPOOL(CP1) ALLVOLS(TOKEN(X'C1C2')) SELECT(FASTREPLICATIONSTATE(FAILED))",
        "FRDELETE COPYPOOL(CP1) TOKEN('T 1') DUMPONLY(DUMPCLASS(OFFSITE))",
    ]
    alphabet = string.ascii_letters + string.digits + "()',/*-+ $#@.X\n\t"
    for _ in range(5000):
        s = list(rng.choice(valid))
        for _ in range(rng.randint(1, 4)):
            op = rng.random()
            i = rng.randrange(len(s) + 1)
            if op < 0.4 and s:
                s.pop(min(i, len(s) - 1))
            elif op < 0.8:
                s.insert(i, rng.choice(alphabet))
            elif s:
                s[min(i, len(s) - 1)] = rng.choice(alphabet)
        with contextlib.suppress(CommandSyntaxError):
            parse_command("".join(s))


#: Command forms from the examples in IBM's DFSMShsm Storage Administration reference (FRRECOV's
#: example section verbatim; FRBACKUP, FRDELETE, LIST and QUERY as their syntax sections show them).
DOCUMENTED = [
    "FRRECOV TOVOLUME(SRC001) FROMDUMP DUMPCLASS(DCL1) GENERATION(0)",
    "FRRECOV TOVOLUME(SRC002) FROMCOPYPOOL(CPDATABASE1) FROMDUMP(DUMPVOLUME(TDUMP1))",
    "FRRECOV DSNAME(USER1.**,USER2.**,USER3.**) REPLACE",
    "FRRECOV COPYPOOL(CPDATABASE1) VERIFY(Y)",
    "FRRECOV COPYPOOL(CPDATABASE1) DATE(2002/1/15)",
    "FRRECOV COPYPOOL(CPDATABASE1) TOKEN('TUESDAY')",
    "FRRECOV TOVOLUME(SRC001) FROMCOPYPOOL(CPDATABASE1) VERSION(3)",
    "FRBACKUP COPYPOOL(CPDATABASE1) EXECUTE",
    "FRBACKUP COPYPOOL(CPDATABASE1) PREPARE",
    "FRBACKUP COPYPOOL(CPDATABASE1) WITHDRAW",
    "FRBACKUP COPYPOOL(CPDATABASE1) EXECUTE TOKEN('TUESDAY') DUMP RETURNCONTROL(FREND)",
    "FRBACKUP COPYPOOL(CPDATABASE1) DUMPONLY GENERATION(1) DUMPCLASS(DCL1,DCL2)",
    "FRBACKUP COPYPOOL(CPDATABASE1) EXECUTE FCINCREMENTAL",
    "FRBACKUP COPYPOOL(CPDATABASE1) EXECUTE FCINCREMENTALLAST",
    "FRDELETE COPYPOOL(CPDATABASE1) VERSIONS(2,3) BOTH",
    "FRDELETE COPYPOOL(CPDATABASE1) TOKEN('TUESDAY')",
    "FRDELETE COPYPOOL(CPDATABASE1) ALL DUMPONLY(DUMPCLASS(DCL1))",
    "LIST COPYPOOL(CPDATABASE1) ALLVOLS(ALLVERS)",
    "LIST COPYPOOL(CPDATABASE1) DUMPVOLS",
    "LIST COPYPOOLBACKUPSTORAGEGROUP(CPBSG1)",
    "QUERY COPYPOOL(CPDATABASE1)",
]


@pytest.mark.parametrize("text", DOCUMENTED)
def test_every_documented_example_is_accepted_as_written(text):
    req = parse_command(text)
    assert req is not None


def test_dump_class_beside_fromdump_means_the_same_as_inside_it():
    a = parse_command("FRRECOV TOVOLUME(SRC001) FROMDUMP DUMPCLASS(DCL1) GENERATION(0)")
    b = parse_command("FRRECOV TOVOLUME(SRC001) FROMDUMP(DUMPCLASS(DCL1)) GENERATION(0)")
    assert a == b
    for bad, message in [
        ("FRRECOV TOVOLUME(SRC001) DUMPCLASS(DCL1)", "only with FROMDUMP"),
        ("FRRECOV TOV(SRC001) FROMDUMP(DUMPCLASS(A)) DUMPVOLUME(T00001)", "mutually exclusive"),
    ]:
        with pytest.raises(CommandSyntaxError, match=message):
            parse_command(bad)
