"""The console displays the engine's answers and derives nothing: no module of it compares a
state word or a state field itself (whether a version is recoverable, eligible for fast reverse
restore, the only recovery point or why it failed is `engine.hsm.standing`'s answer, served in
the views). A comparison written here is a second opinion that can disagree with the engine."""

from __future__ import annotations

import ast
import enum
from pathlib import Path

from engine import states
from engine.flashcopy.relationship import RelState

CONSOLE = Path(__file__).resolve().parents[2] / "console"
STATE_FIELDS = {"dasd_state", "dump_state", "state", "failed_reason", "origin"}
STATE_WORDS = {
    m.value
    for e in vars(states).values()
    if isinstance(e, type) and issubclass(e, enum.Enum) and e.__module__ == states.__name__
    for m in e
    if m.value
} | {m.value for m in RelState}


def _judging(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute) and node.attr in STATE_FIELDS:
        return True
    if isinstance(node, ast.Constant) and node.value in STATE_WORDS:
        return True
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_judging(e) for e in node.elts)
    return False


def offences(source: str, name: str) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(_judging(n) for n in (node.left, *node.comparators)):
            out.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.Dict) and any(k is not None and _judging(k) for k in node.keys):
            out.append(f"{name}:{node.lineno}: a table keyed by state words")
    return out


def test_no_console_module_judges_a_state_itself():
    found = [o for f in sorted(CONSOLE.rglob("*.py")) for o in offences(f.read_text(), str(f.relative_to(CONSOLE)))]
    assert not found, "the console re-derives state the engine answers:\n" + "\n".join(found)


def test_the_check_sees_a_comparison_of_a_state():
    """The guard itself: each way of judging a state is caught (so a green run means something)."""
    assert offences('ok = v.dasd_state == "RECOVERABLE"', "x")
    assert offences('ok = v.dump_state in ("ALLCOMPLETE", "PARTIAL")', "x")
    assert offences('ok = "FAILED" != x', "x")
    assert offences('g = {"COPYING": 1}[w]', "x")
    assert offences("ok = event.origin != 'ALERT'", "x")
    assert not offences("ok = v.recoverable and v.frr_eligible", "x")
