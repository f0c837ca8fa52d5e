"""One browser's console: the process `flashpool web` starts for a logged-in browser (through
Textual's web driver). It calls the site's server with the session it is given in its
environment, never on its command line, so it acts as that user and no other."""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: the environment variables the front end hands a console process (web.apps)
SESSION_ENV = "FLASHPOOL_WEB_SESSION"
SITE_ENV = "FLASHPOOL_WEB_SITE"


def main() -> int:
    from console.app import FlashpoolApp
    from server import wire
    from server.client import RemoteSite

    secret = os.environ.pop(SESSION_ENV, "")
    site = Path(os.environ.pop(SITE_ENV, "."))
    try:
        api = RemoteSite(site, token=secret, kind=wire.CONSOLE)
    except Exception as exc:  # noqa: BLE001 - told to the browser, which shows the closed console
        print(f"flashpool: the console could not reach the site's server: {exc}", file=sys.stderr)
        return 2
    try:
        FlashpoolApp(api).run()
    finally:
        api.close_now()
    return 0


if __name__ == "__main__":
    sys.exit(main())
