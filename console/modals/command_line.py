"""The command line (:): the HSM command language exactly as the CLI takes it, with history
(up/down), completion (tab) of keywords and of copy pool, volume and data set names, and the
messages shown in place."""

from __future__ import annotations

import re

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RichLog

from engine.command import command_verbs, keywords_of
from engine.command.parser import VERBS

NAME_KEYWORDS = {"COPYPOOL", "CP", "FROMCOPYPOOL", "FCP"}
VOLUME_KEYWORDS = {"TOVOLUME", "TOV", "PVOL"}
DSN_KEYWORDS = {"DSNAME", "DSN"}


class CommandLine(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close", id="cmdline.close"),
        Binding("up", "history(-1)", "Previous", show=False, id="cmdline.prev"),
        Binding("down", "history(1)", "Next", show=False, id="cmdline.next"),
        Binding("tab", "complete", "Complete", id="cmdline.complete", priority=True),
        Binding("pageup", "scroll_output('page_up')", "Scroll up", id="cmdline.page_up"),
        Binding("pagedown", "scroll_output('page_down')", "Scroll down", id="cmdline.page_down"),
        Binding("shift+up", "scroll_output('up')", "Line up", show=False, id="cmdline.line_up"),
        Binding("shift+down", "scroll_output('down')", "Line down", show=False, id="cmdline.line_down"),
    ]
    DEFAULT_CSS = """
    CommandLine { align: center bottom; }
    #cmd-box { width: 100%; height: 16; border: thick $primary; background: $surface; }
    #cmd-output { height: 1fr; }
    #cmd-hint { color: $text-muted; height: 1; }
    """

    def __init__(self, history: list[str], names: dict[str, list[str]], initial: str = "") -> None:
        super().__init__()
        self.history = history
        self.names = names
        self.pos = len(history)
        self.initial = initial

    def compose(self) -> ComposeResult:
        with Vertical(id="cmd-box"):
            yield RichLog(id="cmd-output", wrap=True, markup=False)
            yield Label("HSM command - tab completes, ↑↓ history, PgUp/PgDn scroll, escape closes", id="cmd-hint")
            yield Input(value=self.initial, placeholder="FRBACKUP COPYPOOL(name)", id="cmd-input")

    def on_mount(self) -> None:
        box = self.query_one("#cmd-input", Input)
        box.cursor_blink = False
        box.focus()

    @on(Input.Submitted, "#cmd-input")
    def _submit(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        if not self.history or self.history[-1] != text:
            self.history.append(text)
        self.pos = len(self.history)
        event.input.value = ""
        self.run_it(text)

    @work(exclusive=True, group="cmdline", exit_on_error=False)
    async def run_it(self, text: str) -> None:
        log = self.query_one("#cmd-output", RichLog)
        log.write(f"> {text}")
        app = self.app
        res = await app.run_command(text)  # type: ignore[attr-defined]
        for line in res.lines():
            log.write(line)
        log.write(f"RC={res.rc}")

    def action_scroll_output(self, how: str) -> None:
        """The messages scroll from the keyboard while the typing stays in the command box."""
        log = self.query_one("#cmd-output", RichLog)
        log.auto_scroll = how in ("page_down", "down") and log.scroll_y >= log.max_scroll_y - 1
        {
            "page_up": log.scroll_page_up,
            "page_down": log.scroll_page_down,
            "up": log.scroll_up,
            "down": log.scroll_down,
        }[how](animate=False)

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self.pos = max(0, min(len(self.history), self.pos + step))
        box = self.query_one("#cmd-input", Input)
        box.value = self.history[self.pos] if self.pos < len(self.history) else ""
        box.cursor_position = len(box.value)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_complete(self) -> None:
        box = self.query_one("#cmd-input", Input)
        new, options = complete(box.value, self.names)
        box.value = new
        box.cursor_position = len(new)
        if len(options) > 1:
            self.query_one("#cmd-hint", Label).update("  ".join(options[:12]) + (" ..." if len(options) > 12 else ""))


def complete(text: str, names: dict[str, list[str]]) -> tuple[str, list[str]]:
    """Complete the last word: a verb, a keyword of the verb, or a name inside KEYWORD(."""
    m = re.search(r"([A-Za-z0-9$#@.*%]*)$", text)
    word = m.group(1) if m else ""
    head = text[: len(text) - len(word)]
    inside = re.search(r"([A-Za-z]+)\(\s*(?:[^()]*,\s*)?$", head)
    if inside:
        kw = inside.group(1).upper()
        pool = (
            names.get("pools", [])
            if kw in NAME_KEYWORDS
            else names.get("volumes", [])
            if kw in VOLUME_KEYWORDS
            else names.get("datasets", [])
            if kw in DSN_KEYWORDS
            else []
        )
        options = [n for n in pool if n.startswith(word.upper())]
        suffix = ")"
    else:
        verb = head.split()[0].upper() if head.split() else ""
        verb = next((v for v, ab in VERBS.items() if verb == v or verb in ab), verb)
        options = sorted(
            k for k in (keywords_of(verb) if verb in VERBS else command_verbs()) if k.startswith(word.upper())
        )
        suffix = " " if not head.strip() else ""
    if len(options) == 1:
        return head + options[0] + suffix, options
    if options:
        common = options[0]
        for o in options[1:]:
            while not o.startswith(common):
                common = common[:-1]
        return head + common, options
    return text, []
