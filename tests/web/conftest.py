"""One demo site, its server and one `flashpool web` per module (and per xdist worker), and one
headless chromium: the browser tests share them to stay quick."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.harness import Server
from tests.web.browser import HOOK, WebProcess, chromium, make_site


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple]:
    path = make_site(tmp_path_factory.mktemp("web") / "flashpool-data")
    server = Server(path).start()
    web = WebProcess(path)
    try:
        yield path, server, web
    finally:
        web.stop()
        if server.proc is not None:
            server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser (its own cookies) with a wide window and the clipboard allowed."""
    context = browser.new_context(viewport={"width": 1500, "height": 950})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    context.add_init_script(HOOK)
    yield context.new_page()
    context.close()
