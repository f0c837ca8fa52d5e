"""`flashpool hsm -`: a batch step, as DFSMShsm commands in a TSO batch job's SYSTSIN.

One command per line; a line ending in `-` or `+` continues on the next (TSO's continuation);
blank lines and comments (`*` in column 1 after blanks, or `/* ... */` on a line of its own)
are skipped. The step ends with the highest return code; `--stop-on RC` ends it at the first
command whose return code is RC or more (the rest are not run, and are said so), and `--quiet`
prints one summary line per command instead of its messages. Shared by the in-process path
(cli.hsm) and the thin one (cli.thin), so it imports only the command language's text helpers.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Protocol

from engine.printable import printable


class Result(Protocol):
    rc: int

    def lines(self) -> list[str]: ...

    def to_json(self) -> str: ...


def read_commands(stream: Iterable[str]) -> list[str]:
    """The batch's commands, continuations joined, comments and blank lines left out."""
    out: list[str] = []
    buf = ""
    for raw in stream:
        line = raw.rstrip("\n")
        stripped = line.strip()
        if not buf and (not stripped or stripped.startswith("*") or _comment(stripped)):
            continue
        buf += line + "\n"
        if not line.rstrip().endswith(("-", "+")):
            out.append(buf)
            buf = ""
    if buf:
        out.append(buf)
    return out


def _comment(line: str) -> bool:
    return line.startswith("/*") and line.endswith("*/")


def one_line(text: str) -> str:
    """A command as one line for a summary or a header (continuations joined, TSO-style)."""
    parts = [p.strip() for p in text.rstrip("\n").split("\n")]
    return printable(" ".join(p[:-1].rstrip() if p.endswith(("-", "+")) else p for p in parts).strip())


def report_parked(parked: dict[int, str]) -> int:
    """A `--wait` that ended with copies parked says which and why: RC 12, never a hang."""
    for rel_id, why in sorted(parked.items()):
        print(
            f"flashpool: the background copy of relationship {rel_id} is parked: {why}; what it copied is kept "
            "and it resumes when the site is next opened with space free",
            file=sys.stderr,
        )
    return 12 if parked else 0


@dataclass
class Options:
    json: bool = False
    quiet: bool = False
    stop_on: int | None = None  # end the step at the first RC at or above this
    wait: bool = False  # then wait until every background copy completes


def batch_steps(commands: list[str], options: Options, out: Callable[[str], None]) -> Generator[str, Result, int]:
    """The step's logic, apart from how a command reaches the site: yields each command's text,
    is sent its result, prints as the options say; returns the highest return code. The thin
    path drives it with blocking calls, the full one with awaits (run_batch)."""
    rc = 0
    for n, text in enumerate(commands):
        res = yield text
        rc = max(rc, res.rc)
        if options.json:
            out(res.to_json())
        elif options.quiet:
            out(f"RC={res.rc:<3d} {one_line(text)}")
        else:
            if len(commands) > 1:
                out(f"> {one_line(text)}")
            for line in res.lines():
                out(line)
        if options.stop_on is not None and res.rc >= options.stop_on:
            left = len(commands) - n - 1
            if left and not options.json:
                out(f"flashpool: RC {res.rc} is at or above --stop-on {options.stop_on}: {left} command(s) not run")
            break
    return rc


async def run_batch(
    commands: list[str],
    run: Callable[[str], Awaitable[Result]],
    options: Options,
    out: Callable[[str], None],
) -> int:
    """The batch step with a site whose commands are awaited."""
    steps = batch_steps(commands, options, out)
    try:
        text = next(steps)
        while True:
            text = steps.send(await run(text))
    except StopIteration as done:
        return int(done.value)
