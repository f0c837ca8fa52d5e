"""One trust boundary: a site's files are its owner's alone in every mode, other users reach only
the server's socket (and only the share group's members), opening a site repairs what its owner
can and refuses the rest, and a hostile member of the share group can change nothing by any
route but the API."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from engine.api import Change, SecurityChange
from engine.site import Site
from engine.sitefiles import SiteFilesError, check_owner
from server.client import RemoteSite
from tests.security.users import needs_users, open_folder, users
from tests.server.harness import Server, as_owner, make_site


def _modes(root: Path) -> dict[str, int]:
    out = {".": stat.S_IMODE(os.lstat(root).st_mode)}
    for p in root.rglob("*"):
        out[str(p.relative_to(root))] = stat.S_IMODE(os.lstat(p).st_mode)
    return out


def test_every_file_of_a_new_site_is_the_owners_alone_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        site = make_site(tmp_path / "site")
    finally:
        os.umask(old)
    for rel, mode in _modes(site).items():
        assert mode == (0o700 if (site / rel).is_dir() else 0o600), (rel, oct(mode))


def test_a_sqlite_catalog_outside_the_site_is_the_owners_alone_whatever_the_umask(tmp_path):
    """It holds the password and token hashes as the site's own does: `init --catalog` and
    `catalog migrate --to` create it (and SQLite its journal files from it) 0600."""
    from engine.definition import Definition

    old = os.umask(0)
    try:
        outside = tmp_path / "elsewhere.db"
        Site.create(tmp_path / "one", Definition(), catalog_url=f"sqlite:///{outside}").close_files()
        moved = tmp_path / "moved.db"
        Site.migrate_catalog(make_site(tmp_path / "two"), f"sqlite:///{moved}")
        Site.open(tmp_path / "two").close_files()
    finally:
        os.umask(old)
    for db in (outside, moved):
        files = [db, *tmp_path.glob(f"{db.name}-*")]
        assert {f.name: oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {f.name: "0o600" for f in files}


def test_opening_repairs_what_was_opened_to_others_and_says_which(tmp_path):
    site = make_site(tmp_path / "site")
    os.chmod(site, 0o2775)
    os.chmod(site / "catalog.db", 0o664)
    os.chmod(site / "volumes", 0o755)
    os.chmod(site / "volumes" / "PAY001.img", 0o644)
    os.chmod(site / "keys" / "audit.key", 0o640)
    opened = Site.open(site)
    try:
        repaired = {r.path: (r.before, r.after) for r in opened.repaired}
        assert repaired == {
            ".": (0o2775, 0o700),
            "catalog.db": (0o664, 0o600),
            "volumes": (0o755, 0o700),
            "volumes/PAY001.img": (0o644, 0o600),
            "keys/audit.key": (0o640, 0o600),
        }
        entry = opened.views.activity(5)[0]
        assert entry.command == "SECURE SITE FILES" and entry.messages[0][0] == "FPL710W"
        assert "catalog.db 0664 -> 0600" in entry.messages[0][1]
    finally:
        opened.close_files()
    assert all(m in (0o600, 0o700) for m in _modes(site).values())
    reopened = Site.open(site)
    try:
        assert reopened.repaired == []
    finally:
        reopened.close_files()


def test_only_the_owner_opens_a_site_in_a_process_of_its_own(tmp_path, monkeypatch):
    site = make_site(tmp_path / "site")
    monkeypatch.setattr(os, "geteuid", lambda: 54321)
    with pytest.raises(SiteFilesError, match=r"belongs to user root; only that user \(the site's server\)"):
        check_owner(site)
    with pytest.raises(SiteFilesError, match="flashpool serve"):
        Site.open(site)


@needs_users
def test_a_file_of_another_user_in_the_site_is_refused():
    with open_folder() as base, users() as u:
        intruder = u.user("intr")
        site = make_site(base / "site")
        planted = site / "volumes" / "PAY002.img"
        os.chown(planted, __import__("pwd").getpwnam(intruder).pw_uid, -1)
        with pytest.raises(SiteFilesError, match=rf"volumes/PAY002.img \(user {intruder}\).*someone else"):
            Site.open(site)


@needs_users
def test_the_share_group_setting_decides_who_reaches_the_socket_and_nothing_else():
    import grp

    with open_folder() as base, users() as u:
        group = u.group("share")
        member, outsider = u.user("memb", group), u.user("outs")
        site = make_site(base / "site")
        gid = grp.getgrnam(group).gr_gid
        with Server(site):
            sock = site / "run" / "flashpool.sock"
            assert stat.S_IMODE(sock.stat().st_mode) == 0o600 and stat.S_IMODE(site.stat().st_mode) == 0o700
            assert u.run(member, "curl", "-s", "--unix-socket", str(sock), "http://x/v1/whoami").returncode == 7
            asyncio.run(as_owner(site, SecurityChange(Change.SET, name="share-group", value=group)))
            assert (stat.S_IMODE(site.stat().st_mode), site.stat().st_gid) == (0o710, gid)
            assert (stat.S_IMODE(sock.parent.stat().st_mode), sock.parent.stat().st_gid) == (0o750, gid)
            assert (stat.S_IMODE(sock.stat().st_mode), sock.stat().st_gid) == (0o660, gid)
            for rel, mode in _modes(site).items():
                if rel not in (".", "run", "run/flashpool.sock"):
                    assert mode in (0o600, 0o700), (rel, oct(mode))
            out = u.run(member, "curl", "-s", "--unix-socket", str(sock), "http://x/v1/whoami")
            assert out.returncode == 0 and json.loads(out.stdout)["user"] == member
            assert u.run(outsider, "curl", "-s", "--unix-socket", str(sock), "http://x/v1/whoami").returncode == 7
            asyncio.run(as_owner(site, SecurityChange(Change.SET, name="share-group", value="NONE")))
            assert stat.S_IMODE(site.stat().st_mode) == 0o700 and stat.S_IMODE(sock.stat().st_mode) == 0o600
            assert u.run(member, "curl", "-s", "--unix-socket", str(sock), "http://x/v1/whoami").returncode == 7


HOSTILE = r"""
import json, os, socket, sys
site, paths = sys.argv[1], json.loads(sys.stdin.read())
tried = {}
def attempt(what, fn):
    try:
        fn()
        tried[what] = "ok"
    except OSError as exc:
        tried[what] = os.strerror(exc.errno) if exc.errno else str(exc)
