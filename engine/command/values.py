"""The values of HSM command keywords: names, numbers, tokens, dates, choices, and the rules
that tie keywords together (mutually exclusive, valid only with another). Every mistake is a
CommandSyntaxError naming the keyword and its column."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from engine.command.requests import Selection
from engine.command.syntax import Command, CommandSyntaxError, Param, Value
from engine.errors import InvalidVolser
from engine.geometry import validate_volser
from engine.names import COPY_POOL, STORAGE_GROUP

COPYPOOL_NAME = COPY_POOL.pattern
SG_NAME = STORAGE_GROUP.pattern

K = TypeVar("K", bound=Hashable)


def flag(p: Param) -> None:
    if p.values is not None:
        raise CommandSyntaxError(f"{p.name} takes no value", p.position, "IKJ56702I", p.name)


def one(p: Param, what: str) -> Value:
    vals = p.plain_values() if p.values is not None else None
    if not vals:
        raise CommandSyntaxError(f"{p.name} needs {what} in parentheses", p.position, "IKJ56701I", p.name)
    if len(vals) > 1:
        raise CommandSyntaxError(f"{p.name} takes one {what}, got {len(vals)}", vals[1].position, "IKJ56702I", p.name)
    return vals[0]


def named(p: Param, pattern: re.Pattern[str], what: str, maxlen: int) -> str:
    v = one(p, what)
    if not pattern.fullmatch(v.text):
        raise CommandSyntaxError(
            f"{v.text!r} is not a valid {what} (1-{maxlen} characters A-Z 0-9 $ # @, not starting with a digit)",
            v.position,
            "IKJ56702I",
            p.name,
        )
    return v.text


def copypool(p: Param) -> str:
    return named(p, COPYPOOL_NAME, "copy pool name", 23)


def volser(p: Param) -> str:
    v = one(p, "volume serial")
    try:
        return validate_volser(v.text)
    except InvalidVolser as exc:
        raise CommandSyntaxError(str(exc), v.position, "IKJ56702I", p.name) from None


def number(p: Param, lo: int, hi: int, v: Value | None = None) -> int:
    v = v or one(p, "a number")
    if not v.text.isdigit() or not lo <= int(v.text) <= hi:
        raise CommandSyntaxError(
            f"{p.name}({v.text}) must be a number from {lo} to {hi}", v.position, "IKJ56702I", p.name
        )
    return int(v.text)


def token(p: Param, v: Value | None = None) -> bytes:
    v = v or one(p, "a token")
    raw = v.as_bytes()
    if not raw or len(raw) > 40:
        raise CommandSyntaxError(
            f"a token has 1 to 40 bytes, {v.text!r} has {len(raw)}", v.position, "IKJ56702I", p.name
        )
    return raw


def date(p: Param, v: Value | None = None) -> dt.date:
    v = v or one(p, "a date")
    m = re.fullmatch(r"(\d{4})/(\d{1,2})/(\d{1,2})", v.text)
    try:
        if not m:
            raise ValueError
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise CommandSyntaxError(
            f"DATE({v.text}) is not a date in the form yyyy/mm/dd", v.position, "IKJ56702I", p.name
        ) from None


def once(p: Param, vals: Sequence[Value], items: Sequence[K], show: Callable[[K], str] = str) -> None:
    """A list keyword names each item once: VERSIONS(1,1) or DUMPCLASS(A,A) is IKJ56702I at the repeat."""
    seen: set[K] = set()
    for v, item in zip(vals, items, strict=True):
        if item in seen:
            raise CommandSyntaxError(f"{p.name} names {show(item)} more than once", v.position, "IKJ56702I", p.name)
        seen.add(item)


def classes(p: Param) -> tuple[str, ...]:
    vals = p.plain_values() if p.values is not None else []
    if not 1 <= len(vals) <= 5:
        raise CommandSyntaxError(f"{p.name} takes 1 to 5 dump class names", p.position, "IKJ56702I", p.name)
    for v in vals:
        if not SG_NAME.fullmatch(v.text):
            raise CommandSyntaxError(f"{v.text!r} is not a valid dump class name", v.position, "IKJ56702I", p.name)
    names = tuple(v.text for v in vals)
    once(p, vals, names)
    return names


def choice(p: Param, choices: tuple[str, ...], v: Value | None = None) -> str:
    v = v or one(p, "a value")
    for c in choices:
        if v.text == c or (len(v.text) >= 2 and c.startswith(v.text)):
            return c
    raise CommandSyntaxError(f"{p.name}({v.text}) must be one of {', '.join(choices)}", v.position, "IKJ56702I", p.name)


def selection(kw: dict[str, Param]) -> Selection:
    given = sorted((k for k in ("VERSION", "GENERATION", "DATE", "TOKEN") if k in kw), key=lambda k: kw[k].position)
    if len(given) > 1:
        second = kw[given[1]]
        raise CommandSyntaxError(
            f"{given[0]} and {given[1]} are mutually exclusive", second.position, "IKJ56702I", given[1]
        )
    sel = Selection()
    if "VERSION" in kw:
        sel = Selection(version=number(kw["VERSION"], 1, 999))
    elif "GENERATION" in kw:
        sel = Selection(generation=number(kw["GENERATION"], 0, 84))
    elif "DATE" in kw:
        sel = Selection(date=date(kw["DATE"]))
    elif "TOKEN" in kw:
        sel = Selection(token=token(kw["TOKEN"]))
    return sel


def sub_selection(p: Param, v: Param) -> Selection:
    """GENERATION(g) / TOKEN(t) / VERSION(n) nested inside another keyword's parentheses."""
    name = {
        "GENERATION": "GENERATION",
        "GEN": "GENERATION",
        "G": "GENERATION",
        "TOKEN": "TOKEN",
        "TK": "TOKEN",
        "VERSION": "VERSION",
        "VER": "VERSION",
        "V": "VERSION",
        "DATE": "DATE",
    }.get(v.keyword)
    if name is None:
        raise CommandSyntaxError(f"{v.keyword} is not valid inside {p.name}", v.position, "IKJ56712I", p.name)
    v.name = name
    return selection({name: v})


