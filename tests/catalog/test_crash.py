"""Crash safety, for real: SIGKILL a process doing random FlashCopy work, reopen, compare.

What this proves: after a *process* crash (SIGKILL) at any instant, every acknowledged write,
establish, refresh, reverse and withdraw is reflected exactly, and background copies resume and
finish without changing any volume's logical content. Data written with pwrite survives a
SIGKILL in the page cache, so this does not prove power-loss durability; that needs
FlashCopyOptions(durable=True) (fdatasync before each commit) and SQLite synchronous=FULL.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.definition import parse_definition
from engine.site import Site
from tests.catalog.crash_child import TRACK_SIZE, TRACKS, VOLS, data
from tests.catalogs import both_catalogs
from tests.engine.model import FlashCopyModel

SOAK = bool(os.environ.get("FLASHPOOL_SOAK"))
KILLS = int(os.environ.get("FLASHPOOL_CRASH_KILLS", "300" if SOAK else "20"))
ROOT = Path(__file__).resolve().parents[2]


def apply(model: FlashCopyModel, it: dict, result: dict, seed: int) -> None:
    kind = it["kind"]
    if kind == "write":
        for i in range(it["n"]):
            model.write(it["vol"], it["k"] + i, data(seed, it["op"], i))
    elif kind == "establish" or kind == "refresh":
        model.flash(it["src"], it["s"], it["tgt"], it["t"], it["n"])
    elif kind == "reverse":
        model.flash(it["tgt"], it["t"], it["src"], it["s"], it["n"])
        if it["fast"]:
            model.invalidate(it["tgt"], list(range(it["t"], it["t"] + it["n"])))
    elif kind == "withdraw":
        model.invalidate(it["tgt"], result.get("invalid", list(range(it["t"], it["t"] + it["n"]))))


def mismatches(model: FlashCopyModel, state: dict[str, list[bytes]]) -> list[str]:
    return [
        f"{v}:{k}" for v in VOLS for k, want in enumerate(model.tracks[v]) if want is not None and state[v][k] != want
    ]


def copy_model(m: FlashCopyModel) -> FlashCopyModel:
    c = FlashCopyModel({v: TRACKS for v in VOLS}, TRACK_SIZE, 12)
    c.tracks = {v: list(ts) for v, ts in m.tracks.items()}
    return c


async def check_site(path: Path, model: FlashCopyModel, inflight: tuple[dict, int] | None) -> FlashCopyModel:
    site = Site.open(path)
    try:
        fc = site.flashcopy
        state = {v: await fc.read_run(v, 0, TRACKS) for v in VOLS}
        model = resolve(model, inflight, state)
        bad = mismatches(model, state)
        assert not bad, f"diverged after reopen on {bad[:8]} (in flight: {inflight})"
        await fc.drain()  # let every background copy finish from the persisted maps
        after = {v: await fc.read_run(v, 0, TRACKS) for v in VOLS}
        bad = mismatches(model, after)
        assert not bad, f"diverged after the resumed copies finished on {bad[:8]}"
        physical = {v: site.context.volume(v).read_tracks_sync(0, TRACKS) for v in VOLS}
        assert not any(r.mode.value == "COPY" and r.out_of_sync for r in fc.relationships())
        for rel in fc.relationships():  # finished targets physically hold their data
            if rel.mode.value == "COPY":
                seg = physical[rel.target][rel.target_start : rel.target_start + rel.length]
                assert seg == after[rel.target][rel.target_start : rel.target_start + rel.length]
        return model
    finally:
        await site.close()


def resolve(model: FlashCopyModel, inflight: tuple[dict, int] | None, state: dict) -> FlashCopyModel:
    """The operation in flight at the kill may or may not have happened: pick what the disk says."""
    if inflight is None:
        return model
    it, seed = inflight
    if it["kind"] == "write":  # a killed pwrite may land partly: decide per track
        for i in range(it["n"]):
            new = data(seed, it["op"], i)
            if state[it["vol"]][it["k"] + i] == new:
                model.write(it["vol"], it["k"] + i, new)
        return model
    without = model
    with_op = copy_model(model)
    apply(with_op, it, {}, seed)
    for candidate in (without, with_op):
        if not mismatches(candidate, state):
            return candidate
    return without  # neither matches: the caller reports the divergence


@both_catalogs
def test_sigkill_at_random_moments_loses_nothing_acknowledged(tmp_path, catalog_url):
    path = tmp_path / "site"
    asyncio.run(
        Site.create(
            path,
            parse_definition({"volume": [{"volser": v, "tracks": TRACKS, "track_size": TRACK_SIZE} for v in VOLS]}),
            catalog_url=catalog_url,
        ).close()
    )
    model = FlashCopyModel({v: TRACKS for v in VOLS}, TRACK_SIZE, 12)
    rng = random.Random(int(os.environ.get("FLASHPOOL_CRASH_SEED", "1")))
    log = tmp_path / "ops.log"
    log.touch()
    offset = 0
    acknowledged = 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kills = KILLS if catalog_url is None or SOAK else KILLS // 3  # PostgreSQL: a third in make test, all in make soak
    for kill in range(kills):
        seed = kill + 1
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.catalog.crash_child", str(path), str(log), str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == b"ready", child.stderr.read().decode() if child.stderr else ""
        time.sleep(rng.uniform(0.0, 0.25))
        child.send_signal(signal.SIGKILL)
        child.wait()
        err = child.stderr.read().decode() if child.stderr else ""
        assert "Traceback" not in err, err

        text = log.read_text()
        lines = text[offset:].splitlines()
        offset = len(text)
        pending: dict | None = None
        for raw in lines:
            entry = json.loads(raw)
            if "intent" in entry:
                pending = entry["intent"]
            else:
                assert pending is not None and entry["done"] == pending["op"]
                if "refused" not in entry:
                    apply(model, pending, entry["result"], seed)
                    acknowledged += 1
                pending = None
        model = asyncio.run(check_site(path, model, (pending, seed) if pending else None))
    assert acknowledged > kills  # the kills really landed amid work, not before it
    print(f"{kills} kills survived, {acknowledged} acknowledged operations checked")


@pytest.mark.parametrize("n", [1])
def test_child_module_is_importable(n):
    """The crash child must import cleanly (a broken child would make the crash test vacuous)."""
    out = subprocess.run(
        [sys.executable, "-c", "import tests.catalog.crash_child"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
