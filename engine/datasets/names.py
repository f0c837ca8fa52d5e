"""z/OS data set names and filters.

A name is 1-44 characters of qualifiers joined by dots; each qualifier is 1-8 characters,
A-Z 0-9 $ # @ - , not starting with a digit or hyphen. Filters: `*` matches part of one qualifier
(or a whole one when alone), `**` any number of qualifiers (zero included), `%` one character.
"""

from __future__ import annotations

import re
from functools import lru_cache

from engine.errors import FlashpoolError
from engine.names import QUALIFIER


class InvalidDataSetName(FlashpoolError, ValueError):
    pass


def validate_dsname(name: str) -> str:
    dsn = name.strip().upper()
    if not dsn:
        raise InvalidDataSetName("a data set name cannot be empty")
    if len(dsn) > 44:
        raise InvalidDataSetName(f"{dsn} has {len(dsn)} characters; a data set name has at most 44")
    for q in dsn.split("."):
        if not QUALIFIER.fullmatch(q):
            raise InvalidDataSetName(
                f"{dsn}: qualifier {q!r} must be 1-8 characters A-Z 0-9 $ # @ -, not starting with a digit"
            )
    return dsn


def is_filter(name: str) -> bool:
    return any(c in name for c in "*%")


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    parts = pattern.upper().split(".")
    rx = ""
    for i, q in enumerate(parts):
        sep = r"\." if i else ""
        if q == "**":
            rx += r"(?:\.[^.]+)*" if i else r"(?:[^.]+(?:\.[^.]+)*)?"
            continue
        body = "".join("[^.]*" if c == "*" else "[^.]" if c == "%" else re.escape(c) for c in q)
        rx += sep + body
    rx = rx.replace(r"(?:[^.]+(?:\.[^.]+)*)?\.", r"(?:[^.]+\.)*")
    return re.compile(rx + "$")


def matches(pattern: str, name: str) -> bool:
    if not is_filter(pattern):
        return pattern.upper() == name.upper()
    return bool(_compile(pattern).match(name.upper()))
