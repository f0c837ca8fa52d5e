"""`make screenshots` (its browser part): `flashpool web` in headless chromium, as a browser user
meets it: the login page, and a step of walkthrough 1 after logging in, as PNGs in screenshots/.

python -m tests.web.screenshots [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tests.server.harness import Server
from tests.web.browser import HOOK, WebProcess, chromium, log_in, make_site, wait_for, walkthrough_1_to_its_impact

OUT = Path(__file__).resolve().parents[2] / "screenshots"
DB2 = "DSN$DB0A$DB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="fp-web-shots-") as work:
        site = make_site(Path(work) / "flashpool-data")
        server = Server(site).start()
        web = WebProcess(site)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
                page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
                page.context.add_init_script(HOOK)
                page.goto(web.url)
                page.wait_for_selector("#user")
                page.screenshot(path=str(out / "web-login.png"))
                log_in(page, web.url, "alice")
                wait_for(page, DB2)
                walkthrough_1_to_its_impact(page)  # the impact, before anything changes
                time.sleep(0.5)
                page.screenshot(path=str(out / "web-walkthrough.png"))
                browser.close()
        finally:
            web.stop()
            server.stop()
    print(f"wrote {out / 'web-login.png'} and {out / 'web-walkthrough.png'}")


if __name__ == "__main__":
    main()
