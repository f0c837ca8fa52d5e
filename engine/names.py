"""The names SMS constructs take, written once: the command parser, the site definition and the
data set names check them with these rules."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: a data set name's qualifier: 1-8 of A-Z 0-9 $ # @ -, not starting with a digit or hyphen
QUALIFIER = re.compile(r"[A-Z$#@][A-Z0-9$#@-]{0,7}")


@dataclass(frozen=True, slots=True)
class NameRule:
    what: str
    pattern: re.Pattern[str]
    max_length: int

    def fits(self, name: str) -> bool:
        return bool(self.pattern.fullmatch(name))

    def problem(self, name: object) -> str:
        return f"{self.what} {name!r} must be 1-{self.max_length} characters A-Z 0-9 $ # @, not starting with a digit"


COPY_POOL = NameRule("copy pool name", re.compile(r"[A-Z$#@][A-Z0-9$#@]{0,22}"), 23)
STORAGE_GROUP = NameRule("storage group name", re.compile(r"[A-Z$#@][A-Z0-9$#@]{0,7}"), 8)
DUMP_CLASS = NameRule("dump class name", STORAGE_GROUP.pattern, 8)
