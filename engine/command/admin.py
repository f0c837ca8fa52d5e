"""The administrator's commands: SETSYS (fast replication's settings) and DEFINE (the dump cycle
and dump classes). Built from the generic command as the parser builds every command
(engine.command.parser registers them)."""

from __future__ import annotations

from engine.command import values as val
from engine.command.requests import Define, DumpClassChange, Setsys
from engine.command.syntax import Command, CommandSyntaxError, Param, Value

SETSYS_KEYWORDS: dict[str, tuple[str, ...]] = {
    "FASTREPLICATION": ("FR",),
    "MAXCOPYPOOLTASKS": (),
    "AUTODUMPSTART": (),
}
_FR_PARTS = {"DATASETRECOVERY": ("DSR",), "FCRELATION": (), "VOLUMEPAIRMESSAGES": ("VPM",)}
_TASKS = {"FRBACKUP": ("FRB",), "FRRECOV": ("FRR",), "DSS": ()}
_TASK_RANGE = {"FRBACKUP": (1, 64), "FRRECOV": (1, 64), "DSS": (1, 254)}


def sub_keywords(p: Param, table: dict[str, tuple[str, ...]]) -> dict[str, Param]:
    """The keywords inside a keyword's parentheses (FASTREPLICATION(DATASETRECOVERY(...)))."""
    out: dict[str, Param] = {}
    for item in p.values or []:
        if not isinstance(item, Param):
            raise CommandSyntaxError(
                f"{p.name} takes {', '.join(f'{k}(...)' for k in table)}", item.position, "IKJ56702I", p.name
            )
        item.name = val.resolve(item.keyword, table, item.position, f"{p.name} keyword", p.name)
        if item.name in out:
            raise CommandSyntaxError(f"{item.name} is given twice", item.position, "IKJ56702I", item.name)
        out[item.name] = item
    if not out:
        raise CommandSyntaxError(f"{p.name} needs its settings in parentheses", p.position, "IKJ56701I", p.name)
    return out


def _hhmm(p: Param) -> tuple[int, int, int]:
    vals = p.plain_values() if p.values else []
    if not 1 <= len(vals) <= 3:
        raise CommandSyntaxError("AUTODUMPSTART takes one to three times hhmm", p.position, "IKJ56702I", p.name)
    times = []
    for v in vals:
        t = v.text
        if not (t.isdigit() and len(t) == 4 and int(t[:2]) <= 24 and int(t[2:]) <= 59 and int(t) <= 2400):
            raise CommandSyntaxError(f"{t!r} is not a time hhmm (0000 to 2400)", v.position, "IKJ56702I", p.name)
        times.append(int(t))
    while len(times) < 3:
        times.append(0)
    return times[0], times[1], times[2]


def setsys(cmd: Command, kw: dict[str, Param]) -> Setsys:
    if not kw:
        raise CommandSyntaxError(
            "SETSYS needs FASTREPLICATION(...), MAXCOPYPOOLTASKS(...) or AUTODUMPSTART(...)",
            len(cmd.source.rstrip()) + 1,
            "IKJ56701I",
            "FASTREPLICATION",
        )
    found: dict[str, object] = {}
    if "FASTREPLICATION" in kw:
        fr = sub_keywords(kw["FASTREPLICATION"], _FR_PARTS)
        if "DATASETRECOVERY" in fr:
            found["dataset_recovery"] = val.choice(fr["DATASETRECOVERY"], ("PREFERRED", "REQUIRED", "NONE"))
        if "FCRELATION" in fr:
            found["fc_relation"] = val.choice(fr["FCRELATION"], ("EXTENT", "FULL"))
        if "VOLUMEPAIRMESSAGES" in fr:
            found["volume_pair_messages"] = val.choice(fr["VOLUMEPAIRMESSAGES"], ("YES", "NO")) == "YES"
    if "MAXCOPYPOOLTASKS" in kw:
        for name, p in sub_keywords(kw["MAXCOPYPOOLTASKS"], _TASKS).items():
            lo, hi = _TASK_RANGE[name]
            found[f"{name.lower()}_tasks"] = val.number(p, lo, hi)
    if "AUTODUMPSTART" in kw:
        found["autodump_start"] = _hhmm(kw["AUTODUMPSTART"])
    return Setsys(**found)  # type: ignore[arg-type]


