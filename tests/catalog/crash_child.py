"""Child process of the crash test: random FlashCopy work on a site until it is killed.

Every operation is logged as an intent before it starts and as done (with what it returned)
after; each log line is one O_APPEND write, so a SIGKILL never leaves half a line.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time

from engine.errors import FlashpoolError
from engine.flashcopy import CopierSettings, CopyMode, EstablishRequest
from engine.site import Site

VOLS = ["CRA", "CRB", "CRC", "CRD"]
TRACKS = 24
TRACK_SIZE = 512


class SlowJournal:
    """Widens the crash windows: sleeps a little before and after each commit, so that kills
    land between a data write and the commit that records it far more often."""

    def __init__(self, inner, rng: random.Random) -> None:
        self.inner, self.rng = inner, rng

    def commit(self, changed, removed, next_id) -> None:
        time.sleep(self.rng.choice((0, 0, 0.0005, 0.002)))
        self.inner.commit(changed, removed, next_id)
        time.sleep(self.rng.choice((0, 0, 0.0005, 0.002)))

    def reserve_ids(self, n):
        return self.inner.reserve_ids(n)


def data(seed: int, op: int, i: int) -> bytes:
    return f"S{seed}O{op}T{i}".encode().ljust(TRACK_SIZE, b"~")


async def run(site_path: str, log_path: str, seed: int) -> None:
    site = Site.open(site_path, copier=CopierSettings(concurrency=2, chunk_tracks=2, tracks_per_second=3000))
    fc = site.flashcopy
    fc.core.journal = SlowJournal(fc.core.journal, random.Random(seed * 7919))
    await site.start()
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def emit(obj: dict) -> None:
        os.write(fd, (json.dumps(obj) + "\n").encode())

    print("ready", flush=True)
    rng = random.Random(seed)
    op = 0
    while True:
        op += 1
        rels = fc.relationships()
        kind = rng.choice(["write"] * 5 + ["establish"] * 3 + ["refresh", "reverse", "withdraw", "mode", "idle"])
        if kind in ("refresh", "reverse", "withdraw", "mode") and not rels:
            kind = "write"
        intent: dict = {"op": op, "kind": kind}
        if kind == "write":
            vol = rng.choice(VOLS)
            n = rng.randint(1, 3)
            k = rng.randrange(TRACKS - n + 1)
            intent.update(vol=vol, k=k, n=n)
        elif kind == "establish":
            src, tgt = rng.sample(VOLS, 2)
            if rng.random() < 0.5:
                s = t = 0
                n = TRACKS
            else:
                n = rng.randint(1, 12)
                s, t = rng.randrange(TRACKS - n + 1), rng.randrange(TRACKS - n + 1)
            inc = rng.random() < 0.3
            intent.update(
                src=src, tgt=tgt, s=s, t=t, n=n, inc=inc, nocopy=rng.random() < 0.3 and not inc, next_id=fc.core.next_id
            )
        elif kind != "idle":
            r = rng.choice(rels)
            intent.update(
                id=r.id,
                src=r.source,
                s=r.source_start,
                tgt=r.target,
                t=r.target_start,
                n=r.length,
                fast=rng.random() < 0.5,
            )
        emit({"intent": intent})
        try:
            result = await perform(fc, intent, seed)
            emit({"done": op, "result": result})
        except FlashpoolError as exc:
            emit({"done": op, "refused": type(exc).__name__})


async def perform(fc, it: dict, seed: int) -> dict:
    kind = it["kind"]
    if kind == "write":
        await fc.write_run(it["vol"], it["k"], [data(seed, it["op"], i) for i in range(it["n"])])
        return {}
    if kind == "establish":
        rel = await fc.establish(
            EstablishRequest(
                it["src"],
                it["tgt"],
                it["s"],
                it["t"],
                it["n"],
                mode=CopyMode.NOCOPY if it["nocopy"] else CopyMode.COPY,
                persistent=it["inc"],
                incremental=it["inc"],
            )
        )
        return {"id": rel.id}
    if kind == "refresh":
        await fc.refresh(it["id"])
        return {}
    if kind == "reverse":
        await fc.reverse(it["id"], fast=it["fast"])
        return {}
    if kind == "withdraw":
        res = await fc.withdraw(it["id"])
        return {"invalid": [res.target_start + i for i in res.invalid.tracks()]}
    if kind == "mode":
        await fc.set_mode(it["id"], CopyMode.COPY)
        return {}
    await asyncio.sleep(0.003)
    return {}


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1], sys.argv[2], int(sys.argv[3])))
