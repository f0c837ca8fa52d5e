"""TSO-style command syntax: `VERB KEYWORD KEYWORD(value,value) KEYWORD(SUB(value))`.

Values are separated by commas or blanks; quoted values ('it''s') keep their case and blanks;
hexadecimal values are written X'C1C2'. A line ending in `-` or `+` continues on the next line
(`+` drops the next line's leading blanks, as TSO does); `/* ... */` is a comment. Everything is
case-insensitive except quoted values. Every error names what is wrong and where (1-based column).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.errors import FlashpoolError


class CommandSyntaxError(FlashpoolError):
    """A malformed command; `message_id` is the TSO parse message DFSMShsm users know."""

    def __init__(self, text: str, position: int, message_id: str = "IKJ56702I", keyword: str = "") -> None:
        super().__init__(f"{text} (column {position})")
        self.text, self.position, self.message_id, self.keyword = text, position, message_id, keyword


@dataclass(frozen=True, slots=True)
class Value:
    text: str  # upper-cased unless quoted
    position: int
    quoted: bool = False
    hex: bool = False

    def as_bytes(self) -> bytes:
        if self.hex:
            return bytes.fromhex(self.text)
        return self.text.encode()


@dataclass(slots=True)
class Param:
    keyword: str  # as typed, upper-cased
    position: int
    values: list[Value | Param] | None = None  # None: no parentheses; []: empty parentheses
    name: str = ""  # canonical keyword, filled in by the verb's keyword table

    def plain_values(self) -> list[Value]:
        out = []
        for v in self.values or []:
            if isinstance(v, Param):
                raise CommandSyntaxError(
                    f"{self.name or self.keyword} takes values, not the keyword {v.keyword}",
                    v.position,
                    "IKJ56702I",
                    self.name,
                )
            out.append(v)
        return out


@dataclass(slots=True)
class Command:
    verb: str
    position: int
    params: list[Param] = field(default_factory=list)
    source: str = ""


_NAME_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$#@.*%-_/&¢")


def join_lines(text: str) -> str:
    """Apply continuation rules and drop comments, keeping column positions of the first line."""
    out: list[str] = []
    cont_strip = False
    for raw in text.splitlines() or [""]:
        line = _strip_comments(raw).rstrip()
        if cont_strip:
            line = line.lstrip()
        if line.endswith(("-", "+")) and not line.endswith("(-"):
            cont_strip = line.endswith("+")
            out.append(line[:-1] + ("" if cont_strip else " "))
            continue
        out.append(line)
        cont_strip = False
        break
    else:
        if out and text.strip():  # the last line promised a continuation that never came
            raise CommandSyntaxError(
                "the command ends with a continuation (- or +) but no line follows: it is incomplete",
                max(1, len("".join(out))),
                "IKJ56702I",
            )
    return "".join(out) if len(out) > 1 else (out[0] if out else "")


def _strip_comments(line: str) -> str:
    result, i, quoted = [], 0, False
    while i < len(line):
        c = line[i]
        if c == "'":
            quoted = not quoted
        if not quoted and line.startswith("/*", i):
            end = line.find("*/", i + 2)
            if end < 0:
                raise CommandSyntaxError("the comment is not closed: end it with */", i + 1, "IKJ56702I")
            i = end + 2
            result.append(" ")
            continue
        result.append(c)
        i += 1
    return "".join(result)


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def error(self, text: str, pos: int | None = None, mid: str = "IKJ56702I", kw: str = "") -> CommandSyntaxError:
        return CommandSyntaxError(text, (self.i if pos is None else pos) + 1, mid, kw)

    def skip(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t,":
            self.i += 1

    def skip_blanks(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1

    def word(self) -> tuple[str, int]:
        start = self.i
        while self.i < len(self.s) and self.s[self.i].upper() in _NAME_CHARS:
            self.i += 1
        return self.s[start : self.i].upper(), start

    def command(self) -> Command:
        self.skip_blanks()
        verb, pos = self.word()
        if not verb:
            if self.i >= len(self.s):
                raise self.error("no command given", 0, "IKJ56701I")
            raise self.error(f"a command starts with its name, not {self.s[self.i]!r}")
        cmd = Command(verb, pos + 1, source=self.s)
        while True:
            self.skip()
            if self.i >= len(self.s):
                return cmd
            cmd.params.append(self.param(depth=0))

    def param(self, depth: int) -> Param:
        kw, pos = self.word()
        if not kw:
            c = self.s[self.i]
            if c == ")":
                raise self.error("a closing parenthesis without an opening one")
            if c == "'":
                raise self.error("a quoted value must follow a keyword, inside its parentheses")
            raise self.error(f"unexpected character {c!r}")
        p = Param(kw, pos + 1)
        self.skip_blanks()
        if self.i < len(self.s) and self.s[self.i] == "(":
            self.i += 1
            p.values = self.values(kw, depth + 1)
        return p

    def values(self, kw: str, depth: int) -> list[Value | Param]:
        if depth > 4:
            raise self.error(f"too many nested parentheses after {kw}")
        out: list[Value | Param] = []
        open_pos = self.i - 1
        while True:
            self.skip()
            if self.i >= len(self.s):
                raise self.error(f"the parenthesis after {kw} is never closed", open_pos, "IKJ56701I", kw)
            c = self.s[self.i]
            if c == ")":
                self.i += 1
                return out
            if c == "(":
                raise self.error(f"unexpected '(' in the values of {kw}", None, "IKJ56702I", kw)
            if c == "'":
                out.append(self.quoted(kw))
                continue
            if c.upper() == "X" and self.s[self.i + 1 : self.i + 2] == "'":
                out.append(self.hex_value(kw))
                continue
            start = self.i
            word, _ = self.word()
            if not word:
                raise self.error(f"unexpected character {c!r} in the values of {kw}", None, "IKJ56702I", kw)
            self.skip_blanks()
            if self.i < len(self.s) and self.s[self.i] == "(":
                self.i += 1
                sub = Param(word, start + 1, self.values(word, depth + 1))
                out.append(sub)
            else:
                out.append(Value(word, start + 1))

    def quoted(self, kw: str) -> Value:
        start = self.i
        self.i += 1
        buf = []
        while True:
            if self.i >= len(self.s):
                raise self.error(f"the quoted value in {kw} is never closed", start, "IKJ56701I", kw)
            c = self.s[self.i]
            if c == "'":
                if self.s[self.i + 1 : self.i + 2] == "'":
                    buf.append("'")
                    self.i += 2
                    continue
                self.i += 1
                return Value("".join(buf), start + 1, quoted=True)
            buf.append(c)
            self.i += 1

    def hex_value(self, kw: str) -> Value:
        start = self.i
        self.i += 1
        v = self.quoted(kw)
        digits = v.text.replace(" ", "")
        bad = sorted({c for c in digits if c not in "0123456789abcdefABCDEF"})
        if bad:
            shown = ", ".join(repr(c) for c in bad)
            raise self.error(
                f"X'{v.text}' in {kw} holds {shown}, which are not hexadecimal digits", start, "IKJ56702I", kw
            )
        if len(digits) % 2:
            raise self.error(f"X'{v.text}' in {kw} is not an even number of hexadecimal digits", start, "IKJ56702I", kw)
        return Value(digits.upper(), start + 1, hex=True)


def parse(text: str) -> Command:
    """Parse one command (continuation lines joined) into its generic form."""
    for i, c in enumerate(text):
        if "\udc80" <= c <= "\udcff":
            raise CommandSyntaxError(
                f"byte X'{ord(c) - 0xDC00:02X}' is not text: a command is UTF-8", i + 1, "IKJ56702I"
            )
        if "\ud800" <= c <= "\udfff":
            raise CommandSyntaxError(f"U+{ord(c):04X} is not text: a command is UTF-8", i + 1, "IKJ56702I")
    return _Parser(join_lines(text)).command()
