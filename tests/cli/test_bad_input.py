"""Issue "Nothing a user types ...": the cases it lists, each as a regression test."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.command import CommandSyntaxError, parse_command
from engine.definition import parse_definition
from engine.site import Site

FLASHPOOL = [sys.executable, "-m", "cli"]
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str | bytes, cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([*FLASHPOOL, *args], cwd=cwd, input=stdin, capture_output=True, env=env, timeout=120)


def test_the_console_never_invents_a_site_where_one_is_missing(tmp_path):
    """Only `flashpool init` creates a site; a --site without a catalog is refused in one line."""
    real = tmp_path / "real"
    (real / "volumes").mkdir(parents=True)
    (real / "volumes" / "PAY001.img").write_bytes(b"\0" * 4096)  # a site whose catalog was lost
    for args in (["--site", str(real)], ["--site", str(real), "--read-only"], ["--site", str(tmp_path / "typo")]):
        out = run(*args, cwd=tmp_path)
        assert out.returncode == 2, out
        err = out.stderr.decode()
        assert "flashpool init --demo" in err and "Traceback" not in err
    assert sorted(p.name for p in real.iterdir()) == ["volumes"]  # nothing written next to the images
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize(
    "text",
    [
        "FRDELETE COPYPOOL(PAYROLL) VERSIONS(1,1,1)",
        "LIST COPYPOOL(PAYROLL) /* a comment that is never closed",
        "LIST COPYPOOL(PAY\udcffROLL)",  # argv's invalid UTF-8, as Python decodes it
    ],
)
def test_commands_that_were_accepted_but_meant_something_else(text):
    with pytest.raises(CommandSyntaxError) as err:
        parse_command(text)
    assert err.value.message_id.startswith("IKJ")


def test_invalid_utf8_in_argv_and_batch_is_a_syntax_error_and_the_batch_goes_on(tmp_path):
    site = tmp_path / "site"
    assert run("init", "--demo", str(site), cwd=tmp_path).returncode == 0
    out = run("--site", str(site), "hsm", b"LIST COPYPOOL(\xff)", cwd=tmp_path)
    assert out.returncode != 0 and b"IKJ" in out.stdout and b"Traceback" not in out.stderr
    batch = run("--site", str(site), "hsm", "-", cwd=tmp_path, stdin=b"LIST COPYPOOL(\xff)\nQUERY COPYPOOL(PAYROLL)\n")
    assert b"Traceback" not in batch.stderr
    assert b"IKJ" in batch.stdout and b"ARC" in batch.stdout.split(b"QUERY", 1)[-1]  # the next line ran


async def test_release_one_function_after_hold_all(tmp_path):
    site = Site.create(tmp_path / "s", parse_definition({"volume": [{"volser": "V1", "tracks": 4}]}))
    try:
        assert not site.demo  # only a demo site is marked as one
        await site.hsm.execute("HOLD ALL")
        res = await site.hsm.execute("RELEASE FRBACKUP")
        assert res.rc == 0
        assert site.context.held("FRBACKUP") is None
        assert site.context.held("FRRECOV") == "FRRECOV"
        await site.hsm.execute("RELEASE ALL")
        assert site.context.holds() == set()
    finally:
        await site.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    assert run("init", "--demo", str(root / "site"), cwd=root).returncode == 0
    return root / "site"


@pytest.mark.parametrize("tracks", ["3-", "\u0663", "5-3", "-1", "1-2-3"])
def test_volume_damage_takes_only_a_range_of_ascii_numbers(demo, tracks):
    out = run("--site", str(demo), "volume", "damage", "PAY001", "--tracks", tracks, cwd=demo.parent)
    assert out.returncode == 12 and b"--tracks" in out.stderr and b"Traceback" not in out.stderr


@pytest.mark.parametrize("rate", ["0", "-1", "nan", "inf"])
def test_workload_rate_must_be_a_number_above_zero(demo, rate):
    out = run("--site", str(demo), "workload", "--copypool", "PAYROLL", "--rate", rate, cwd=demo.parent)
    assert out.returncode == 2 and b"above zero" in out.stderr


def test_output_piped_into_head_ends_quietly(demo):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [*FLASHPOOL, "--site", str(demo), "hsm", "-", "--json"],
        cwd=demo.parent,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"LIST COPYPOOL(PAYROLL) ALLVOLS(ALLVERS)\n" * 300)
    proc.stdin.close()
    proc.stdout.readline()
    proc.stdout.close()  # what `head -1` does
    assert proc.wait(timeout=120) == 0
    assert b"Traceback" not in proc.stderr.read()


@pytest.mark.parametrize("url", ["nosuchdriver://x/y", "not a url at all"])
def test_a_catalog_url_that_cannot_be_used_is_one_line(tmp_path, url):
    site = tmp_path / "site"
    site.mkdir()
    (site / "catalog.url").write_text(url + "\n")
    out = run("--site", str(site), "hsm", "QUERY COPYPOOL(X)", cwd=tmp_path)
    assert out.returncode == 12 and b"catalog URL" in out.stderr and b"Traceback" not in out.stderr
    assert {p.name for p in site.iterdir()} <= {"catalog.url", "site.lock"}  # nothing created


async def test_a_crafted_catalog_cannot_make_flashpool_touch_files_outside_the_site(tmp_path):
    import sqlite3

    site_dir = tmp_path / "site"
    site = Site.create(
        site_dir, parse_definition({"volume": [{"volser": "V1", "tracks": 4}, {"volser": "V2", "tracks": 4}]})
    )
    await site.close()
    victim = tmp_path / "victim.img"
    victim.write_bytes(b"precious" * 512)
    con = sqlite3.connect(site_dir / "catalog.db")
    con.execute("UPDATE volume SET image = ? WHERE volser = 'V1'", (str(victim),))
    con.execute("UPDATE volume SET image = '../victim.img' WHERE volser = 'V2'")
    con.commit()
    con.close()
    site = Site.open(site_dir)
    try:
        assert "outside volumes/" in site.unavailable["V1"] and "outside volumes/" in site.unavailable["V2"]
        res = await site.hsm.execute("QUERY COPYPOOL(X)")
        assert res.rc > 0
    finally:
        await site.close()
    assert victim.read_bytes() == b"precious" * 512


def test_a_tape_row_naming_a_file_outside_tapes_is_refused(tmp_path):
    from engine.catalog.models import DumpCopyRow
    from engine.hsm import dump
    from engine.hsm.tape import TapeError

    outside = tmp_path / "elsewhere.tape"
    outside.write_bytes(b"x")
    row = DumpCopyRow(
        version_id=1,
        dump_class="C",
        source="V1",
        tape="T00001",
        file="../elsewhere.tape",
        file_index=0,
        file_offset=0,
        state="COMPLETE",
        created_at=0.0,
    )
    (tmp_path / "site" / "tapes").mkdir(parents=True)
    with pytest.raises(TapeError, match="outside tapes/"):
        dump.read_copy(tmp_path / "site", row)


async def test_a_new_site_is_owner_only(tmp_path):
    import stat

    site = Site.create(tmp_path / "site", parse_definition({"volume": [{"volser": "V1", "tracks": 4}]}))
    await site.close()
    root = tmp_path / "site"
    for d in (root, root / "volumes", root / "tapes"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    for f in (root / "catalog.db", root / "volumes" / "V1.img"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


async def test_a_site_shared_with_a_group_lets_it_pass_through_and_keeps_every_file_the_owners(tmp_path):
    """Sharing is a setting (the server's socket, in run/, is for the group); the files stay the
    owner's alone, whatever the umask; the site folder lets the group through, not list it."""
    import grp
    import stat

    group = grp.getgrgid(os.getegid()).gr_name  # a group this user may always give files to
    defn = parse_definition(
        {
            "site": {"group": group},
            "dump_class": [{"name": "ONSITE"}],
            "storage_group": [
                {"name": "SRC", "type": "POOL", "backup_group": "BK", "tracks": 4, "volumes": ["S1"]},
                {"name": "BK", "type": "COPYPOOLBACKUP", "tracks": 4, "volumes": ["B1"]},
            ],
            "copy_pool": [{"name": "P", "storage_groups": ["SRC"], "versions": 1, "dump_classes": ["ONSITE"]}],
        }
    )
    old = os.umask(0o077)
    try:
        site = Site.create(tmp_path / "site", defn)
        try:
            res = await site.hsm.execute("FRBACKUP COPYPOOL(P) EXECUTE DUMP")
            assert res.rc == 0, res.messages
            await site.hsm.settle()
        finally:
            await site.close()
    finally:
        os.umask(old)
    root = tmp_path / "site"
    tapes = list((root / "tapes").iterdir())
    assert tapes  # the dump wrote a tape after the site was created
    assert stat.S_IMODE(root.stat().st_mode) == 0o710 and root.stat().st_gid == os.getegid()
    for d in (root / "volumes", root / "tapes", root / "keys"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    for f in (
        root / "catalog.db",
        root / "volumes" / "S1.img",
        root / "site.lock",
        root / "keys" / "audit.key",
        *tapes,
    ):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    reopened = Site.open(root)
    try:
        assert reopened.settings().share_group == group and reopened.repaired == []
    finally:
        reopened.close_files()


def test_a_group_that_does_not_exist_is_a_definition_problem():
    from engine.definition import DefinitionError

    with pytest.raises(DefinitionError, match=r"\[site\].group: there is no group 'no-such-group-x'"):
        parse_definition({"site": {"group": "no-such-group-x"}, "volume": [{"volser": "V1", "tracks": 4}]})
    with pytest.raises(DefinitionError, match=r"\[site\]: unknown key 'mode'"):
        parse_definition({"site": {"mode": "0777"}, "volume": [{"volser": "V1", "tracks": 4}]})


@pytest.mark.parametrize("damage", ["noise", "short"])
async def test_a_damaged_bitmap_names_its_relationship_and_the_rest_works(tmp_path, damage):
    import sqlite3

    defn = parse_definition({"volume": [{"volser": v, "tracks": 60, "track_size": 64} for v in ("A", "B", "C", "D")]})
    site = Site.create(tmp_path / "site", defn)
    await site.flashcopy.establish(source="A", target="B")
    await site.flashcopy.establish(source="C", target="D")
    await site.close()
    con = sqlite3.connect(tmp_path / "site" / "catalog.db")
    if damage == "noise":
        con.execute("UPDATE relationship SET uncopied = ? WHERE source = 'A'", (os.urandom(4096),))
    else:  # a 7-track map for a 60-track relationship
        from engine.trackmap import TrackMap

        con.execute("UPDATE relationship SET uncopied = ? WHERE source = 'A'", (TrackMap.ones(7).to_bytes(),))
    con.commit()
    con.close()
    site = Site.open(tmp_path / "site")
    try:
        [why] = site.suspended.values()
        assert "(A -> B): catalog damage" in why
        assert [(r.source, r.target) for r in site.flashcopy.relationships()] == [("C", "D")]
        assert (await site.hsm.execute("QUERY COPYPOOL(X)")).rc > 0  # commands still answer
        assert any("FPL142E" in str(m) for e in site.views.activity() for m in e.messages)
    finally:
        await site.close()


async def test_checksum_of_an_unavailable_volume_says_why(tmp_path):
    site = Site.create(tmp_path / "site", parse_definition({"volume": [{"volser": "V1", "tracks": 4}]}))
    await site.close()
    with open(tmp_path / "site" / "volumes" / "V1.img", "r+b") as f:
        f.truncate(10)
    out = run("--site", str(tmp_path / "site"), "volume", "checksum", "V1", cwd=tmp_path)
    assert out.returncode == 12 and b"unavailable" in out.stderr and b"not known" not in out.stderr


def test_arbitrary_bytes_through_argv_and_batch_stdin_never_crash(tmp_path):
    """The command line and a batch as a terminal or a pipe hands them over: any bytes. Each
    command ends with a return code and messages, a batch runs every line; no exception escapes.
    One site for every example (the commands it runs are read-only or refused)."""
    import io
    import random

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from cli.batch import read_commands as _read_commands
    from engine.messages import CommandResult
    from engine.printable import printable

    site_dir = tmp_path / "site"
    Site.create(site_dir, parse_definition({"volume": [{"volser": "V1", "tracks": 4}]})).close_files()
    words = [
        b"LIST",
        b"QUERY",
        b"HOLD",
        b"RELEASE",
        b"COPYPOOL(",
        b"CP(",
        b")",
        b"/*",
        b"*/",
        b"'",
        b"-\n",
        b"+\n",
        b"\n",
        b"\xff",
        b"\xc3",
        b"\x00",
        b"FRB",
        b"FRR",
        b"FRDEL",
        b"VERSIONS(",
        b"TOKEN(X'",
        b"ALL",
        b" ",
    ]
    seen = {"commands": 0}

    async def feed(raw: bytes) -> None:
        site = Site.open(site_dir)
        try:
            stream = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", errors="surrogateescape")
            commands = _read_commands(stream) or [raw.decode("utf-8", "surrogateescape")]
            for text in commands:
                if text.lstrip().upper().startswith(("FRB", "FRR", "FRDEL")):
                    text = "LIST " + text  # nothing that could change the site: this is about the parser
                res = await site.hsm.execute(text, origin="FUZZ")
                assert isinstance(res, CommandResult) and res.messages and res.rc >= 0
                printable(text).encode("utf-8")  # what the CLI prints can be printed
                res.to_json().encode("utf-8")
                seen["commands"] += 1
        finally:
            await site.close()

    @settings(max_examples=2000 if os.environ.get("FLASHPOOL_SOAK") == "1" else 120, deadline=None)
    @given(st.lists(st.one_of(st.sampled_from(words), st.binary(max_size=6)), max_size=12))
    def run_one(parts: list[bytes]) -> None:
        asyncio.run(feed(b"".join(parts)))

    run_one()
    rng = random.Random(3)
    for _ in range(30):  # and plain noise
        asyncio.run(feed(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80)))))
    assert seen["commands"] >= 150


