"""A typed request's canonical text reads back to the same request: over every command form the
parser tests and IBM's documented forms accept, and over generated requests of each kind the
console builds (FRBACKUP, FRRECOV, FRDELETE, HOLD / RELEASE, QUERY)."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

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
    Query,
    Request,
    ReturnControl,
    Selection,
    command_verbs,
    parse_command,
)
from engine.command.requests import HOLD_QUALIFIERS
from engine.command.text import command_text

HERE = Path(__file__).parent


def _corpus() -> list[str]:
    """Every string literal in the parser's tests that reads as a command."""
    verbs = (*command_verbs(), "FRB", "FRR", "FRD")
    out: set[str] = set()
    for name in ("test_parser.py", "test_ibm_forms.py"):
        for node in ast.walk(ast.parse((HERE / name).read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(verbs):
                text = node.value.replace("{date}", "2026/12/01")
                try:
                    parse_command(text)
                except CommandSyntaxError:
                    continue
                out.add(text)
    return sorted(out)


CORPUS = _corpus()


def test_the_corpus_covers_every_verb() -> None:
    """The round trip below would prove little if most commands were refused or missing."""
    assert len(CORPUS) > 150
    assert {type(parse_command(t)).__name__ for t in CORPUS} == {
        "FrBackup",
        "FrRecov",
        "FrDelete",
        "ListCopyPool",
        "Query",
        "Hold",
        "Setsys",
        "Define",
        "AuditCopyPools",
    }


def test_every_accepted_form_reads_back_from_its_canonical_text() -> None:
    for text in CORPUS:
        request = parse_command(text)
        canonical = command_text(request)
        assert parse_command(canonical) == request, (text, canonical)
        assert command_text(parse_command(canonical)) == canonical, text  # canonical is a fixed point


# -- generated requests ---------------------------------------------------------------------------

NAME = st.from_regex(r"[A-Z$#@][A-Z0-9$#@]{0,7}", fullmatch=True)
POOL = st.from_regex(r"[A-Z$#@][A-Z0-9$#@]{0,22}", fullmatch=True)
VOLSER = st.from_regex(r"[A-Z0-9$#@]{1,6}", fullmatch=True).filter(lambda v: v not in ("SCRTCH", "PRIVAT", "MIGRAT"))
TOKEN = st.one_of(
    st.binary(min_size=1, max_size=40),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=40).map(str.encode),
)
SELECTION = st.one_of(
    st.just(Selection()),
    st.builds(Selection, version=st.integers(1, 999)),
    st.builds(Selection, generation=st.integers(0, 84)),
    st.builds(Selection, date=st.dates(dt.date(1990, 1, 1), dt.date(2099, 12, 31))),
    st.builds(Selection, token=TOKEN),
)
QUALIFIER = st.from_regex(r"[A-Z$#@][A-Z0-9$#@-]{0,7}", fullmatch=True)
DSNAME = (
    st.tuples(st.lists(QUALIFIER, min_size=1, max_size=4), st.booleans())
    .map(lambda q: ".".join(q[0] + (["**"] if q[1] else [])))
    .filter(lambda n: len(n) <= 44)
)
WAIT = st.sampled_from([None, True, False])


@st.composite
def frbackups(draw: st.DrawFn) -> FrBackup:
    action = draw(st.sampled_from(Action))
    execute = action is Action.EXECUTE
    dump = execute and draw(st.booleans())
    incremental = draw(st.sampled_from([None, *Incremental])) if execute else None
    return FrBackup(
        copypool=draw(POOL),
        action=action,
        dump=dump,
        return_control=draw(st.sampled_from(ReturnControl)) if dump else ReturnControl.DUMPEND,
        incremental=incremental,
        incremental_all=incremental is not None and draw(st.booleans()),
        backup_group=draw(st.one_of(st.none(), st.just(""), NAME))
        if action in (Action.EXECUTE, Action.PREPARE)
        else None,
        token=draw(st.one_of(st.none(), TOKEN)) if execute else None,
        novtocenq=execute and draw(st.booleans()),
        force=execute and draw(st.booleans()),
        dump_classes=tuple(draw(st.lists(NAME, max_size=5, unique=True))) if dump or action is Action.DUMPONLY else (),
        selection=draw(SELECTION) if action is Action.DUMPONLY else Selection(),
        wait=draw(WAIT),
    )


@st.composite
def frrecovs(draw: st.DrawFn) -> FrRecov:
    level = draw(st.sampled_from(["COPYPOOL", "VOLUME", "DATASET"]))
    dsnames: tuple[str, ...] = tuple(draw(st.lists(DSNAME, min_size=1, max_size=3))) if level == "DATASET" else ()
    newname = None
    if level == "DATASET" and len(dsnames) == 1 and "*" not in dsnames[0]:
        newname = draw(st.one_of(st.none(), DSNAME.filter(lambda n: "*" not in n and n != dsnames[0])))
    source = draw(st.sampled_from(["", "DASD", "DUMP", "CLASS", "VOLUME"]))
    from_dump = {
        "DUMP": st.just(FromDump()),
        "CLASS": st.builds(FromDump, dump_class=NAME),
        "VOLUME": st.builds(FromDump, dump_volume=VOLSER),
    }.get(source, st.none())
    return FrRecov(
        copypool=draw(POOL) if level == "COPYPOOL" else None,
        volume=draw(VOLSER) if level == "VOLUME" else None,
        dsnames=dsnames,
        newname=newname,
        from_copypool=draw(st.one_of(st.none(), POOL)) if level != "COPYPOOL" else None,
        verify=draw(st.booleans()) if level == "COPYPOOL" else True,
        from_dasd=source == "DASD",
        from_dump=draw(from_dump),
        selection=draw(SELECTION),
        replace=level == "DATASET" and draw(st.booleans()),
        fast_replication=draw(st.sampled_from([None, "PREFERRED", "REQUIRED", "NONE"])) if level == "DATASET" else None,
        nocopypoolbackup=draw(st.sampled_from(["RC4", "RC8"])) if level == "DATASET" else "RC8",
        allow_pprcp=draw(st.sampled_from([None, "NO", "YES", "PMNO", "PMPREF", "PMREQ"]))
        if level == "COPYPOOL"
        else None,
        apply_incremental=level == "VOLUME" and draw(st.booleans()),
        wait=draw(WAIT),
    )


@st.composite
def frdeletes(draw: st.DrawFn) -> FrDelete:
    which = draw(st.sampled_from(["ALL", "VERSIONS", "TOKEN"]))
    scope = draw(st.sampled_from(["DASDONLY", "DUMPONLY", "BOTH"]))
    return FrDelete(
        copypool=draw(POOL),
        all=which == "ALL",
        versions=tuple(draw(st.lists(st.integers(1, 999), min_size=1, max_size=5, unique=True)))
        if which == "VERSIONS"
        else (),
        token=draw(TOKEN) if which == "TOKEN" else None,
        scope=scope,
        dump_classes=tuple(draw(st.lists(NAME, max_size=5, unique=True))) if scope == "DUMPONLY" else (),
    )


@st.composite
def holds(draw: st.DrawFn) -> Hold:
    functions = draw(st.lists(st.sampled_from(sorted(HOLD_QUALIFIERS)), min_size=1, max_size=4, unique=True))
    return Hold(
        tuple((f, draw(st.sampled_from([None, *HOLD_QUALIFIERS[f]]))) for f in functions),
        release=draw(st.booleans()),
    )


REQUESTS = st.one_of(
    frbackups(),
    frrecovs(),
    frdeletes(),
    holds(),
    st.builds(Query, copypool=POOL),
    st.just(Query(setsys=True)),
)


@settings(max_examples=400, deadline=None)
@given(REQUESTS)
def test_a_built_request_reads_back_from_its_canonical_text(request: Request) -> None:
    text = command_text(request)
    assert parse_command(text) == request, text