DEFINE_KEYWORDS: dict[str, tuple[str, ...]] = {"DUMPCYCLE": (), "DUMPCLASS": ()}
_CLASS_PARTS = {
    "FREQUENCY": ("FREQ",),
    "DAY": (),
    "RETENTIONPERIOD": ("RETPD",),
    "STACK": (),
    "FASTREPLICATIONDUMP": ("FRDUMP",),
    "FASTREPLICATIONRECOVER": ("FRRECOV",),
}


def define(cmd: Command, kw: dict[str, Param]) -> Define:
    if not kw:
        raise CommandSyntaxError(
            "DEFINE needs DUMPCYCLE(...) or DUMPCLASS(...)", len(cmd.source.rstrip()) + 1, "IKJ56701I", "DUMPCYCLE"
        )
    out = Define()
    if "DUMPCYCLE" in kw:
        p = kw["DUMPCYCLE"]
        plain = [v for v in p.values or [] if isinstance(v, Value)]
        nested = [v for v in p.values or [] if isinstance(v, Param)]
        if len(plain) != 1 or not set(plain[0].text) <= {"Y", "N"} or not 1 <= len(plain[0].text) <= 31:
            raise CommandSyntaxError(
                "DUMPCYCLE takes a cycle of 1 to 31 days, each Y or N (e.g. DUMPCYCLE(NNNNNNY))",
                p.position,
                "IKJ56702I",
                p.name,
            )
        start = None
        for item in nested:
            if item.keyword not in ("CYCLESTARTDATE", "CYCLEST"):
                raise CommandSyntaxError(
                    f"{item.keyword} is not valid inside DUMPCYCLE", item.position, "IKJ56712I", p.name
                )
            item.name = "CYCLESTARTDATE"
            start = val.date(item)
        out = Define(dump_cycle=plain[0].text, cycle_start=start)
    if "DUMPCLASS" in kw:
        p = kw["DUMPCLASS"]
        items = p.values or []
        if not items or not isinstance(items[0], Value) or not val.SG_NAME.fullmatch(items[0].text):
            raise CommandSyntaxError(
                "DUMPCLASS takes a class name (1-8 characters) first, then its attributes",
                p.position,
                "IKJ56702I",
                p.name,
            )
        attrs = Param(p.keyword, p.position, list(items[1:])) if len(items) > 1 else None
        found: dict[str, object] = {}
        if attrs is not None:
            attrs.name = "DUMPCLASS"
            for name, sub in sub_keywords(attrs, _CLASS_PARTS).items():
                if name == "FREQUENCY":
                    found["frequency"] = val.number(sub, 0, 999)
                elif name == "DAY":
                    found["day"] = val.number(sub, 0, 31)
                elif name == "STACK":
                    found["stack"] = val.number(sub, 1, 255)
                elif name == "RETENTIONPERIOD":
                    v = val.one(sub, "a number of days or NOLIMIT")
                    found["retention_days"] = 0 if v.text == "NOLIMIT" else val.number(sub, 1, 9999, v)
                elif name == "FASTREPLICATIONDUMP":
                    found["fast_replication_dump"] = val.choice(sub, ("REQUIRED", "OPTIONAL"))
                else:  # FASTREPLICATIONRECOVER(AVAILABLEFORMOUNT(YES | NO))
                    mount = sub_keywords(sub, {"AVAILABLEFORMOUNT": ("AFM",)})["AVAILABLEFORMOUNT"]
                    found["available_for_mount"] = val.choice(mount, ("YES", "NO")) == "YES"
        out = Define(out.dump_cycle, out.cycle_start, DumpClassChange(items[0].text, **found))  # type: ignore[arg-type]
    return out


__all__ = ["DEFINE_KEYWORDS", "SETSYS_KEYWORDS", "define", "setsys", "sub_keywords"]