def write(p, mode):
    with open(p, mode) as f:
        f.write(b"x")
for p in paths["files"]:
    attempt(f"read {p}", lambda: open(p, "rb").read(1))
    attempt(f"write {p}", lambda: write(p, "r+b"))
    attempt(f"append {p}", lambda: write(p, "ab"))
    attempt(f"truncate {p}", lambda: os.truncate(p, 0))
    attempt(f"chmod {p}", lambda: os.chmod(p, 0o666))
    attempt(f"unlink {p}", lambda: os.unlink(p))
    attempt(f"rename {p}", lambda: os.rename(p, p + ".x"))
    attempt(f"hard link {p}", lambda: os.link(p, paths["scratch"] + "/link-" + os.path.basename(p)))
for d in paths["dirs"]:
    attempt(f"list {d}", lambda: os.listdir(d))
    attempt(f"create in {d}", lambda: write(os.path.join(d, "planted"), "wb"))
    attempt(f"mkdir in {d}", lambda: os.mkdir(os.path.join(d, "planted.d")))
    attempt(f"symlink in {d}", lambda: os.symlink("/etc/passwd", os.path.join(d, "planted.lnk")))
    attempt(f"rename {d}", lambda: os.rename(d, d + ".x"))
    attempt(f"chmod {d}", lambda: os.chmod(d, 0o777))
    attempt(f"rmdir {d}", lambda: os.rmdir(d))
sock = paths["socket"]
def rebind(path):
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(1)
def connect():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.close()
attempt("connect", connect)
attempt("unlink socket", lambda: os.unlink(sock))
attempt("rename socket", lambda: os.rename(sock, sock + ".x"))
attempt("bind over socket", lambda: rebind(sock))
attempt("bind beside socket", lambda: rebind(os.path.join(os.path.dirname(sock), "other.sock")))
print(json.dumps(tried))
"""


@needs_users
def test_a_hostile_member_of_the_share_group_can_change_nothing_but_through_the_api():
    with open_folder() as base, users() as u:
        group = u.group("ops")
        hostile = u.user("host", group)
        site = make_site(base / "site")
        scratch = base / "scratch"
        scratch.mkdir(mode=0o777)
        os.chmod(scratch, 0o777)
        with Server(site):
            asyncio.run(as_owner(site, SecurityChange(Change.SET, name="share-group", value=group)))
            assert subprocess.run(
                [*_cli(site), "hsm", "FRBACKUP COPYPOOL(PAY) DUMP"], capture_output=True, env=_env()
            ).returncode in (0, 4)
            sock = site / "run" / "flashpool.sock"
            before = _view(site)
            files = [str(p) for p in site.rglob("*") if p.is_file() or p.is_socket()]
            dirs = [str(site)] + [str(p) for p in site.rglob("*") if p.is_dir()]
            files = [f for f in files if f != str(sock)]
            assert any(f.endswith("catalog.db") for f in files) and any("/tapes/" in f for f in files)
            paths = {"files": files, "dirs": dirs, "socket": str(sock), "scratch": str(scratch)}
            out = u.run(hostile, u.python(hostile), "-c", HOSTILE, str(site), stdin=json.dumps(paths).encode())
            assert out.returncode == 0, out.stderr
            tried = json.loads(out.stdout)
            allowed = {"connect", f"list {sock.parent}"}  # the socket is the way in; run/ shows only it
            succeeded = sorted(k for k, v in tried.items() if v == "ok" and k not in allowed)
            assert succeeded == [], succeeded
            assert tried["connect"] == "ok" and tried[f"read {site / 'catalog.db'}"] == "Permission denied"
            assert len(tried) > 8 * len(files)
            assert _view(site) == before  # the server's view is unchanged
            assert list(scratch.iterdir()) == []


def _env() -> dict[str, str]:
    from tests.server.harness import env

    return env()


def _cli(site: Path) -> list[str]:
    import sys

    return [sys.executable, "-m", "cli", "--site", str(site)]


def _view(site: Path) -> tuple[object, ...]:
    """What the server says of the site: every volume's digest, the trail verified, the socket."""

    async def read() -> tuple[object, ...]:
        api = RemoteSite(site)
        try:
            digests = {v.volser: await asyncio.to_thread(api.volume_digest, v.volser) for v in api.volumes()}
            report = await asyncio.to_thread(api.audit_verify)
            return digests, report.problems, sorted(p.name for p in (site / "tapes").iterdir())
        finally:
            await api.close()

    sock = site / "run" / "flashpool.sock"
    return (*asyncio.run(read()), sock.stat().st_ino)
