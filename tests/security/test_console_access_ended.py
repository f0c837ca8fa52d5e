"""A console whose user may read nothing more of the site (its role revoked, its session or
token ended) ends and says why (FPL622E, exit code 3): the server answers, so it is no "server
gone — reconnecting" with what the user may no longer see left on the screen."""

from __future__ import annotations

import asyncio
import time

from engine.api import Change, SecurityChange
from server.client import RemoteSite
from tests.security.test_route_matrix import _tokens
from tests.server.harness import Server, as_owner, free_port, make_site


async def test_a_console_whose_user_may_read_nothing_more_ends_and_says_why(tmp_path, tls):
    from console.app import FlashpoolApp
    from tests.console.scenes import settle

    site = await asyncio.to_thread(make_site, tmp_path / "site")
    port = free_port()
    with Server(site, "--listen", f"127.0.0.1:{port}", "--tls-cert", str(tls["cert"]), "--tls-key", str(tls["key"])):
        token = (await asyncio.to_thread(_tokens, site, {"mona": "monitor"}))["mona"]
        api = RemoteSite(url=f"https://127.0.0.1:{port}", token=token, cafile=str(tls["ca"]))
        try:
            app = FlashpoolApp(api, refresh_interval=0.5, warm=False)
            ended: list[dict[str, object]] = []
            exit_ = app.exit
            app.exit = lambda *a, **kw: (ended.append(kw), exit_(*a, **kw))[1]  # type: ignore[method-assign]
            async with app.run_test(size=(130, 40)) as pilot:
                await settle(pilot)
                assert app.status_now is not None and app.status_now.copies >= 0
                await as_owner(site, SecurityChange(Change.REVOKE, name="mona", role="monitor"))
                deadline = time.monotonic() + 5
                while not ended:
                    assert time.monotonic() < deadline, app.sub_title
                    await asyncio.sleep(0.05)
                assert "SERVER GONE" not in app.sub_title
            assert app.return_code == 3
            (kw,) = ended
            message = str(kw["message"])
            assert message.startswith("FPL622E the console has ended: ") and "mona" in message, message
        finally:
            await api.close()