async def test_a_full_disk_under_the_catalog_is_a_message_not_a_traceback(tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError
    from sqlmodel import Session

    site = Site.create(tmp_path / "site", parse_definition({"volume": [{"volser": "V1", "tracks": 4}]}))
    try:

        def full(self, *a, **k):
            raise OperationalError("COMMIT", {}, Exception("database or disk is full"))

        monkeypatch.setattr(Session, "commit", full)
        res = await site.hsm.execute("HOLD FRBACKUP")
        assert res.rc == 12
        text = " ".join(str(m) for m in res.messages)
        assert "no space left" in text and "intact" in text and "restore" not in text
        monkeypatch.undo()
        assert (await site.hsm.execute("HOLD FRBACKUP")).rc == 0  # space is back: it works
    finally:
        await site.close()


def test_a_demo_site_says_so(demo):
    site = Site.open(demo)
    try:
        assert site.demo
    finally:
        site.close_files()
    from console.app import FlashpoolApp
    from engine.api import LocalSite

    other = Site.open(demo)
    try:
        assert "DEMO" in FlashpoolApp(LocalSite(other), live=False, start_engine=False).sub_title
    finally:
        other.close_files()


async def test_wait_reports_a_parked_copy_and_returns(tmp_path, monkeypatch, capsys):
    from cli.wait import wait_copies as _wait
    from engine.api import LocalSite
    from engine.errors import VolumeSpaceExhausted

    defn = parse_definition({"volume": [{"volser": v, "tracks": 16, "track_size": 64} for v in ("A", "B")]})
    site = Site.create(tmp_path / "site", defn)
    try:
        await site.flashcopy.write("A", 3, b"x" * 64)
        await site.flashcopy.establish(source="A", target="B")

        def full(*a, **k):
            raise VolumeSpaceExhausted("B: no space left on device")

        monkeypatch.setattr(site.flashcopy.core, "copy_step", full)
        assert await asyncio.wait_for(_wait(LocalSite(site), quiet=True), 10) == 12
        assert "parked" in capsys.readouterr().err
    finally:
        monkeypatch.undo()
        await site.close()


def test_a_site_with_more_volumes_than_open_files_backs_up_and_recovers(tmp_path):
    """Under `ulimit -n 64` (an image pool of 16 descriptors), 2 x 150 volumes: the site opens,
    FRBACKUP copies every volume, FRRECOV brings damaged ones back. `make soak`: 2 x 10,000
    volumes under `ulimit -n 1024`."""
    import hashlib
    import resource

    soak = os.environ.get("FLASHPOOL_SOAK") == "1"
    n, files, tracks = (10_000, 1024, 2) if soak else (150, 64, 8)
    vols = lambda p: ", ".join(f'"{p}{i:04d}"' for i in range(n))  # noqa: E731
    (tmp_path / "site.toml").write_text(
        f'[[storage_group]]\nname = "SRC"\ntype = "POOL"\nbackup_group = "BK"\ntracks = {tracks}\nvolumes = [{vols("S")}]\n'
        f'[[storage_group]]\nname = "BK"\ntype = "COPYPOOLBACKUP"\ntracks = {tracks}\nvolumes = [{vols("B")}]\n'
        '[[copy_pool]]\nname = "WIDE"\nstorage_groups = ["SRC"]\nversions = 1\n'
    )

    def limited(*args: str) -> subprocess.CompletedProcess[bytes]:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.run(
            [*FLASHPOOL, *args],
            cwd=tmp_path,
            capture_output=True,
            env=env,
            timeout=3600,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (files, files)),
        )

    site = tmp_path / "site"
    out = limited("init", "--definition", "site.toml", str(site))
    assert out.returncode == 0, out.stderr
    for i in range(n):  # host data written before any relationship exists
        img = site / "volumes" / f"S{i:04d}.img"
        img.write_bytes(hashlib.sha256(b"%d" % i).digest() * (img.stat().st_size // 32))
    image = lambda v: (site / "volumes" / f"{v}.img").read_bytes()  # noqa: E731
    before = {i: image(f"S{i:04d}") for i in range(n)}
    out = limited("--site", str(site), "hsm", "--wait", "FRBACKUP COPYPOOL(WIDE) EXECUTE")
    assert out.returncode == 0 and b"Traceback" not in out.stderr, out
    assert all(image(f"B{i:04d}") == before[i] for i in range(n))  # every copy went through the pool
    for i in (0, 77, n - 1):
        assert (
            limited("--site", str(site), "volume", "damage", f"S{i:04d}", "--tracks", f"0-{tracks - 1}").returncode == 0
        )
    assert image("S0077") != before[77] and image(f"S{n - 1:04d}") != before[n - 1]
    out = limited("--site", str(site), "hsm", "--wait", "FRRECOV COPYPOOL(WIDE)")
    assert out.returncode == 0 and b"Traceback" not in out.stderr, out
    assert all(image(f"S{i:04d}") == before[i] for i in range(n))


@pytest.mark.parametrize(
    "command",
    [
        ["init", "--demo"],
        [],  # the console
        ["hsm", "LIST COPYPOOL(PAYROLL)"],
        ["status"],
        ["stop"],
        ["events", "--count", "1"],
        ["serve", "--detach"],
        ["config", "show"],
        ["security", "whoami"],
        ["audit", "verify"],
        ["volume", "checksum", "PAY001"],
    ],
    ids=lambda argv: "-".join(argv[:2]) or "console",
)
@pytest.mark.parametrize("too_long", ["d" * 300, "e/" * 2100], ids=["name", "path"])
def test_a_site_path_the_system_cannot_name_is_one_line_and_a_usage_error(tmp_path, command, too_long):
    """A --site (or init's PATH) with a name over 255 bytes, or longer than a path may be: one
    line naming the problem, exit 2 (a bad site path, as the console's), no traceback, nothing made."""
    site = str(tmp_path / too_long)
    argv = [*command, site] if command[:1] == ["init"] else ["--site", site, *command]
    out = run(*argv, cwd=tmp_path)
    err = out.stderr.decode()
    assert out.returncode == 2, out
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert "longer than" in err and "cannot name" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == []
