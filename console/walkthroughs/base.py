"""What a walkthrough is: a context, the choices the operator makes (each a filterable list or a
typed value), the HSM command those choices make, how its engine checks are judged, the
alternatives offered when one fails, and what the result must read afterwards.

The screen (screen.py) drives every walkthrough the same way:
context → choices → checks → impact → confirm → run → verify → summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar

from engine.command import Hold, Request, Selection, command_text
from engine.hsm.precheck import Check
from engine.hsm.verify import Expectation

if TYPE_CHECKING:
    from engine.api import SiteAPI
    from engine.messages import CommandResult

Selections = dict[str, str]


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str
    detail: str = ""


@dataclass(frozen=True)
class Pick:
    """One choice. With `typed`, the operator types the value (a data set pattern) and the
    options only preview what it matches."""

    key: str
    title: str
    options: Callable[[SiteAPI, Selections], list[Option]]
    #: the option to start on (None: the first one)
    default: Callable[[SiteAPI, Selections], str | None] = lambda site, sel: None
    when: Callable[[Selections], bool] = lambda sel: True
    typed: bool = False
    short: str = ""  # the step's name in the breadcrumb (default: from the title)


@dataclass(frozen=True, slots=True)
class Alternative:
    """What to do instead when a check fails: another walkthrough and/or changed choices."""

    label: str
    walkthrough: str | None = None
    changes: tuple[tuple[str, str], ...] = ()
    wait_for_copy: bool = False  # wait until the background copy completes, then check again
    run: str | None = None  # a command to run first (e.g. RELEASE FRRECOV), then check again
    back_to: str | None = None  # go back to this choice


def release(function: str) -> Alternative:
    run = command_text(Hold(((function, None),), release=True))
    return Alternative(f"Release the hold: run {run}, then check again", run=run)


@dataclass
class Walkthrough:
    """Subclasses set the class attributes and implement request()."""

    id: ClassVar[str] = ""
    title: ClassVar[str] = ""
    context: ClassVar[str] = ""
    picks: ClassVar[list[Pick]] = []
    #: choices made before the walkthrough opens (e.g. "allow every volume" for walkthrough 5)
    defaults: ClassVar[dict[str, str]] = {}
    selections: Selections = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.selections = {**self.defaults, **self.selections}

    @property
    def number(self) -> int:
        return int(self.id[1:])

    def destructive_name(self) -> str | None:
        """The name the operator types to confirm (None: enter confirms)."""
        return self.pool()

    def request(self) -> Request:
        """The typed request the choices make (KeyError until the copy pool is chosen)."""
        raise NotImplementedError

    def command(self) -> str:
        """The request's canonical text: what the operator reads, confirms and the site runs."""
        return command_text(self.request())

    def pool(self) -> str | None:
        return self.selections.get("pool")

    def chosen_pool(self) -> str:
        """The copy pool for a command; KeyError until it is chosen (the screen then shows the
        command as "made from your choices", never COPYPOOL(None))."""
        return self.selections["pool"]

    def alternatives(self, check: Check) -> list[Alternative]:
        return []

    def followed_through(self, check: Check, precheck: Callable[[str], list[Check]]) -> list[Alternative]:
        """The alternatives to a refusal, each followed through with the engine's checks (blocking):
        one that changes a choice (or opens another walkthrough) and would then meet another refusal
        a change of choice answers takes that change too, and says so; one that would meet a
        refusal no change of choice answers is not offered (a hold is the site's: its walkthrough
        offers RELEASE).
        Taking an alternative never walks the operator into a refusal the screen did not name
        (FCINCREMENTAL refused for a REQUIRED dump is refused again, with FORCE, because the
        oldest version is not the incremental one)."""
        followed = (self._follow(alt, precheck, depth=3) for alt in self.alternatives(check))
        return [alt for alt in followed if alt is not None]

    def _follow(self, alt: Alternative, precheck: Callable[[str], list[Check]], depth: int) -> Alternative | None:
        if not (alt.changes or alt.walkthrough) or alt.run or alt.wait_for_copy or alt.back_to:
            return alt
        from console.walkthroughs import by_id  # the catalogue imports this module

        cls = by_id(alt.walkthrough) if alt.walkthrough else type(self)
        after = cls(selections={k: v for k, v in {**self.selections, **dict(alt.changes)}.items() if v})
        try:
            command = after.command()
        except KeyError:  # a choice the other walkthrough asks for first: the operator makes it
            return alt
        refused = [c for c in precheck(command) if not c.ok and not c.advisory and c.code != "held"]
        if not refused:
            return alt
        if depth == 0:
            return None
        for refusal in refused:
            for then in after.alternatives(refusal):
                if then.changes and not (then.walkthrough or then.run or then.wait_for_copy or then.back_to):
                    merged = replace(
                        alt,
                        label=f"{alt.label}, and {then.label[:1].lower()}{then.label[1:]}",
                        changes=alt.changes + then.changes,
                    )
                    return self._follow(merged, precheck, depth - 1)
        return None

    def expect(self, site: SiteAPI) -> list[Expectation]:
        """What the command must leave behind, read before it runs (blocking: called in a
        thread): the engine derives it from the command itself (engine.hsm.verify.expect_for)."""
        return site.expect(self.command())

    def backup_made(self, result: CommandResult) -> tuple[str, int] | None:
        """A backup is verified on the targets of the version its command created, as the
        command's result names it: (copy pool, version number); None for any other command."""
        return None

    def selection(self) -> Selection:
        v = self.selections.get("version", "")
        return Selection(version=int(v)) if v.isdigit() else Selection()
