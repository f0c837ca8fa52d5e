"""Nothing outside can break the server: thousands of random, malformed and truncated requests
leave it up and the site's constructs as they were; a SIGKILL during background copies and a
background dump loses nothing: after a restart the copies resume and every recovered byte is the
point in time's."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import sqlite3
import time

from server import sockets
from server.client import RemoteSite
from server.routes import ROUTES
from tests.server.harness import PAY, Server, cli, make_site

#: the tables that hold what the site is (the activity log and the audit trail record the refusals)
CONSTRUCTS = (
    "copy_pool",
    "copy_pool_group",
    "copy_pool_dump_class",
    "dump_class",
    "storage_group",
    "volume",
    "backup_version",
    "version_pair",
    "relationship",
    "ended_relationship",
    "dump_copy",
    "tape",
    "intent",
    "data_set",
    "data_set_extent",
    "profile",
    "permit",
    "role_grant",
    "api_token",
)


def _constructs(db) -> dict[str, list[tuple]]:
    out = {}
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        names = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for t in CONSTRUCTS:
            if t in names:
                out[t] = sorted(c.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
    assert len(out) >= 6, names
    return out


#: every route but the one whose empty request is a valid one that stops the server
FUZZED = [r for r in ROUTES if r.call != "stop_server"]

JUNK = [
    "",
    "null",
    "[]",
    "{",
    '{"text": 5}',
    '{"text": null}',
    '{"nope": 1}',
    '"string"',
    '{"change": {"change": "grant"}}',
    '{"volsers": "A"}',
    '{"first": "x", "last": []}',
    '{"copy_pool": 1, "rate": "fast", "seconds": -1, "seed": null}',
    "\x00\xff\xfe",
    '{"expected": [{"kind": 1}]}',
    '{"checks": [{"function": "STGADMIN.NOPE"}]}',
]


def _request(rng: random.Random) -> bytes:
    """One hostile request: random bytes, a broken request line or headers, a lying or missing
    Content-Length, a body that is not what the route takes, a path that does not exist."""
    route = rng.choice(FUZZED)
    path = route.path
    for name in route.in_path:
        path = path.replace("{" + name + "}", rng.choice(["PAY", "%00", "..%2F..", "X" * 300, "%ZZ", ""]))
    if rng.random() < 0.3:
        path += rng.choice(["?", "?limit=abc", "?limit=-1&pool=", "?only=%FF", "?cells=99999999999999999999", "/extra"])
    if rng.random() < 0.1:
        path = rng.choice(["/", "/v2/status", "/v1/../etc/passwd", "/v1/" + "a" * 5000, "*"])
    method = route.method if rng.random() < 0.8 else rng.choice(["PUT", "DELETE", "PATCH", "OPTIONS", "BREW", ""])
    body = rng.choice(JUNK).encode("utf-8", "surrogatepass") if route.method == "POST" else b""
    if route.call in ("command", "precheck", "impact", "expect") and rng.random() < 0.3:
        text = "".join(rng.choice("FRBACKUP()COPYPOOL*%$# \n\x00é") for _ in range(rng.randint(0, 60)))
        body = json.dumps({"command" if route.call != "command" else "text": "X" + text}).encode()
    length = len(body)
    kind = rng.random()
    if kind < 0.05:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 400)))
    if kind < 0.1:
        length = rng.choice([length + 100, 10**12, -5])  # a body that never comes, or nonsense
    head = f"{method} {path} HTTP/1.1\r\nHost: flashpool\r\nContent-Type: application/json\r\n"
    if kind < 0.15:
        head += "Transfer-Encoding: chunked\r\n"
    head += f"Content-Length: {length}\r\n\r\n"
    raw = head.encode("utf-8", "surrogateescape") + body
    if rng.random() < 0.15:
        raw = raw[: rng.randint(0, len(raw))]  # truncated anywhere
    return raw


async def _fire(name: str, raw: bytes) -> None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(name), 5)
    except OSError:
        return
    try:
        writer.write(raw)
        await writer.drain()
        if random.random() < 0.5:
            writer.write_eof()
        with contextlib.suppress(TimeoutError, OSError):
            await asyncio.wait_for(reader.read(65536), 0.5)
    except OSError:
        pass
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def test_thousands_of_hostile_requests_change_nothing_and_the_server_stays_up(tmp_path):
    site = make_site(tmp_path / "site")
    with Server(site) as srv:
        api = RemoteSite(site)
        try:

            async def backed_up() -> None:
                await api.command("FRBACKUP COPYPOOL(PAY)")
                await api.wait_copies()  # the catalog then changes only if a request changes it

            asyncio.run(backed_up())
        finally:
            api.close_now()
        before = _constructs(site / "catalog.db")
        rng = random.Random(20261202)

        async def fuzz() -> None:
            with sockets.short_path(sockets.socket_path(site)) as name:
                requests = [_request(rng) for _ in range(3000)]
                for i in range(0, len(requests), 50):  # 50 at a time
                    await asyncio.gather(*(_fire(name, r) for r in requests[i : i + 50]))
                # an oversize body, and a client that opens the event stream and never reads
                await _fire(
                    name, b"POST /v1/commands HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n\r\n" + b"x" * 3_000_000
                )
                _, w = await asyncio.open_unix_connection(name)
                w.write(b"GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
                await w.drain()
                w.close()

        started = time.monotonic()
        asyncio.run(fuzz())
        elapsed = time.monotonic() - started
        api = RemoteSite(site)  # still up, still right
        try:
            st = api.status()
            assert st.pid == srv.pid
            assert [v.version for v in api.versions("PAY")] == [1]
            assert api.audit_verify().problems == ()
        finally:
            api.close_now()
        assert _constructs(site / "catalog.db") == before
        assert srv.stop() == 0
    assert "Traceback" not in srv.output(), srv.output()[-3000:]
    assert elapsed < 120


def test_sigkill_during_copies_and_a_dump_then_restart_every_recovered_byte_is_right(tmp_path):
    site = make_site(tmp_path / "site")
    point_in_time = {v: cli(site, "volume", "checksum", v, check=True).stdout.split()[0] for v in PAY}
    srv = Server(site, "--copy-rate", "20").start()
    out = cli(site, "hsm", "FRBACKUP COPYPOOL(PAY) DUMP RETURNCONTROL(FREND)", check=True)
    assert "ARC1805I" in out.stdout, out.stdout
    # the hosts write on: copy-on-write keeps the point in time on the targets
    assert cli(site, "volume", "damage", PAY[0], "--tracks", "0-59").returncode == 0
    api = RemoteSite(site)
    st = api.status()
    api.close_now()
    assert st.copies == 2 and st.out_of_sync > 0  # the copies are running, the dump may be
    assert srv.stop(signal.SIGKILL) == -signal.SIGKILL
    assert sockets.socket_path(site).exists() and not sockets.listening(site)  # a stale socket

    with Server(site) as again:
        out = cli(site, "hsm", "QUERY COPYPOOL(PAY)", "--wait")
        assert out.returncode == 0, out
        api = RemoteSite(site)
        try:
            (version,) = api.versions("PAY")
            assert version.dasd_state == "RECOVERABLE"
            dumps = dict(version.dump_copies)
            assert api.status().copies == 0
            res = asyncio.run(api.command("FRRECOV COPYPOOL(PAY)"))
            assert res.rc == 0, res.lines()
            for v in PAY:
                assert api.volume_digest(v) == point_in_time[v]
            # a dump copy the kill cut off is never COMPLETE; one that is, is the point in time
            if dumps.get("ONSITE") == "COMPLETE":
                asyncio.run(api.damage(PAY[1], 0, 9))
                res = asyncio.run(api.command(f"FRRECOV TOVOLUME({PAY[1]}) FROMDUMP(DUMPCLASS(ONSITE))"))
                assert res.rc == 0, res.lines()
                assert api.volume_digest(PAY[1]) == point_in_time[PAY[1]]
        finally:
            api.close_now()
        assert again.stop() == 0
