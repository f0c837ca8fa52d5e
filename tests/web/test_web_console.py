"""`flashpool web` in a real browser (headless chromium): log in, walkthrough 1 with keys only on
a damaged volume (the bytes checked from the CLI), the clipboard, refusals in the audit trail, a
monitor's greyed actions, and one FRBACKUP seen live by two browsers and a terminal console."""

from __future__ import annotations

import asyncio
import threading
import time

from tests.server.harness import cli
from tests.web.browser import HOOK, WebProcess, audit, keys, log_in, screen, wait_for, walkthrough_1_to_its_impact

DB2 = "DSN$DB0A$DB"


def checksum(site, volser: str) -> str:
    return cli(site, "volume", "checksum", volser, check=True).stdout.split()[0]


def test_walkthrough_1_in_the_browser_recovers_the_damaged_volume_with_keys_only(site, page):
    path, _, web = site
    before = checksum(path, "DB0A01")
    cli(path, "volume", "damage", "DB0A01", "--tracks", "100-119", check=True)
    assert checksum(path, "DB0A01") != before
    log_in(page, web.url, "alice")
    wait_for(page, DB2)
    wait_for(page, "user alice ⊘ FRDELETE")  # what an operator may not do: greyed
    walkthrough_1_to_its_impact(page)
    keys(page, "Enter")  # confirm: the pool's name typed
    wait_for(page, "and press enter to run it")
    keys(page, *DB2)
    keys(page, "Enter")
    wait_for(page, "enter: verify the result", 60)
    keys(page, "Enter")  # verify
    time.sleep(2)
    keys(page, "Enter")  # summary
    wait_for(page, "Done and verified", 60)
    assert checksum(path, "DB0A01") == before
    recovery = [e for e in audit(path) if "FRRECOV" in str(e["action"])]
    assert recovery and all(e["user"] == "alice" and e["client"] == "127.0.0.1" for e in recovery)


def test_refusals_are_shown_and_audited(site, page):
    path, _, web = site
    log_in(page, web.url, "alice", "not the password")
    assert "Wrong user name, password or token" in page.inner_text("body")
    assert DB2 not in page.content() and "DEMO" not in page.content()  # nothing of the site before a login
    log_in(page, web.url, "nora")
    assert "IS NOT AUTHORIZED" in page.inner_text("body")
    short = WebProcess(path, "--idle", "6")  # long enough for the console to start on a loaded machine
    try:
        log_in(page, short.url, "alice")
        assert page.inner_text("#user") == "alice"  # the console page
        wait_for(page, DB2)  # the console is up: its terminal's answers to the console's start-up are in
        time.sleep(8.0)  # idle past the session (6 s), nothing typed
        page.goto(short.url)
        assert "Your session has ended" in page.inner_text("body")
    finally:
        short.stop()
    trail = audit(path)
    assert any("FPL735E" in e["message_ids"] and e["user"] == "alice" for e in trail)
    assert any(e["decision"] == "DENIED" and e["user"] == "nora" and "ICH408I" in e["message_ids"] for e in trail)
    assert any("FPL736E" in e["message_ids"] and e["user"] == "alice" for e in trail)


def test_a_monitor_sees_changing_actions_greyed(site, page):
    _, _, web = site
    log_in(page, web.url, "mona")
    wait_for(page, "PAYROLL")
    wait_for(page, "user mona ⊘ FRBACKUP FRRECOV FRDELETE")
    keys(page, "b")  # the backup walkthrough: greyed, it does not open
    time.sleep(1)
    assert "W7" not in screen(page)


def _payroll(page) -> str:
    return next((line for line in screen(page).splitlines() if line.strip().startswith("PAYROLL")), "")


def _payroll_kept(app) -> str:
    from textual.widgets import DataTable

    table = app.screen.query_one(DataTable)
    for i in range(table.row_count):
        row = [str(c) for c in table.get_row_at(i)]
        if row and row[0].strip() == "PAYROLL":
            return row[3].strip()
    return ""


def test_two_browsers_and_a_terminal_console_see_one_frbackup_live(site, browser):
    path, _, web = site
    pages = []
    for user in ("alice", "mona"):
        context = browser.new_context(viewport={"width": 1500, "height": 950})
        context.add_init_script(HOOK)
        pages.append(context.new_page())
        log_in(pages[-1], web.url, user)
        wait_for(pages[-1], "PAYROLL")
    ready, seen = threading.Event(), threading.Event()

    def terminal() -> None:
        from console.app import FlashpoolApp
        from server.client import RemoteSite

        async def run() -> None:
            api = RemoteSite(path)
            app = FlashpoolApp(api)
            try:
                async with app.run_test(size=(160, 40)) as pilot:
                    start = _payroll_kept(app)
                    ready.set()
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline and _payroll_kept(app) == start:
                        await pilot.pause(0.2)
                    if _payroll_kept(app) != start:
                        seen.set()
            finally:
                api.close_now()

        asyncio.run(run())

    thread = threading.Thread(target=terminal)
    thread.start()
    assert ready.wait(30)
    before = [_payroll(p) for p in pages]
    keys(pages[0], ":")
    wait_for(pages[0], "HSM command")
    keys(pages[0], *"FRBACKUP COPYPOOL(PAYROLL) EXECUTE")
    keys(pages[0], "Enter")
    wait_for(pages[0], "RC=0")
    keys(pages[0], "Escape")
    for p, row in zip(pages, before, strict=True):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if _payroll(p) not in ("", row):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"no live change in the browser:\n{screen(p)}")
    thread.join(40)
    assert seen.is_set(), "the terminal console did not see the FRBACKUP"
    for p in pages:
        p.context.close()


