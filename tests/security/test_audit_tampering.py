"""The audit trail against a forger: every way of changing it that the issue names, each found by
`flashpool audit verify`, or, where docs/SECURITY.md says it cannot be, shown here to pass.

The forger works on the files as an attacker would, with sqlite3 and its own code for the
chain (not flashpool's): what it computes is what an attacker can compute.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from cli.main import main
from engine.site import Site
from tests.server.harness import make_site

GENESIS = "0" * 64


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def _verify(capsys, site: Path, *against: Path) -> tuple[int, str]:
    extra = ["--against", *map(str, against)] if against else []
    rc, out, err = _run(capsys, "audit", "verify", "--site", str(site), *extra)
    return rc, out + err


def _rows(db: Path) -> list[sqlite3.Row]:
    with contextlib.closing(sqlite3.connect(db)) as c:
        c.row_factory = sqlite3.Row
        return c.execute("SELECT * FROM audit ORDER BY seq").fetchall()


def _sql(db: Path, *statements: str, params: tuple = ()) -> None:
    with contextlib.closing(sqlite3.connect(db)) as c, c:
        for st in statements:
            c.execute(st, params) if params else c.execute(st)


def _fields(row: sqlite3.Row | dict) -> dict[str, object]:
    return {
        "seq": row["seq"],
        "at": row["at"],
        "user": row["user"],
        "groups": json.loads(row["groups"]),
        "origin": row["origin"],
        "client": row["client"],
        "action": row["action"],
        "decision": row["decision"],
        "profile": row["profile"],
        "access": row["access"],
        "return_code": row["return_code"],
        "message_ids": json.loads(row["message_ids"]),
    }


def _body(prev: str, fields: dict[str, object]) -> bytes:
    return (prev + "\n" + json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)).encode()


def _sha(prev: str, fields: dict[str, object]) -> str:
    return hashlib.sha256(_body(prev, fields)).hexdigest()


def _hmac(key: bytes) -> Callable[[str, dict[str, object]], str]:
    return lambda prev, fields: hmac.new(key, _body(prev, fields), hashlib.sha256).hexdigest()


def _rechain(db: Path, seal: Callable[[str, dict[str, object]], str], change: Callable[[dict], None]) -> str:
    """Rewrite every entry (after `change` edits their fields) and chain them again; returns the
    newest digest (for a forged head)."""
    rows = [dict(r) for r in _rows(db)]
    prev = GENESIS
    with contextlib.closing(sqlite3.connect(db)) as c, c:
        for r in rows:
            change(r)
            digest = seal(prev, _fields(r))
            c.execute(
                "UPDATE audit SET action = ?, user = ?, prev = ?, digest = ? WHERE seq = ?",
                (r["action"], r["user"], prev, digest, r["seq"]),
            )
            prev = digest
    return prev


def _append(db: Path, seal: Callable[[str, dict[str, object]], str], action: str) -> None:
    """A correctly chained entry after the newest one: a forged automatic FRBACKUP RC 0."""
    last = _rows(db)[-1]
    row = dict(last)
    row.update(
        seq=last["seq"] + 1,
        action=action,
        user="root",
        origin="AUTO",
        decision="ALLOWED",
        return_code=0,
        message_ids='["ARC1802I"]',
    )
    digest = seal(last["digest"], _fields(row))
    cols = [k for k in row if k not in ("prev", "digest")]
    _sql(
        db,
        f"INSERT INTO audit ({', '.join(cols)}, prev, digest) VALUES ({', '.join('?' * (len(cols) + 2))})",
        params=(*[row[k] for k in cols], last["digest"], digest),
    )


def _write_head(site: Path, seq: int, digest: str, key_id: str) -> None:
    (site / "audit.head").write_text(f"{seq:>20} {digest} {key_id}\n")


@pytest.fixture
def trail(tmp_path, capsys) -> tuple[Path, Path]:
    """A site with a trail of commands (run as the CLI runs them, so its log has checkpoints),
    and an export kept elsewhere."""
    site = make_site(tmp_path / "site")
    for cmd in ("FRBACKUP COPYPOOL(PAY)", "LIST COPYPOOL(PAY)", "QUERY COPYPOOL(PAY)", "HOLD FRBACKUP"):
        assert _run(capsys, "hsm", cmd, "--site", str(site))[0] == 0
    rc, exported, _ = _run(capsys, "audit", "export", "--site", str(site))
    assert rc == 0 and json.loads(exported.splitlines()[-1])["head"]["seq"] >= 6
    export = tmp_path / "kept-elsewhere.jsonl"
    export.write_text(exported)
    _run(capsys, "hsm", "RELEASE FRBACKUP", "--site", str(site))
    assert _verify(capsys, site)[0] == 0
    assert "FPL720I AUDIT CHECKPOINT" in (site / "flashpool.log").read_text()
    return site, export


def _key(site: Path) -> bytes:
    return (site / "keys" / "audit.key").read_bytes()


SIMPLE = {
    "an edited entry": ("UPDATE audit SET action = 'LIST COPYPOOL(HR)' WHERE seq = 3", "does not carry a valid seal"),
    "an edited user": ("UPDATE audit SET user = 'nobody' WHERE seq = 4", "does not carry a valid seal"),
    "an edited result": ("UPDATE audit SET return_code = 36, decision = 'DENIED' WHERE seq = 2", "valid seal"),
    "an entry deleted in the middle": ("DELETE FROM audit WHERE seq = 3", "entry 3 is missing"),
    "the newest entry deleted": ("DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)", "removed from the end"),
    "every entry deleted": ("DELETE FROM audit", "removed from the end"),
}


@pytest.mark.parametrize("what", list(SIMPLE))
def test_a_changed_or_removed_entry_is_found(trail, capsys, what):
    site, _ = trail
    sql, expected = SIMPLE[what]
    _sql(site / "catalog.db", sql)
    rc, said = _verify(capsys, site)
    assert rc == 8 and expected in said and "FAILS verification" in said, said


def test_reordered_entries_are_found(trail, capsys):
    site, _ = trail
    db = site / "catalog.db"
    _sql(
        db,
        "UPDATE audit SET seq = -1 WHERE seq = 2",
        "UPDATE audit SET seq = 2 WHERE seq = 3",
        "UPDATE audit SET seq = 3 WHERE seq = -1",
    )
    rc, said = _verify(capsys, site)
    assert rc == 8 and "does not follow the entry before it" in said, said


def test_an_empty_trail_and_no_head_on_a_site_with_activity_is_found(trail, capsys):
    site, _ = trail
    _sql(site / "catalog.db", "DELETE FROM audit")
    (site / "audit.head").unlink()
    (site / "flashpool.log").unlink()  # and the checkpoints in the log
    rc, said = _verify(capsys, site)
    assert rc == 8 and "the trail is empty but the activity log holds" in said, said


@pytest.mark.parametrize("seal", ["sha256", "wrong key"])
def test_a_correctly_chained_forgery_is_found_and_the_server_never_chains_onto_it(trail, capsys, seal):
    site, _ = trail
    db = site / "catalog.db"
    sealer = _sha if seal == "sha256" else _hmac(b"k" * 32)
    _append(db, sealer, "FRBACKUP COPYPOOL(PAY) EXECUTE")
    forged = _rows(db)[-1]
    # the next open (a server's start) goes on from the last authentic entry, and says so
    site_open = Site.open(site)
    try:
        assert any("FPL724E" in n and f"ENTRIES {forged['seq']}-{forged['seq']}" in n for n in site_open.audit_notes)
    finally:
        site_open.close_files()
    rc, said = _verify(capsys, site)
    assert rc == 8 and f"entry {forged['seq']} does not carry a valid seal" in said, said
    assert f"entries {forged['seq']}-{forged['seq']} come after the newest entry the head file recorded" in said
    assert _run(capsys, "hsm", "QUERY SETSYS", "--site", str(site))[0] == 0
    rows = _rows(db)
    authentic = next(r for r in rows if r["seq"] == forged["seq"] - 1)
    after = [r for r in rows if r["seq"] > forged["seq"]]
    assert after and after[0]["prev"] == authentic["digest"]  # chained past the forgery, not onto it
    rc, said = _verify(capsys, site)
    assert rc == 8 and f"entry {forged['seq']} does not carry a valid seal" in said  # never made permanent


def test_a_trail_rewritten_with_the_key_is_found_by_the_logs_checkpoints_and_by_an_earlier_export(trail, capsys):
    """The forger holds the server's user: it re-chains the trail with the real key and writes
    a new head. The checkpoints in the site's log still name the old digests; once the forger
    rewrites the log too, only a copy kept elsewhere (an export) proves the rewrite."""
    site, export = trail
    db = site / "catalog.db"
    key = _key(site)
    key_id = hashlib.sha256(key).hexdigest()[:16]

    def blame(r: dict) -> None:
        if r["seq"] == 2:
            r["user"] = "mallory"

    newest = _rechain(db, _hmac(key), blame)
    _write_head(site, _rows(db)[-1]["seq"], newest, key_id)
    rc, said = _verify(capsys, site)
    assert rc == 8 and "is not the entry flashpool.log line" in said and "the trail was rewritten" in said, said
    # the log rewritten as well: the site alone cannot tell (docs/SECURITY.md) ...
    (site / "flashpool.log").write_text("")
    assert _verify(capsys, site)[0] == 0
    # ... an export kept elsewhere can
    rc, said = _verify(capsys, site, export)
    assert rc == 8 and f"is not the entry {export} line" in said, said


def test_a_replaced_key_is_found_and_named(trail, capsys):
    site, export = trail
    db = site / "catalog.db"
    new = b"n" * 32
    new_id = hashlib.sha256(new).hexdigest()[:16]
    (site / "keys" / "audit.key").write_bytes(new)
    rc, said = _verify(capsys, site)  # the key alone replaced: every seal fails, and the setting says so
    assert rc == 8 and "does not carry a valid seal" in said and f"keys/audit.key is key {new_id}" in said, said
    # everything re-sealed under the new key, the catalog's setting and the head too
    newest = _rechain(db, _hmac(new), lambda r: None)
    _sql(db, "UPDATE site_setting SET value = ? WHERE key = 'audit_key_id'", params=(new_id,))
    _write_head(site, _rows(db)[-1]["seq"], newest, new_id)
    rc, said = _verify(capsys, site)
    assert rc == 8 and "the key was replaced and the trail sealed again" in said, said  # the log's checkpoints
    (site / "flashpool.log").write_text("")
    assert _verify(capsys, site)[0] == 0  # undetectable by the site alone once its log is rewritten
    rc, said = _verify(capsys, site, export)
    assert rc == 8 and "the key was replaced" in said, said


def test_a_missing_key_stops_the_site_from_opening_and_a_stop_while_sealing_is_finished(trail, capsys):
    site, _ = trail
    from engine.security.audit import AuditKeyMissing

    (site / "keys" / "audit.key").rename(site / "keys" / "elsewhere")
    with pytest.raises(AuditKeyMissing, match="restore it from the site's backup"):
        Site.open(site)
    # a stop after the catalog named a new key but before it was renamed into place
    (site / "keys" / "elsewhere").rename(site / "keys" / "audit.key.new")
    Site.open(site).close_files()
    assert (site / "keys" / "audit.key").exists() and _verify(capsys, site)[0] == 0


def test_the_verify_of_a_pristine_trail_passes_with_its_export(trail, capsys):
    site, export = trail
    rc, said = _verify(capsys, site, export)
    assert rc == 0 and "checkpoint(s) from 1 file(s) matched" in said, said


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("garbage\n", "holds no audit checkpoint"),
        ("", "holds no audit checkpoint"),
        ('{"foo": 1}\n', "line 1 is not an audit entry"),
        (None, "line 3 is not an audit entry"),  # the export with a line that is none of its entries
    ],
)
def test_a_file_that_is_no_log_or_export_is_refused_not_passed(trail, capsys, tmp_path, text, why):
    """`--against` compares the trail with what the file holds: a file that holds nothing to
    compare must not let the verify say it matched."""
    site, export = trail
    given = tmp_path / "given.jsonl"
    if text is None:
        lines = export.read_text().splitlines()
        text = "\n".join([*lines[:2], "not json", *lines[2:]]) + "\n"
    given.write_text(text)
    rc, said = _verify(capsys, site, given)
    assert rc == 12 and why in said and "nothing was compared" in said and "verifies" not in said, said


def test_a_trail_from_before_keys_is_checked_then_sealed(tmp_path, capsys):
    """A catalog upgraded from revision 0005 holds a plain SHA-256 chain: the first open checks
    it, seals it under a new key and says what it found in the sealing entry."""
    site = make_site(tmp_path / "site")
    db = site / "catalog.db"
    assert _run(capsys, "hsm", "HOLD FRBACKUP", "--site", str(site))[0] == 0
    # as the previous release left it: a SHA-256 chain, no key, no setting, a two-field head
    newest = _rechain(db, _sha, lambda r: None)
    _sql(db, "DELETE FROM site_setting WHERE key = 'audit_key_id'")
    shutil.rmtree(site / "keys")
    (site / "flashpool.log").unlink()  # the previous release wrote no checkpoints
    rows = _rows(db)
    (site / "audit.head").write_text(f"{rows[-1]['seq']:>20} {newest}\n")
    _sql(db, "UPDATE audit SET action = 'HOLD ALL' WHERE seq = 2")  # changed while it had no key
    opened = Site.open(site)
    try:
        (note,) = opened.audit_notes
        assert note.startswith("FPL721I AUDIT SEAL:") and "entry 2 was changed after it was written" in note, note
    finally:
        opened.close_files()
    assert (site / "keys" / "audit.key").exists()
    rc, said = _verify(capsys, site)
    assert rc == 0, said  # sealed from here on: what it found is in the trail itself
    sealed = [r for r in _rows(db) if r["action"].startswith("AUDIT SEAL:")][-1]
    assert sealed["seq"] == rows[-1]["seq"] + 1 and sealed["return_code"] == 8 and sealed["decision"] == "SYSTEM"
