"""The one HSM command parser: text -> typed request, shared by the console and the CLI.

Keywords are matched exactly, by their documented abbreviation, or by a unique leading
abbreviation of at least three letters (as TSO does). Every mistake becomes a
CommandSyntaxError naming the keyword and its column, never a traceback.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from engine.command import values as val
from engine.command.admin import DEFINE_KEYWORDS, SETSYS_KEYWORDS, define, setsys
from engine.command.requests import (
    HOLD_QUALIFIERS,
    Action,
    AuditCopyPools,
    FrBackup,
    FrDelete,
    FromDump,
    FrRecov,
    Hold,
    Incremental,
    ListCopyPool,
    Query,
    Request,
    ReturnControl,
    Selection,
)
from engine.command.syntax import Command, CommandSyntaxError, Param, Value, parse

_DSN_PATTERN = re.compile(r"[A-Z0-9$#@*%-]{1,8}")

# verb -> (abbreviations, {canonical keyword: abbreviations})
_SELECT = {"VERSION": ("VER", "V"), "GENERATION": ("GEN", "G"), "DATE": (), "TOKEN": ("TK",)}
KEYWORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "FRBACKUP": {
        "COPYPOOL": ("CP",),
        "EXECUTE": ("EXEC",),
        "PREPARE": ("PREP",),
        "WITHDRAW": (),
        "DUMPONLY": (),
        "DUMP": (),
        "RETURNCONTROL": (),
        "FCINCREMENTAL": ("FCINC",),
        "FCINCREMENTALLAST": ("FCINCLAST",),
        "BACKUPSTORAGEGROUP": ("BSG",),
        "NOVTOCENQ": (),
        "FORCE": (),
        "DUMPCLASS": ("DCLASS",),
        "WAIT": (),
        "NOWAIT": (),
        **_SELECT,
    },
    "FRRECOV": {
        "COPYPOOL": ("CP",),
        "TOVOLUME": ("TOV",),
        "DSNAME": ("DSN",),
        "NEWNAME": (),
        "FROMCOPYPOOL": ("FCP",),
        "VERIFY": (),
        "FROMDASD": (),
        "FROMDUMP": (),
        "REPLACE": (),
        "FASTREPLICATION": ("FR",),
        "NOCOPYPOOLBACKUP": (),
        "ALLOWPPRCP": (),
        "APPLYINCREMENTAL": ("AINC",),
        "WAIT": (),
        "NOWAIT": (),
        "DUMPCLASS": ("DCLASS",),
        "DUMPVOLUME": ("DVOL",),
        **_SELECT,
    },
    "FRDELETE": {
        "COPYPOOL": ("CP",),
        "ALL": (),
        "VERSIONS": ("VERS",),
        "TOKEN": ("TK",),
        "DASDONLY": (),
        "DUMPONLY": (),
        "BOTH": (),
    },
    "LIST": {
        "COPYPOOL": ("CP",),
        "PVOL": (),
        "COPYPOOLBACKUPSTORAGEGROUP": ("CPBSG",),
        "ALLVOLS": (),
        "FASTREPLICATIONVOLS": ("FRVOLS",),
        "DUMPVOLS": (),
        "NOVOLS": (),
        "DATASETS": (),
        "SELECT": ("SEL",),
        "TERMINAL": ("TERM",),
        "DUMPVOLUME": ("DVOL",),
        "DUMPCLASS": ("DCLASS",),
        "PRIMARYVOLUME": ("PVOLUME",),
        "OUTDATASET": ("ODS",),
        "SYSOUT": (),
    },
    "QUERY": {"COPYPOOL": ("CP",), "SETSYS": ()},
    "SETSYS": SETSYS_KEYWORDS,
    "DEFINE": DEFINE_KEYWORDS,
    "AUDIT": {
        "COPYPOOLCONTROLS": ("CPCTL",),
        "FIX": (),
        "NOFIX": (),
        "OUTDATASET": ("ODS",),
        "SYSOUT": (),
        "TERMINAL": ("TERM",),
    },
    "HOLD": {"ALL": (), "FRBACKUP": ("FRB",), "FRRECOV": ("FRR",), "DUMP": ()},
    "RELEASE": {"ALL": (), "FRBACKUP": ("FRB",), "FRRECOV": ("FRR",), "DUMP": ()},
}
VERBS: dict[str, tuple[str, ...]] = {
    "FRBACKUP": ("FRB",),
    "FRRECOV": ("FRR",),
    "FRDELETE": ("FRDEL",),
    "LIST": ("L",),
    "QUERY": ("Q",),
    "HOLD": (),
    "RELEASE": ("REL",),
    "SETSYS": (),
    "DEFINE": ("DEF",),
    "AUDIT": (),
}
_PREFIXES = ("HSEND", "HSENDCMD")  # TSO users type the HSEND prefix; accepted and dropped


def command_verbs() -> list[str]:
    return list(VERBS)


def keywords_of(verb: str) -> list[str]:
    return list(KEYWORDS.get(verb, {}))


@functools.lru_cache(maxsize=1024)
def parse_command(text: str) -> Request:
    """Parse one HSM command into its typed request (raises CommandSyntaxError). Requests are
    immutable and parsing is pure, so a text is parsed once: clients polling send the same few."""
    cmd = parse(text)
    if cmd.verb in _PREFIXES:
        if not cmd.params:
            raise CommandSyntaxError("HSEND needs a command after it", cmd.position, "IKJ56701I")
        first = cmd.params.pop(0)
        if first.values is not None:
            raise CommandSyntaxError(f"{first.keyword} is not a command", first.position, "IKJ56712I")
        cmd.verb, cmd.position = first.keyword, first.position
    verb = val.resolve(cmd.verb, VERBS, cmd.position, what="command")
    cmd.verb = verb
    table = KEYWORDS[verb]
    seen: dict[str, Param] = {}
    for p in cmd.params:
        p.name = val.resolve(p.keyword, table, p.position, what=f"{verb} keyword", verb=verb)
        if p.name in seen:
            raise CommandSyntaxError(f"{p.name} is given twice", p.position, "IKJ56702I", p.name)
        seen[p.name] = p
        _hex_only_in_tokens(p, p.name)
    return _BUILDERS[verb](cmd, seen)


def _hex_only_in_tokens(p: Param, name: str) -> None:
    """X'C1C2' is a token's form only: a name, number or choice written so is refused, never read
    as its hexadecimal digits (COPYPOOL(X'C1C2') named the copy pool C1C2)."""
    for v in p.values or ():
        if isinstance(v, Param):
            _hex_only_in_tokens(v, v.keyword)
        elif v.hex and name not in ("TOKEN", *_SELECT["TOKEN"]):
            raise CommandSyntaxError(
                f"X'{v.text}' in {name}: only TOKEN takes a hexadecimal value", v.position, "IKJ56702I", name
            )


# -- builders -----------------------------------------------------------------------------------


def _frbackup(cmd: Command, kw: dict[str, Param]) -> FrBackup:
    cp = val.copypool(val.require(cmd, kw, "COPYPOOL"))
    which = val.exclusive(kw, "EXECUTE", "PREPARE", "WITHDRAW", "DUMPONLY")
    action = Action(which) if which else Action.EXECUTE
    if which and which != "DUMPONLY":
        val.flag(kw[which])
    execute = action is Action.EXECUTE
    val.only_with(
        kw, ("DUMP", "FCINCREMENTAL", "FCINCREMENTALLAST", "NOVTOCENQ", "FORCE"), execute, f"with {action.value}"
    )
    val.only_with(kw, ("BACKUPSTORAGEGROUP",), action in (Action.EXECUTE, Action.PREPARE), f"with {action.value}")
    val.only_with(kw, ("TOKEN",), action in (Action.EXECUTE, Action.DUMPONLY), f"with {action.value}")
    val.only_with(kw, ("VERSION", "GENERATION", "DATE"), action is Action.DUMPONLY, "without DUMPONLY")
    val.only_with(kw, ("RETURNCONTROL",), "DUMP" in kw, "without DUMP")
    val.only_with(kw, ("DUMPCLASS",), "DUMP" in kw or action is Action.DUMPONLY, "without DUMP or DUMPONLY")
    if "DUMP" in kw:
        val.flag(kw["DUMP"])
    for f in ("NOVTOCENQ", "FORCE"):
        if f in kw:
            val.flag(kw[f])
    rc = ReturnControl.DUMPEND
    if "RETURNCONTROL" in kw:
        word = val.choice(kw["RETURNCONTROL"], ("DUMPEND", "FASTREPLICATIONEND", "FREND"))
        rc = ReturnControl.DUMPEND if word == "DUMPEND" else ReturnControl.FASTREPLICATIONEND
    inc_kw = val.exclusive(kw, "FCINCREMENTAL", "FCINCREMENTALLAST")
    inc_all = False
    if inc_kw and kw[inc_kw].values is not None:
        val.choice(kw[inc_kw], ("ALL",))
        inc_all = True
    bsg: str | None = None
    if "BACKUPSTORAGEGROUP" in kw:
        p = kw["BACKUPSTORAGEGROUP"]
        bsg = "" if not p.values else val.named(p, val.SG_NAME, "storage group name", 8)
    sel = Selection()
    token = None
    if action is Action.DUMPONLY:
        sel = val.selection(kw)
        inner = kw["DUMPONLY"].values
        if inner:  # IBM's nested form: DUMPONLY(VERSION(n) | GENERATION(g) | DATE(d) | TOKEN(t))
            item = inner[0]
            if len(inner) != 1 or not isinstance(item, Param):
                raise CommandSyntaxError(
                    "DUMPONLY takes one of VERSION(n), GENERATION(g), DATE(d), TOKEN(t)",
                    kw["DUMPONLY"].position,
                    "IKJ56702I",
                    "DUMPONLY",
                )
            if sel != Selection():
                raise CommandSyntaxError(
                    "a version is selected both inside DUMPONLY(...) and beside it",
                    item.position,
                    "IKJ56702I",
                    "DUMPONLY",
                )
            sel = val.sub_selection(kw["DUMPONLY"], item)
    elif "TOKEN" in kw:
        token = val.token(kw["TOKEN"])
    return FrBackup(
        copypool=cp,
        action=action,
        dump="DUMP" in kw,
        return_control=rc,
        incremental=Incremental(inc_kw) if inc_kw else None,
        incremental_all=inc_all,
        backup_group=bsg,
        token=token,
        novtocenq="NOVTOCENQ" in kw,
        force="FORCE" in kw,
        dump_classes=val.classes(kw["DUMPCLASS"]) if "DUMPCLASS" in kw else (),
        selection=sel,
        wait=val.wait(kw),
    )


_PRESERVE_MIRROR = {
    "PRESERVEMIRRORNO": "PMNO",
    "PRESERVEMIRRORPREFERRED": "PMPREF",
    "PRESERVEMIRRORREQUIRED": "PMREQ",
}


def _pprcp(p: Param) -> str:
    """ALLOWPPRCP(NO | YES | PRESERVEMIRRORNO | PRESERVEMIRRORPREFERRED | PRESERVEMIRRORREQUIRED),
    the last three also as PMNO, PMPREF, PMREQ: kept by their short names."""
    word = val.choice(p, ("NO", "YES", "PMNO", "PMPREF", "PMREQ", *_PRESERVE_MIRROR))
    return _PRESERVE_MIRROR.get(word, word)


def _dsnames(p: Param) -> tuple[str, ...]:
    """Data set names or filters, with IBM's restrictions on wildcards: `**` stands for whole
    qualifiers only, never as the high-level qualifier or the only one, and a wildcard in the
    high-level qualifier is never its first character ("to prevent an unmanageable number of
    data sets from being processed"). Refused before anything is read."""
    vals = p.plain_values() if p.values is not None else []
    if not vals:
        raise CommandSyntaxError("DSNAME needs one or more data set names or filters", p.position, "IKJ56701I", p.name)
    names = []
    for v in vals:
        why = dsname_problem(v.text)
        if why:
            raise CommandSyntaxError(why, v.position, "IKJ56702I", p.name)
        names.append(v.text.upper())
    return tuple(names)


def dsname_problem(text: str) -> str | None:
    """Why `text` is not a data set name or filter as DSNAME takes one (and `dataset list`: one
    rule for both), None when it is."""
    name = text.upper()
    quals = name.split(".")
    if len(name) > 44 or not all(_DSN_PATTERN.fullmatch(q) for q in quals):
        return f"{text!r} is not a data set name or filter (qualifiers of 1-8 characters, 44 in all)"
    why = _wildcard_problem(quals)
    return f"{text!r}: {why}" if why else None


def _wildcard_problem(quals: list[str]) -> str | None:
    if any("**" in q and q != "**" for q in quals):
        return "a double wildcard (**) stands for whole qualifiers only"
    if quals[0] == "**":
        return (
            "a double wildcard cannot be the high-level qualifier or the only qualifier (IBM's restriction, "
            "against an unmanageable number of data sets)"
        )
    if quals[0][0] in "*%":
        return "a wildcard in the high-level qualifier cannot be its first character (e.g. PAY*.**, not *.**)"
    return None


def _newname(p: Param, dsnames: tuple[str, ...]) -> str:
    """NEWNAME(newdsn): one fully qualified name, for one fully qualified DSNAME."""
    (name,) = _dsnames(p) if p.values else ("",)
    if not name:
        raise CommandSyntaxError("NEWNAME needs a fully qualified data set name", p.position, "IKJ56701I", p.name)
    if any(c in name for c in "*%"):
        raise CommandSyntaxError(f"NEWNAME({name}) must be fully qualified", p.position, "IKJ56702I", p.name)
    if len(dsnames) != 1 or any(c in dsnames[0] for c in "*%"):
        raise CommandSyntaxError(
            "with NEWNAME, DSNAME must be one fully qualified data set name", p.position, "IKJ56702I", p.name
        )
    if name == dsnames[0]:
        raise CommandSyntaxError(
            f"NEWNAME({name}) names the data set itself: leave NEWNAME out (REPLACE overwrites it)",
            p.position,
            "IKJ56702I",
            p.name,
        )
    return name


def _frrecov(cmd: Command, kw: dict[str, Param]) -> FrRecov:
    level = val.exclusive(kw, "COPYPOOL", "TOVOLUME", "DSNAME")
    if level is None:
        raise CommandSyntaxError(
            "FRRECOV needs COPYPOOL(...), TOVOLUME(...) or DSNAME(...)",
            len(cmd.source.rstrip()) + 1,
            "IKJ56701I",
            "COPYPOOL",
        )
    where = {"COPYPOOL": "for a copy pool", "TOVOLUME": "for a volume", "DSNAME": "for data sets"}[level]
    val.only_with(kw, ("VERIFY", "ALLOWPPRCP"), level == "COPYPOOL", where)
    val.only_with(kw, ("FROMCOPYPOOL",), level != "COPYPOOL", where)
    val.only_with(kw, ("APPLYINCREMENTAL",), level == "TOVOLUME", where)
    val.only_with(kw, ("REPLACE", "FASTREPLICATION", "NOCOPYPOOLBACKUP", "NEWNAME"), level == "DSNAME", where)
    source = val.exclusive(kw, "FROMDASD", "FROMDUMP")
    from_dump = None
    if source == "FROMDASD":
        val.flag(kw["FROMDASD"])
    elif source == "FROMDUMP":
        p = kw["FROMDUMP"]
        from_dump = FromDump()
        for v in p.values or []:
            if not isinstance(v, Param) or v.keyword not in ("DUMPCLASS", "DCLASS", "DUMPVOLUME", "DVOL"):
                pos = v.position
                raise CommandSyntaxError(
                    "FROMDUMP takes DUMPCLASS(class) or DUMPVOLUME(volser)", pos, "IKJ56702I", "FROMDUMP"
                )
            if from_dump.dump_class or from_dump.dump_volume:
                raise CommandSyntaxError(
                    "DUMPCLASS and DUMPVOLUME are mutually exclusive", v.position, "IKJ56702I", "FROMDUMP"
                )
            v.name = "DUMPCLASS" if v.keyword in ("DUMPCLASS", "DCLASS") else "DUMPVOLUME"
            if v.name == "DUMPCLASS":
                from_dump = FromDump(dump_class=val.named(v, val.SG_NAME, "dump class name", 8))
            else:
                from_dump = FromDump(dump_volume=val.volser(v))
    # IBM's examples also write the dump class / volume beside FROMDUMP: FROMDUMP DUMPCLASS(DCL1)
    beside = [k for k in ("DUMPCLASS", "DUMPVOLUME") if k in kw]
    if beside:
        if source != "FROMDUMP":
            raise CommandSyntaxError(
                f"{beside[0]} is valid only with FROMDUMP", kw[beside[0]].position, "IKJ56712I", beside[0]
            )
        if len(beside) > 1 or from_dump.dump_class or from_dump.dump_volume:  # type: ignore[union-attr]
            raise CommandSyntaxError(
                "DUMPCLASS and DUMPVOLUME are mutually exclusive", kw[beside[-1]].position, "IKJ56702I", beside[-1]
            )
        v = kw[beside[0]]
        if beside[0] == "DUMPCLASS":
            from_dump = FromDump(dump_class=val.named(v, val.SG_NAME, "dump class name", 8))
        else:
            from_dump = FromDump(dump_volume=val.volser(v))
    for f in ("REPLACE", "APPLYINCREMENTAL"):
        if f in kw:
            val.flag(kw[f])
    verify = True
    if "VERIFY" in kw:
        verify = val.choice(kw["VERIFY"], ("YES", "NO", "Y", "N")) in ("YES", "Y")
    return FrRecov(
        copypool=val.copypool(kw["COPYPOOL"]) if level == "COPYPOOL" else None,
        volume=val.volser(kw["TOVOLUME"]) if level == "TOVOLUME" else None,
        dsnames=(dsnames := _dsnames(kw["DSNAME"]) if level == "DSNAME" else ()),
        newname=_newname(kw["NEWNAME"], dsnames) if "NEWNAME" in kw else None,
        from_copypool=val.copypool(kw["FROMCOPYPOOL"]) if "FROMCOPYPOOL" in kw else None,
        verify=verify,
        from_dasd=source == "FROMDASD",
        from_dump=from_dump,
        selection=val.selection(kw),
        replace="REPLACE" in kw,
        fast_replication=val.choice(kw["FASTREPLICATION"], ("PREFERRED", "REQUIRED", "NONE"))
        if "FASTREPLICATION" in kw
        else None,
        nocopypoolbackup=val.choice(kw["NOCOPYPOOLBACKUP"], ("RC4", "RC8")) if "NOCOPYPOOLBACKUP" in kw else "RC8",
        allow_pprcp=_pprcp(kw["ALLOWPPRCP"]) if "ALLOWPPRCP" in kw else None,
        apply_incremental="APPLYINCREMENTAL" in kw,
        wait=val.wait(kw),
    )


def _frdelete(cmd: Command, kw: dict[str, Param]) -> FrDelete:
    cp = val.copypool(val.require(cmd, kw, "COPYPOOL"))
    which = val.exclusive(kw, "ALL", "VERSIONS", "TOKEN")
    if which is None:
        raise CommandSyntaxError(
            "FRDELETE needs ALL, VERSIONS(n,...) or TOKEN(t)", len(cmd.source.rstrip()) + 1, "IKJ56701I", "VERSIONS"
        )
    scope = val.exclusive(kw, "DASDONLY", "DUMPONLY", "BOTH") or "DASDONLY"
    classes: tuple[str, ...] = ()
    if scope in kw and scope != "DUMPONLY":
        val.flag(kw[scope])
    if scope == "DUMPONLY" and kw["DUMPONLY"].values:
        sub = kw["DUMPONLY"].values
        if len(sub) != 1 or not isinstance(sub[0], Param) or sub[0].keyword not in ("DUMPCLASS", "DCLASS"):
            raise CommandSyntaxError(
                "DUMPONLY takes DUMPCLASS(dc1,...)", kw["DUMPONLY"].position, "IKJ56702I", "DUMPONLY"
            )
        sub[0].name = "DUMPCLASS"
        classes = val.classes(sub[0])
    versions: tuple[int, ...] = ()
    if which == "ALL":
        val.flag(kw["ALL"])
    elif which == "VERSIONS":
        p = kw["VERSIONS"]
        vals = p.plain_values() if p.values else []
        if not vals:
            raise CommandSyntaxError("VERSIONS needs one or more version numbers", p.position, "IKJ56701I", "VERSIONS")
        versions = tuple(val.number(p, 1, 999, v) for v in vals)
        val.once(p, vals, versions, lambda n: f"{n:03d}")
    return FrDelete(
        copypool=cp,
        all=which == "ALL",
        versions=versions,
        token=val.token(kw["TOKEN"]) if which == "TOKEN" else None,
        scope=scope,
        dump_classes=classes,
    )


def _list(cmd: Command, kw: dict[str, Param]) -> ListCopyPool:
    what = val.exclusive(
        kw, "COPYPOOL", "PVOL", "COPYPOOLBACKUPSTORAGEGROUP", "DUMPVOLUME", "DUMPCLASS", "PRIMARYVOLUME"
    )
    if what is None:
        raise CommandSyntaxError(
            "LIST needs COPYPOOL, PVOL(volser), COPYPOOLBACKUPSTORAGEGROUP(sg), DUMPVOLUME(tape), DUMPCLASS(class) "
            "or PRIMARYVOLUME(volser)",
            len(cmd.source.rstrip()) + 1,
            "IKJ56701I",
            "COPYPOOL",
        )
    ods, sysout = output(kw)
    if what == "PVOL":
        return ListCopyPool(pvol=val.volser(kw["PVOL"]), out_dataset=ods, sysout=sysout)
    if what == "COPYPOOLBACKUPSTORAGEGROUP":
        return ListCopyPool(
            backup_group=val.named(kw[what], val.SG_NAME, "storage group name", 8), out_dataset=ods, sysout=sysout
        )
    # DUMPVOLUME, DUMPCLASS and PRIMARYVOLUME without a name list every one ("")
    if what == "DUMPVOLUME":
        tape = val.volser(kw[what]) if kw[what].values else ""
        return ListCopyPool(dump_volume=tape, out_dataset=ods, sysout=sysout)
    if what == "DUMPCLASS":
        name = val.named(kw[what], val.SG_NAME, "dump class name", 8) if kw[what].values else ""
        return ListCopyPool(dump_class=name, out_dataset=ods, sysout=sysout)
    if what == "PRIMARYVOLUME":
        volser = val.volser(kw[what]) if kw[what].values else ""
        return ListCopyPool(primary_volume=volser, out_dataset=ods, sysout=sysout)
    p = kw["COPYPOOL"]
    cp = val.copypool(p) if p.values else None
    vols = val.exclusive(kw, "ALLVOLS", "FASTREPLICATIONVOLS", "DUMPVOLS", "NOVOLS", "DATASETS") or "ALLVOLS"
    if (vols != "ALLVOLS" or "SELECT" in kw) and cp is None and vols in kw:
        raise CommandSyntaxError(f"{vols} needs COPYPOOL(name)", kw[vols].position, "IKJ56702I", vols)
    all_versions, sel = False, Selection()
    sub = kw[vols].values if vols in ("ALLVOLS", "DATASETS") and vols in kw else None
    if sub:
        if len(sub) != 1:
            raise CommandSyntaxError(
                f"{vols} takes one of ALLVERS, GENERATION(g), TOKEN(t)", kw[vols].position, "IKJ56702I", vols
            )
        item = sub[0]
        if isinstance(item, Value) and item.text == "ALLVERS" and vols == "ALLVOLS":
            all_versions = True
        elif isinstance(item, Param):
            sel = val.sub_selection(kw[vols], item)
        else:
            raise CommandSyntaxError(f"{item.text} is not valid inside {vols}", item.position, "IKJ56702I", vols)
    elif vols in kw and vols not in ("ALLVOLS", "DATASETS"):
        val.flag(kw[vols])
    select = None
    if "SELECT" in kw:
        p = kw["SELECT"]
        if not p.values or len(p.values) != 1:
            raise CommandSyntaxError("SELECT takes one filter", p.position, "IKJ56702I", "SELECT")
        item = p.values[0]
        states = {
            "DUMPSTATE": ("ALLCOMPLETE", "REQUIREDCOMPLETE", "PARTIAL", "NONE"),
            "FASTREPLICATIONSTATE": ("RECOVERABLE", "DUMPONLY", "FAILED", "FCFRRINCOMPLETE", "NONE"),
            "FRSTATE": ("RECOVERABLE", "DUMPONLY", "FAILED", "FCFRRINCOMPLETE", "NONE"),
        }
        if isinstance(item, Param) and item.keyword in states:
            item.name = "FASTREPLICATIONSTATE" if item.keyword == "FRSTATE" else item.keyword
            select = (item.name, val.choice(item, states[item.keyword]))
        elif isinstance(item, Value) and item.text in ("INCOMPLETERECOVERY", "NONPREFERREDFRVOLS"):
            select = (item.text, "")
        else:
            raise CommandSyntaxError(
                "SELECT takes DUMPSTATE(...), FASTREPLICATIONSTATE(...), INCOMPLETERECOVERY or NONPREFERREDFRVOLS",
                item.position,
                "IKJ56702I",
                "SELECT",
            )
    return ListCopyPool(
        copypool=cp,
        volumes=vols,
        all_versions=all_versions,
        selection=sel,
        select=select,
        out_dataset=ods,
        sysout=sysout,
    )


def _audit(cmd: Command, kw: dict[str, Param]) -> AuditCopyPools:
    """AUDIT COPYPOOLCONTROLS[(cp)] [FIX | NOFIX]: the one AUDIT function of fast replication."""
    p = val.require(cmd, kw, "COPYPOOLCONTROLS")
    fix = val.exclusive(kw, "FIX", "NOFIX")
    if fix:
        val.flag(kw[fix])
    ods, sysout = output(kw)
    cp = val.copypool(p) if p.values else None
    return AuditCopyPools(copypool=cp, fix=fix == "FIX", out_dataset=ods, sysout=sysout)


def output(kw: dict[str, Param]) -> tuple[str | None, str | None]:
    """LIST's and AUDIT's destination: OUTDATASET(dsn) (a file in the site's output area),
    SYSOUT(class) or TERMINAL (the command's own output)."""
    which = val.exclusive(kw, "OUTDATASET", "SYSOUT", "TERMINAL")
    if which == "TERMINAL":
        val.flag(kw["TERMINAL"])
        return None, None
    if which == "SYSOUT":
        p = kw["SYSOUT"]
        c = val.one(p, "an output class") if p.values else None
        if c is not None and not re.fullmatch(r"[A-Z0-9]", c.text):
            raise CommandSyntaxError(f"SYSOUT({c.text}) is one letter or digit", c.position, "IKJ56702I", p.name)
        return None, c.text if c else "A"
    if which == "OUTDATASET":
        p = kw["OUTDATASET"]
        names = _dsnames(p) if p.values else ()
        dsn = names[0] if len(names) == 1 else ""
        if not dsn or any(ch in dsn for ch in "*%"):
            raise CommandSyntaxError(
                "OUTDATASET needs one fully qualified data set name", p.position, "IKJ56702I", p.name
            )
        return dsn, None
    return None, None


def _query(cmd: Command, kw: dict[str, Param]) -> Query:
    which = val.exclusive(kw, "COPYPOOL", "SETSYS")
    if which is None:
        raise CommandSyntaxError(
            "QUERY needs COPYPOOL(name) or SETSYS", len(cmd.source.rstrip()) + 1, "IKJ56701I", "COPYPOOL"
        )
    if which == "SETSYS":
        val.flag(kw["SETSYS"])
        return Query(setsys=True)
    return Query(copypool=val.copypool(kw["COPYPOOL"]))


def _hold(cmd: Command, kw: dict[str, Param], release: bool = False) -> Hold:
    if not kw:
        raise CommandSyntaxError(
            f"{cmd.verb} needs ALL, FRBACKUP, FRRECOV or DUMP", len(cmd.source.rstrip()) + 1, "IKJ56701I", "ALL"
        )
    funcs: list[tuple[str, str | None]] = []
    for name, p in kw.items():
        qual = None
        if HOLD_QUALIFIERS.get(name) and p.values is not None:
            qual = val.choice(p, HOLD_QUALIFIERS[name])
        elif p.values is not None:
            val.flag(p)
        funcs.append((name, qual))
    return Hold(tuple(funcs), release=release)


_BUILDERS: dict[str, Callable[[Command, dict[str, Param]], Request]] = {
    "FRBACKUP": _frbackup,
    "FRRECOV": _frrecov,
    "FRDELETE": _frdelete,
    "LIST": _list,
    "QUERY": _query,
    "HOLD": _hold,
    "RELEASE": lambda c, k: _hold(c, k, release=True),
    "SETSYS": setsys,
    "DEFINE": define,
    "AUDIT": _audit,
}