#: run before the page's scripts too: what the page asks the browser's clipboard to hold is kept
#: where the test reads it (headless chromium's clipboard cannot be read back without a focused
#: window; the call the page makes is what `c` must cause)
CLIPBOARD_HOOK = """
(() => { const write = navigator.clipboard.writeText.bind(navigator.clipboard);
  navigator.clipboard.writeText = (text) => { window.__copied = text; return write(text).catch(() => {}); }; })();
"""


def test_c_copies_the_selected_name_to_the_browsers_clipboard(site, browser):
    _, _, web = site
    context = browser.new_context(viewport={"width": 1500, "height": 950})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    context.add_init_script(HOOK)
    context.add_init_script(CLIPBOARD_HOOK)
    page = context.new_page()
    try:
        log_in(page, web.url, "mona")
        wait_for(page, "PAYROLL")
        keys(page, "c")
        shown = wait_for(page, "copied ")
        name = shown.split("copied ", 1)[1].split()[0]
        deadline = time.monotonic() + 10
        while page.evaluate("() => window.__copied") is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert page.evaluate("() => window.__copied") == name, name
    finally:
        context.close()


def test_a_server_restart_shows_reconnecting_never_stale_data_as_live(site, page):
    """It stops the module's server and starts it again (the other tests find it running)."""
    _, server, web = site
    log_in(page, web.url, "mona")
    wait_for(page, "PAYROLL")
    wait_for(page, "server pid")
    server.stop()
    wait_for(page, "server gone")
    assert "reconnecting" in screen(page) and "server pid" not in screen(page)
    server.start()
    wait_for(page, f"server pid {server.pid}", 30)  # back, with the same session, on its own
    assert "server gone" not in screen(page)


def _login_cookie(conn) -> str:
    """The Set-Cookie a right login answers with (no redirect followed)."""
    from urllib.parse import urlencode

    from tests.web.browser import PASSWORD

    body = urlencode({"user": "mona", "password": PASSWORD})
    conn.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
    answer = conn.getresponse()
    answer.read()
    assert answer.status == 303, answer.status
    return str(answer.getheader("Set-Cookie"))


def _console_from(port: int, cookie: str, origin: str) -> int:
    """The status a console's web socket is opened with, for a logged-in cookie, from `origin`."""
    import aiohttp

    async def attempt() -> int:
        async with aiohttp.ClientSession() as s:
            try:
                headers = {"Cookie": cookie, "Origin": origin}
                async with s.ws_connect(f"ws://127.0.0.1:{port}/ws", headers=headers) as ws:
                    await ws.close()
                    return 101
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as thread:  # a loop of its own: Playwright's may run in this thread
        return thread.submit(asyncio.run, attempt()).result()


def test_cookies_are_httponly_samesite_and_secure_under_tls_and_other_addresses_need_tls(site, tmp_path):
    import http.client
    import ssl

    from tests.server.harness import free_port, tls_files

    path, _, web = site
    plain = _login_cookie(http.client.HTTPConnection("127.0.0.1", web.port, timeout=30))
    assert "HttpOnly" in plain and "SameSite=Strict" in plain and "Secure" not in plain
    assert _console_from(web.port, plain.split(";")[0], "http://127.0.0.1:1") == 403  # another origin's page
    files = tls_files(tmp_path)
    secure = WebProcess(path, "--tls-cert", str(files["cert"]), "--tls-key", str(files["key"]))
    try:
        ctx = ssl.create_default_context(cafile=str(files["ca"]))
        cookie = _login_cookie(http.client.HTTPSConnection("127.0.0.1", secure.port, context=ctx, timeout=30))
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
    finally:
        secure.stop()
    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)  # a page of another origin posts
    conn.request("POST", "/login", "user=mona", {"Origin": "http://127.0.0.1:1", "Content-Type": "text/plain"})
    answer = conn.getresponse()
    assert answer.status == 403 and answer.getheader("Set-Cookie") is None and answer.getheader("X-Frame-Options")
    refused = cli(path, "web", "--listen", f"0.0.0.0:{free_port()}")
    assert refused.returncode == 12 and "needs --tls-cert and --tls-key" in refused.stderr


def test_a_closed_tab_ends_its_console(site, page):
    _, _, web = site
    log_in(page, web.url, "mona")
    wait_for(page, "PAYROLL")
    opened = web.log.read_text().count("a console for mona (127.0.0.1) ended")
    page.close()
    deadline = time.monotonic() + 20
    while web.log.read_text().count("a console for mona (127.0.0.1) ended") == opened:
        assert time.monotonic() < deadline, web.log.read_text()[-2000:]
        time.sleep(0.2)


def test_no_console_starts_for_a_session_the_server_has_ended(site):
    """The front end asks the server before it starts a console for a web socket: a session its
    user's new password ended gets 401 and no console process (one was started, and failed)."""
    import http.client

    from tests.web.browser import set_password

    path, _, web = site
    cookie = _login_cookie(http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)).split(";")[0]
    own = f"http://127.0.0.1:{web.port}"
    opened = web.log.read_text().count("a console for mona (127.0.0.1) opened")
    set_password(path, "mona")  # the same words: every session of mona's ends
    assert _console_from(web.port, cookie, own) == 401
    assert _console_from(web.port, cookie, own) == 401  # the browser is forgotten: still no console
    assert web.log.read_text().count("a console for mona (127.0.0.1) opened") == opened
