"""A real browser for the `flashpool web` tests: Debian's chromium, headless, through
Playwright; `flashpool web` as a real process; the console read from the browser's terminal."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.server.harness import ROOT, cli, env, free_port

CHROMIUM = "/usr/bin/chromium"
#: run before the page's scripts: textual-serve's page keeps its xterm.js terminal to itself, so the
#: first object given a `terminal` is kept where the test can read the screen's text from it
HOOK = """
Object.defineProperty(Object.prototype, 'terminal', {configurable: true, set(v) {
  Object.defineProperty(this, 'terminal', {value: v, writable: true, configurable: true, enumerable: true});
  window.__terminal = v; }});
"""
SCREEN = """() => { const t = window.__terminal; if (!t) return '';
  const b = t.buffer.active, out = [];
  for (let y = 0; y < t.rows; y++) out.push(b.getLine(y).translateToString(true));
  return out.join('\\n'); }"""
PASSWORD = "correct horse 42"
USERS = {"alice": "operator", "mona": "monitor", "nora": None}  # nora: a password, no access at all


def chromium() -> str:
    """The system's chromium; the test fails (never skips) and says why when it is missing."""
    found = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if found is None:
        pytest.fail(
            "chromium is not installed: the web console's browser tests need Debian's chromium package "
            "(`make test` installs it as root with apt-get; run `apt-get install chromium`)"
        )
    return found


def make_site(path: Path) -> Path:
    """The demo site, with alice (operator), mona (monitor) and nora (nothing) and their passwords."""
    cli(path, "init", "--demo", str(path), check=True)
    add_users(path, USERS)
    return path


def add_users(site: Path, users: dict[str, str | None]) -> None:
    """Each user with the test password and its role (None: none), through the site's own API in
    this process: one opening of the site, not two CLI processes a user."""
    import asyncio

    from engine.api import LocalSite
    from engine.security.access import Kind
    from engine.security.changes import Change, SecurityChange
    from engine.site import Site

    async def add() -> None:
        site_ = Site.open(site)
        try:
            api = LocalSite(site_)
            for user, role in users.items():
                changes = [SecurityChange(Change.PASSWORD, name=user, value=PASSWORD)]
                changes += [SecurityChange(Change.GRANT, kind=Kind.USER, name=user, role=role)] if role else []
                for change in changes:
                    res = await api.change_security(change)
                    assert res.rc == 0, res.lines()
        finally:
            await site_.close()

    asyncio.run(add())


def set_password(site: Path, user: str, password: str = PASSWORD, *extra: str) -> None:
    """`flashpool security password USER`, the password on standard input."""
    out = subprocess.run(
        [sys.executable, "-m", "cli", "security", "password", user, *extra, "--site", str(site)],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=env(),
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 0, out


class WebProcess:
    """`flashpool web` on a free loopback port."""

    def __init__(self, site: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = site.parent / f"web-{self.port}.log"
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cli", "web", "--site", str(site), "--listen", f"127.0.0.1:{self.port}", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env(),
                cwd=ROOT,
            )
        deadline = time.monotonic() + 30
        while "the console is served" not in self.log.read_text():
            assert self.proc.poll() is None and time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def log_in(page, url: str, user: str, password: str = PASSWORD) -> None:
    page.goto(url)
    page.fill("#user", user)
    page.fill("#password", password)
    page.click("button[type=submit]")


def screen(page) -> str:
    return str(page.evaluate(SCREEN))


def wait_for(page, text: str, timeout: float = 30.0) -> str:
    """The screen once it shows `text` (the test fails with the screen when it does not)."""
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = screen(page)
        if text in shown:
            return shown
        time.sleep(0.1)
    raise AssertionError(f"the browser's console never showed {text!r}; it shows:\n{shown}")


def keys(page, *pressed: str) -> None:
    """Keys typed into the console (each a Playwright key name or one character)."""
    page.focus(".xterm-helper-textarea")  # the terminal takes the keys
    for key in pressed:
        page.keyboard.press(key)
        time.sleep(0.05)


def walkthrough_1_to_its_impact(page) -> None:
    """From the Pools screen: walkthrough 1 opened by keys, through its context, pool and checks,
    to its impact step (nothing has changed yet)."""
    keys(page, "r")
    wait_for(page, "Walkthroughs: a digit")
    keys(page, "1")
    wait_for(page, "Walkthrough 1 ·")
    for _ in range(2):  # context, pool: the checks
        keys(page, "Enter")
        time.sleep(1)
    keys(page, "Enter")  # impact
    wait_for(page, "becomes INVALID")


def audit(site: Path, origin: str = "WEB") -> list[dict[str, object]]:
    out = cli(site, "audit", "export", check=True).stdout
    entries = [json.loads(line) for line in out.splitlines() if line.startswith('{"seq"')]
    return [e for e in entries if e.get("origin") == origin]
