"""The walkthrough screen: one flow for every walkthrough.

context → choices → checks → impact → confirm → run → verify → summary

enter goes on, backspace goes back (any step before the command runs), escape cancels before
anything changes (and closes once it has). Lists filter as you type; ↑↓ move. Every step adds to
a transcript that goes to the activity log at the end and can be exported with `e`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Input, Label, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option as ListOption

from console import format as fmt
from console.modals.confirm import ConfirmScreen
from console.walkthroughs.base import Alternative, Option, Pick, Walkthrough
from console.widgets.footer import KeysFooter
from console.widgets.status_line import StatusLine
from engine.errors import FlashpoolError
from engine.hsm import verify
from engine.hsm.impact import Impact
from engine.hsm.precheck import Check
from engine.messages import CommandResult
from engine.states import Origin

if TYPE_CHECKING:
    from console.app import FlashpoolApp

FIXED = ["checks", "impact", "confirm", "run", "verify", "summary"]
LABELS = {
    "context": "Context",
    "checks": "Checks",
    "impact": "Impact",
    "confirm": "Confirm",
    "run": "Run",
    "verify": "Verify",
    "summary": "Summary",
}


def _verify_markup(line: str) -> str:
    """A verification line with its mark coloured (the mark and its words carry the meaning)."""
    if line.startswith("✔"):
        return f"[b $success]✔[/]{escape(line[1:])}"
    if line.startswith("✘"):
        return f"[b $error]{escape(line)}[/]"
    return escape(line)


def alt_consequences(command: str) -> list[str]:
    """What a command a walkthrough offers on the way changes beyond this walkthrough."""
    if command.upper().startswith("RELEASE"):
        return [
            "it lifts the hold for every operator and every copy pool, not only for this walkthrough",
            "whoever held it may have had a reason (a change window, a broken controller)",
        ]
    return []


@dataclass
class Judged:
    check: Check
    blocking: bool


class StepInput(Input):
    """An input where backspace in an empty box means "back a step"."""

    class Back(Message):
        pass

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "backspace" and not self.value:
            event.stop()
            event.prevent_default()
            self.post_message(self.Back())
            return
        await super()._on_key(event)


class WalkthroughScreen(Screen[None]):
    AUTO_FOCUS = None
    TITLE_TEXT = "Walkthrough"
    HELP_TEXT = (
        "A walkthrough leads from what went wrong to a verified recovery: context, your choices (type to "
        "filter, ↑↓, enter), DFSMShsm's checks with what to do instead, the impact, a confirmation, the "
        "run with live progress, verification by checksum and a summary with the HSM commands. "
        "backspace goes back until the command runs; escape cancels before anything changes."
    )
    BINDINGS = [
        Binding("enter", "next", "Next", id="walkthrough.next"),
        Binding("backspace", "back", "Back", id="walkthrough.back"),
        Binding("escape", "cancel", "Cancel", id="walkthrough.cancel"),
        Binding("e", "export", "Export transcript", id="walkthrough.export"),
        Binding("pageup", "scroll_body('page_up')", "Scroll up", show=False, id="walkthrough.page_up"),
        Binding("pagedown", "scroll_body('page_down')", "Scroll down", show=False, id="walkthrough.page_down"),
    ]

    def __init__(self, wt: Walkthrough) -> None:
        super().__init__()
        self.wt = wt
        self.stage = "context"
        self.transcript: list[str] = [f"{wt.id} {wt.title}"]
        self.judged: list[Judged] = []
        self.alternatives: list[Alternative] = []
        self.expected: list[verify.Expectation] = []
        self.outcomes: list[verify.Outcome] = []
        self.result: CommandResult | None = None
        self.started = False  # the command has been sent: no going back
        self.busy = False
        self.error = ""
        self.exported: Path | None = None
        self.commands: list[str] = []  # every command this walkthrough ran, in order
        self._recorded = False
        self._options: list[Option] = []  # the choices shown (filtered)
        self._all_options: list[Option] | None = None  # the step's choices, None while loading
        self.impact: Impact | None = None  # once worked out

    @property
    def fpapp(self) -> FlashpoolApp:
        return self.app  # type: ignore[return-value]

    # -- layout -----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="wt-body"):
            yield Label(f"Walkthrough {self.wt.number} · {self.wt.title}", id="wt-title")
            yield Label("", id="wt-steps")
            yield Static("", id="wt-text")
            yield StepInput(id="wt-input")
            yield OptionList(id="wt-options")
            yield Label("", id="wt-progress-label")
            yield ProgressBar(total=100, id="wt-progress", show_eta=False)
            yield Static("", id="wt-error")
        yield Label("", id="wt-hint")
        yield StatusLine(id="status")
        yield KeysFooter()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """A hidden box must not take the keys (q, ?, 1-5): Textual hands focus back to it when
        the screen resumes."""
        if not event.widget.display:
            self.set_focus(None)

    def on_mount(self) -> None:
        self.show()
        self.fpapp.update_status(self.query_one(StatusLine))

    # -- the stages -------------------------------------------------------------------------------
    def stages(self) -> list[str | Pick]:
        return ["context", *[p for p in self.wt.picks if p.when(self.wt.selections)], *FIXED]

    def _index(self) -> int:
        for i, st in enumerate(self.stages()):
            if st == self.stage or (isinstance(st, Pick) and st.key == self.stage):
                return i
        return 0

    def _stage_name(self, st: str | Pick) -> str:
        return st.key if isinstance(st, Pick) else st

    def go(self, stage: str) -> None:
        self.stage = stage
        self.error = ""
        self.show()

    @staticmethod
    def _label(st: str | Pick) -> str:
        label = (
            (st.short or st.title.split("?")[0].split(" (")[0].removeprefix("Which "))
            if isinstance(st, Pick)
            else LABELS[st]
        )
        return label[:1].upper() + label[1:]

    @property
    def where(self) -> str:
        """Where this walkthrough stands, for the status line: "W4 at Checks"."""
        return f"W{self.wt.number} at {self._label(self.stages()[self._index()])}"

    def show(self) -> None:
        crumbs = []
        for i, st in enumerate(self.stages()):
            label = self._label(st)
            crumbs.append(f"[reverse] {escape(label)} [/]" if i == self._index() else escape(label))
        self.query_one("#wt-steps", Label).update(" › ".join(crumbs))
        if self.is_current:
            self.fpapp.update_status()
        text, inp, opts, prog = (
            self.query_one("#wt-text", Static),
            self.query_one("#wt-input", Input),
            self.query_one("#wt-options", OptionList),
            self.query_one("#wt-progress", ProgressBar),
        )
        inp.display = opts.display = prog.display = self.query_one("#wt-progress-label").display = False
        self.set_focus(None)
        self.query_one("#wt-error", Static).update(escape(self.error))
        hint = "enter next · backspace back · escape cancel"
        st = self.stages()[self._index()]
        if st == "context":
            text.update(f"{escape(self.wt.context)}\n\n[dim]The command it runs: {escape(self._command_or_tbd())}[/]")
        elif isinstance(st, Pick):
            self._show_pick(st, text, inp, opts)
            hint = (
                "type to filter · ↑↓ choose · enter next · backspace back · escape cancel"
                if not st.typed
                else "type a name or pattern · enter next · escape cancel"
            )
        elif st == "checks":
            text.update("Checking what DFSMShsm checks before it runs …")
            self.run_checks()
        elif st == "impact":
            text.update("Working out the impact …")
            self.run_impact()
        elif st == "confirm":
            name = self.confirm_name()
            text.update(
                f"[b]{escape(self.wt.command())}[/]\n\n"
                + (
                    f"This overwrites or invalidates data. Type [b]{escape(name)}[/] and press enter to run it."
                    if name
                    else "Press enter to run it."
                )
            )
            if name:
                inp.display = True
                inp.value = ""
                inp.placeholder = name
                inp.focus()
        elif st == "run":
            hint = "running … the console stays usable"
            if not self.started:
                self.started = True
                self.execute()
            else:
                self._show_run()
        elif st == "verify":
            hint = "verifying …"
            text.update("Comparing what the volumes and data sets read now with the point-in-time content …")
            self.run_verify()
        elif st == "summary":
            self._show_summary()
            hint = "enter close · e export transcript"
        self.query_one("#wt-hint", Label).update(hint)
        self.refresh_bindings()

    def confirm_name(self) -> str | None:
        """Typed confirmation when the walkthrough overwrites, or when its impact says something
        is lost (a backup that rolls the oldest version off)."""
        name = self.wt.destructive_name()
        if name is None and self.impact is not None and self.impact.destructive:
            name = self.wt.pool()
        return name

    def _made_command(self) -> str | None:
        """The walkthrough's command, None until the choices make it."""
        try:
            return self.wt.command()
        except (KeyError, ValueError):
            return None

    def _command_or_tbd(self) -> str:
        return self._made_command() or "(made from your choices)"

    def _show_pick(self, pick: Pick, text: Static, inp: Input, opts: OptionList) -> None:
        text.update(escape(pick.title))
        inp.display = True
        inp.placeholder = "filter" if not pick.typed else "e.g. PAY.** or DB0A.DSNDBC.PAYROLL.TS01.I0001.A001"
        self._all_options, self._options = None, []
        inp.value = self.wt.selections.get(pick.key, "") if pick.typed else ""
        inp.focus()
        self.load_options(pick)

    @work(thread=True, exclusive=True, group="walkthrough-options", exit_on_error=False)
    def load_options(self, pick: Pick) -> None:
        """The choices come from the catalog: read them in a thread, once per step (a typed
        pattern re-reads its matches), and filter as the operator types without touching it."""
        sel = dict(self.wt.selections)
        default = None if pick.key in sel else pick.default(self.fpapp.site, sel)
        if default is not None:
            sel[pick.key] = default
        found = pick.options(self.fpapp.site, sel)
        self.app.call_from_thread(self._options_loaded, pick, sel.get(pick.key), default, found)

    def _options_loaded(self, pick: Pick, value: str | None, default: str | None, found: list[Option]) -> None:
        if self.stage != pick.key or (pick.typed and value != self.wt.selections.get(pick.key)):
            return  # the operator moved on, or typed more: a newer load follows
        if default is not None:
            self.wt.selections.setdefault(pick.key, default)
        self._all_options = found
        self._fill_options(pick)

    def _fill_options(self, pick: Pick) -> None:
        opts = self.query_one("#wt-options", OptionList)
        inp = self.query_one("#wt-input", Input)
        sel = self.wt.selections
        needle = "" if pick.typed else inp.value.strip().lower()
        self._options = [o for o in self._all_options or [] if needle in f"{o.label} {o.detail}".lower()]
        opts.clear_options()
        opts.add_options(
            [ListOption(f"{escape(o.label)}  [dim]{escape(o.detail)}[/]", id=o.value) for o in self._options]
        )
        opts.display = bool(self._options)
        self.query_one("#wt-error", Static).update("")
        if not pick.typed and self._options:
            current = sel.get(pick.key)
            idx = next((i for i, o in enumerate(self._options) if o.value == current), 0)
            opts.highlighted = idx
        elif pick.typed and not self._options and inp.value.strip():
            self.query_one("#wt-error", Static).update(
                "nothing cataloged matches; a deleted data set needs its full name"
            )

    @on(Input.Changed, "#wt-input")
    def _typed(self, event: Input.Changed) -> None:
        st = self.stages()[self._index()]
        if not isinstance(st, Pick):
            return
        if st.typed:
            self.wt.selections[st.key] = event.value
            self.load_options(st)
        elif self._all_options is not None:
            self._fill_options(st)

    @on(Input.Submitted, "#wt-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_next()

    @on(OptionList.OptionSelected, "#wt-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_next()

    def on_key(self, event: events.Key) -> None:
        """Arrows move the list while typing in its filter; backspace in an empty box goes back."""
        inp = self.query_one("#wt-input", Input)
        opts = self.query_one("#wt-options", OptionList)
        if self.focused is inp and event.key in ("up", "down") and opts.display:
            (opts.action_cursor_up if event.key == "up" else opts.action_cursor_down)()
            event.stop()

    def on_step_input_back(self, message: StepInput.Back) -> None:
        self.action_back()

    # -- moving -----------------------------------------------------------------------------------
    def action_next(self) -> None:
        if self.busy:
            return
        st = self.stages()[self._index()]
        if isinstance(st, Pick):
            if not self._take_pick(st):
                return
        elif st == "checks":
            if any(j.blocking for j in self.judged):
                self._take_alternative()
                return
        elif st == "confirm":
            name = self.confirm_name()
            typed = self.query_one("#wt-input", Input).value.strip().upper()
            if name and typed != name.upper():
                self.error = f"type {name} exactly to run it (escape cancels)"
                self.query_one("#wt-error", Static).update(escape(self.error))
                return
            self.transcript.append(f"confirmed: {self.wt.command()}")
        elif st == "run":
            if self.result is None:
                return
        elif st == "summary":
            self.dismiss_walkthrough()
            return
        stages = self.stages()
        i = self._index()
        if i + 1 < len(stages):
            self.go(self._stage_name(stages[i + 1]))

    def _take_pick(self, pick: Pick) -> bool:
        sel = self.wt.selections
        if pick.typed:
            value = self.query_one("#wt-input", Input).value.strip()
            if not value:
                self.error = "type a data set name or pattern"
                self.query_one("#wt-error", Static).update(self.error)
                return False
            sel[pick.key] = value.upper()
        else:
            opts = self.query_one("#wt-options", OptionList)
            if self._all_options is None:
                return False  # the list is still loading (a moment): nothing to take yet
            if not self._options or opts.highlighted is None:
                self.error = "nothing to choose from here; backspace goes back"
                self.query_one("#wt-error", Static).update(self.error)
                return False
            sel[pick.key] = self._options[opts.highlighted].value
        self.transcript.append(f"{pick.title} {sel[pick.key]}")
        return True

    def action_scroll_body(self, how: str) -> None:
        """A long list of checks scrolls on a small terminal, whatever has the focus."""
        body = self.query_one("#wt-body", VerticalScroll)
        (body.scroll_page_up if how == "page_up" else body.scroll_page_down)(animate=False)

    def action_back(self) -> None:
        if self.started or self.busy:
            return
        stages = self.stages()
        i = self._index()
        if i > 0:
            self.go(self._stage_name(stages[i - 1]))

    def action_cancel(self) -> None:
        if self.busy and self.started and self.stage in ("run", "verify"):
            self.notify("the command is running; it finishes on its own (the summary follows)", timeout=3)
            return
        if not self.started:
            ran = "; ".join(self.commands)
            self.notify(
                f"walkthrough cancelled: its command did not run, but {ran} did"
                if ran
                else "walkthrough cancelled: nothing was changed",
                timeout=5,
            )
        self.dismiss_walkthrough()

    def dismiss_walkthrough(self) -> None:
        if self.started or self.commands:
            self.record()
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return None if self.started else True
        if action == "export":
            return self.stage == "summary"
        return True

    # -- checks -----------------------------------------------------------------------------------
    @work(exclusive=True, group="walkthrough", exit_on_error=False)
    async def run_checks(self) -> None:
        self.busy = True
        try:
            checks, offered = await asyncio.to_thread(self._checks_and_alternatives)
        finally:
            self.busy = False
        # the engine's severity: a refusal stops the command, an advisory check only informs
        self.judged = [Judged(c, not c.ok and not c.advisory) for c in checks]
        lines, self.alternatives = [], offered
        for j in self.judged:
            # a line states the fact that holds, in words; colour only repeats it
            mark, words, colour = (
                ("✔", "", "$success")
                if j.check.ok
                else ("✘", "NOT MET: ", "$error")
                if j.blocking
                else ("ℹ", "NOT MET, ALLOWED: ", "$warning")
            )
            lines.append(
                f"[b {colour}]{mark} {words}[/]{escape(j.check.label)}"
                + (f"\n    [dim]{escape(j.check.reason)}[/]" if j.check.reason else "")
            )
            self.transcript.append(
                f"check {mark} {words}{j.check.label}" + (f": {j.check.reason}" if j.check.reason else "")
            )
        text = self.query_one("#wt-text", Static)
        if any(j.blocking for j in self.judged):
            self.alternatives.append(Alternative("Go back and change my choices", back_to="__back__"))
            text.update("DFSMShsm would refuse this:\n\n" + "\n".join(lines) + "\n\n[b]What you can do instead:[/]")
            opts = self.query_one("#wt-options", OptionList)
            opts.clear_options()
            opts.add_options([ListOption(escape(a.label)) for a in self.alternatives])
            opts.display = True
            opts.highlighted = 0
            opts.focus()
            self.query_one("#wt-hint", Label).update(
                "↑↓ choose what to do instead · enter · backspace back · escape cancel"
            )
        else:
            text.update(
                "Everything DFSMShsm checks is in order:\n\n" + "\n".join(lines) + "\n\n[dim]enter: see the impact[/]"
            )
            self.focus_next_none()

    def _checks_and_alternatives(self) -> tuple[list[Check], list[Alternative]]:
        """Blocking (a worker thread): the engine's checks, and for each refusal the alternatives
        followed through the same checks."""
        site = self.fpapp.site
        checks = site.precheck(self.wt.command())
        refused = [c for c in checks if not c.ok and not c.advisory]
        return checks, [a for c in refused for a in self.wt.followed_through(c, site.precheck)]

    def focus_next_none(self) -> None:
        self.set_focus(None)

    def _take_alternative(self) -> None:
        opts = self.query_one("#wt-options", OptionList)
        if opts.highlighted is None or not self.alternatives:
            return
        alt = self.alternatives[opts.highlighted]
        self.transcript.append(f"instead: {alt.label}")
        if alt.back_to == "__back__":
            self.action_back()
            return
        for k, v in alt.changes:
            self.wt.selections[k] = v
        if alt.walkthrough:
            from console.walkthroughs import by_id

            other = by_id(alt.walkthrough)(selections={k: v for k, v in self.wt.selections.items() if v})
            self.app.switch_screen(WalkthroughScreen(other))
            return
        if alt.back_to:
            self.wt.selections.pop(alt.back_to, None)
            self.go(alt.back_to)
            return
        if alt.run or alt.wait_for_copy:
            self.resolve(alt)
            return
        self.go("checks")

    @work(exclusive=True, group="walkthrough", exit_on_error=False)
    async def resolve(self, alt: Alternative) -> None:
        self.busy = True
        text = self.query_one("#wt-text", Static)
        try:
            if alt.run:
                ask = Impact(alt.run, None, True, lines=[f"{alt.label}.", *alt_consequences(alt.run)])
                if not await self.app.push_screen_wait(ConfirmScreen(ask, title=f"Run {alt.run}?")):
                    self.transcript.append(f"declined: {alt.run}")
                    return
                res = await self.fpapp.run_command(alt.run, origin=Origin.WALKTHROUGH)
                self.commands.append(alt.run)
                self.transcript += [f"ran {alt.run}: RC={res.rc}", *res.lines()]
            if alt.wait_for_copy:
                text.update("Waiting for the background copy the checks need to complete …")
                volumes = await asyncio.to_thread(self._pool_volumes)
                copiers = asyncio.create_task(self.fpapp.site.wait_copies())  # in-process: starts the copiers
                try:
                    await self.follow_copies(volumes, "waiting for the background copy")
                finally:
                    copiers.cancel()  # only the relationships the checks need are waited for
                self.transcript.append("waited for the background copy to complete")
        finally:
            self.busy = False
        self.go("checks")

    # -- impact -----------------------------------------------------------------------------------
    @work(exclusive=True, group="walkthrough", exit_on_error=False)
    async def run_impact(self) -> None:
        self.busy = True
        try:
            im = await asyncio.to_thread(self.fpapp.site.impact, self.wt.command())
        finally:
            self.busy = False
        self.impact = im
        self.transcript += [f"impact: {line}" for line in im.lines]
        self.query_one("#wt-text", Static).update(
            f"[b]{escape(self.wt.command())}[/]\n\n"
            + "\n".join(f"• {escape(line)}" for line in im.lines)
            + "\n\n[dim]enter: confirm[/]"
        )

    # -- run --------------------------------------------------------------------------------------
    @work(exclusive=True, group="walkthrough", exit_on_error=False)
    async def execute(self) -> None:
        self.busy = True
        text = self.query_one("#wt-text", Static)
        try:
            text.update("Reading the point-in-time content to verify against afterwards …")
            try:
                self.expected = await asyncio.to_thread(self.wt.expect, self.fpapp.site)
            except (LookupError, OSError) as exc:
                self.expected = []
                self.transcript.append(f"no verification possible: {exc}")
            text.update(f"Running [b]{escape(self.wt.command())}[/] …")
            self.result = await self.fpapp.run_command(self.wt.command(), origin=Origin.WALKTHROUGH)
            self.commands.append(self.wt.command())
            self.transcript += [f"ran {self.wt.command()}: RC={self.result.rc}", *self.result.lines()]
        finally:
            self.busy = False
        self._show_run()
        self.watch_copy()

    def _show_run(self) -> None:
        res = self.result
        if res is None:
            return
        body = "\n".join(escape(line) for line in res.lines()[-14:])
        self.query_one("#wt-text", Static).update(
            f"[b]{escape(self.wt.command())}[/]  RC={res.rc}\n\n{body}\n\n[dim]enter: verify the result[/]"
        )
        self.query_one("#wt-hint", Label).update("enter verify · the background copy goes on while you do")

    @work(exclusive=False, group="walkthrough-progress", exit_on_error=False)
    async def watch_copy(self) -> None:
        """Live progress of the background copy onto the volumes this walkthrough touched."""
        names = {e.name for e in self.expected if e.kind == "volume"}
        if (made := self.backup_made()) is not None:  # a backup: the targets of the version it created
            pool, number = made
            versions = await asyncio.to_thread(self.fpapp.site.versions, pool)
            made_id = next((v.id for v in versions if v.version == number), None)
            pairs = await asyncio.to_thread(self.fpapp.site.pairs, pool, made_id) if made_id is not None else []
            names = {p.target for p in pairs}
        await self.follow_copies(names, "background copy")

    def _pool_volumes(self) -> set[str]:
        """The chosen copy pool's volumes: the relationships a check waits for are on them."""
        site, pool = self.fpapp.site, self.wt.pool()
        groups = {g for p in site.pools(only=pool) for g in p.storage_groups} if pool else set()
        return {v.volser for v in site.volumes() if v.storage_group in groups}

    async def follow_copies(self, names: set[str], what: str) -> None:
        """Until the relationships on these volumes have nothing left to copy: a labelled bar
        over what was left when following began (a fast reverse restore moves only changed
        tracks: never a bar that starts at 85 %), the tracks left, and an ETA from the pace seen."""
        bar, label = self.query_one("#wt-progress", ProgressBar), self.query_one("#wt-progress-label", Label)
        bar.display = label.display = True
        first: int | None = None
        seen: list[tuple[float, int]] = []  # (when, tracks left), the last 10 s
        while self.is_attached:
            every = await asyncio.to_thread(self.fpapp.site.relationships)
            rels = [r for r in every if (r.source in names or r.target in names) and r.copying]
            left = sum(r.out_of_sync for r in rels)
            first = left if first is None else max(first, left)
            now = time.monotonic()
            seen = [(t, n) for t, n in seen if now - t <= 10.0] + [(now, left)]
            span = now - seen[0][0]
            rate = (seen[0][1] - left) / span if span >= 1.0 else 0.0
            bar.update(total=max(first, 1), progress=first - left if first else 1)
            label.update(
                f"{what}: {left:,} of {first:,} tracks left on {len(rels)} relationship(s) · ETA {fmt.eta(left, rate)}"
                if left
                else f"{what}: complete"
            )
            if not left:
                return
            await asyncio.sleep(0.25)

    # -- verify -----------------------------------------------------------------------------------
    def backup_made(self) -> tuple[str, int] | None:
        """The backup version the command created, as its result names it (None: not a backup)."""
        return self.wt.backup_made(self.result) if self.result else None

    @work(exclusive=True, group="walkthrough", exit_on_error=False)
    async def run_verify(self) -> None:
        self.busy = True
        rc = self.result.rc if self.result else None
        made = self.backup_made()
        try:
            if rc != 0:
                self.outcomes = []  # a command that failed promised nothing: nothing gets a ✔
            elif made is not None:  # that version, not whichever is newest by now
                self.outcomes = await asyncio.to_thread(self.fpapp.site.verify_backup, *made)
            else:
                self.outcomes = await asyncio.to_thread(self.fpapp.site.verify, self.expected)
        finally:
            self.busy = False
        lines = []
        for o in self.outcomes:
            e = o.expected
            mark = "✔" if o.ok else "✘ DIFFERS:"
            if e.kind in ("volume", "dataset"):
                detail = f"sha256 {o.actual[:16]}… {'=' if o.ok else '≠'} {e.digest[:16]}… ({e.origin})"
            else:
                detail = f"{o.actual} (expected {e.digest}: {e.origin})"
            lines.append(f"{mark} {e.kind} {e.name}: {detail}")
        self.transcript += [f"verify {line}" for line in lines]
        if rc not in (0, None):
            lines.append(f"the command ended with RC={rc}: nothing it would have done is verified")
        elif not self.outcomes:
            lines.append("nothing to compare (the command did not get that far)")
        self.query_one("#wt-text", Static).update(
            "Verification: what is there now against the point-in-time content"
            + (f" of version {made[1]:03d} of {escape(made[0])}" if made else "")
            + "\n\n"
            + "\n".join(_verify_markup(line) for line in lines)
            + "\n\n[dim]enter: summary[/]"
        )
        self.query_one("#wt-hint", Label).update("enter summary")

    @property
    def verified(self) -> bool:
        return bool(self.outcomes) and all(o.ok for o in self.outcomes)

    # -- summary ----------------------------------------------------------------------------------
    def _show_summary(self) -> None:
        rc = self.result.rc if self.result else None
        ok = rc == 0 and self.verified
        head = (
            "[b]Done and verified.[/]"
            if ok
            else "[b]Finished with warnings.[/]"
            if rc is not None and rc <= 4 and self.verified
            else "[b]Not fully done: read the messages and the checks above.[/]"
        )
        status = f"RC={rc}" if rc is not None else "not run"
        checked = sum(1 for o in self.outcomes if o.ok)
        made = self.backup_made()
        verified = f"verified {checked} of {len(self.outcomes)}" + (
            f" (version {made[1]:03d} of {made[0]})" if made else ""
        )
        self.query_one("#wt-text", Static).update(
            f"{head}\n\n{status} · {escape(verified)}\n\n"
            "The same thing as HSM commands (the command line : or `flashpool hsm`):\n\n"
            + "".join(f"    [b]{escape(c)}[/]\n" for c in self.commands or [self.wt.command()])
            + "\n"
            "The transcript of this walkthrough is in the activity log (4); e exports it to a file."
        )
        self.transcript.append(f"summary: {status}, {verified}")

    def record(self) -> None:
        """The transcript, into the activity log (once)."""
        if self._recorded:
            return
        self._recorded = True
        rc = self.result.rc if self.result else 8 if self.started else 4  # 4: cancelled after a side step
        # the entry is about its command (the site takes its copy pool from it); cancelled after a
        # side step, before its own command was made, about the command that step ran
        command = self._made_command() or self.commands[-1]
        self.fpapp.record_walkthrough(f"WALKTHROUGH {self.wt.id} {command}", rc, self.transcript)

    @work(exclusive=True, group="walkthrough-export", exit_on_error=False)
    async def action_export(self) -> None:
        """Into the site's transcripts/ folder (written by whoever holds the site: a server too)."""
        if self.stage != "summary":
            return
        name = f"{self.wt.id}-{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            path = Path(await self.fpapp.site.save_transcript(self.wt.pool(), name, "\n".join(self.transcript) + "\n"))
        except FlashpoolError as exc:  # refused (not this pool's operator) or not written (a full disk)
            self.notify(str(exc), severity="error", timeout=8)
            return
        self.exported = path
        self.notify(f"transcript written to {path}", timeout=5)