def exclusive(kw: dict[str, Param], *names: str) -> str | None:
    given = sorted((n for n in names if n in kw), key=lambda n: kw[n].position)
    if len(given) > 1:
        raise CommandSyntaxError(
            f"{given[0]} and {given[1]} are mutually exclusive", kw[given[1]].position, "IKJ56702I", given[1]
        )
    return given[0] if given else None


def only_with(kw: dict[str, Param], names: tuple[str, ...], allowed: bool, context: str) -> None:
    for n in names:
        if n in kw and not allowed:
            raise CommandSyntaxError(f"{n} is not valid {context}", kw[n].position, "IKJ56702I", n)


def require(cmd: Command, kw: dict[str, Param], name: str) -> Param:
    if name not in kw:
        raise CommandSyntaxError(f"{cmd.verb} needs {name}(...)", len(cmd.source.rstrip()) + 1, "IKJ56701I", name)
    return kw[name]


def wait(kw: dict[str, Param]) -> bool | None:
    which = exclusive(kw, "WAIT", "NOWAIT")
    if which:
        flag(kw[which])
    return None if which is None else which == "WAIT"


def resolve(word: str, table: dict[str, tuple[str, ...]], position: int, what: str, verb: str = "") -> str:
    """A verb or keyword as written (in full, a documented abbreviation, or a unique prefix of 3+
    letters) as its canonical name; IKJ56712I if it is none of them."""
    if word in table:
        return word
    for canonical, abbrevs in table.items():
        if word in abbrevs:
            return canonical
    if len(word) >= 3:
        matches = [c for c in table if c.startswith(word)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise CommandSyntaxError(
                f"{word} is ambiguous: it could be {' or '.join(sorted(matches))}",
                position,
                "IKJ56712I",
                word,
            )
    if what == "command":
        raise CommandSyntaxError(
            f"{word} is not an HSM command this site knows ({', '.join(table)})",
            position,
            "IKJ56712I",
            word,
        )
    raise CommandSyntaxError(
        f"INVALID KEYWORD, {word}: {verb} takes {', '.join(sorted(table))}", position, "IKJ56712I", word
    )
