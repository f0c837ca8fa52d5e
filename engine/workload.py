"""A batch-like workload: allocates, updates and deletes data sets on a copy pool's volumes, so
demos, walkthroughs and benchmarks have real changing data."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.catalog import constructs as repo
from engine.datasets.manager import DataSetError
from engine.errors import FlashpoolError
from engine.hsm import pool as pools

if TYPE_CHECKING:
    from engine.site import Site


@dataclass
class WorkloadStats:
    allocated: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    bytes_written: int = 0
    names: set[str] = field(default_factory=set)


async def run_workload(
    site: Site,
    copypool: str,
    *,
    rate: float = 20.0,
    seconds: float = 10.0,
    seed: int | None = None,
    prefix: str = "WKLD",
) -> WorkloadStats:
    def pool_volumes() -> list[str]:
        with site.catalog.session() as s:
            pool = repo.copy_pool(s, copypool)
            if pool is None:
                raise FlashpoolError(f"copy pool {copypool} is not defined")
            return [src.volser for src in pools.sources(s, pool) if src.volser in site.volumes]

    volumes = await asyncio.to_thread(pool_volumes)  # never a catalog read on the loop (a server runs it)
    if not volumes:
        raise FlashpoolError(f"copy pool {copypool} has no available volumes")
    rng = random.Random(seed)
    ds = site.datasets
    stats = WorkloadStats()
    stats.names = {i.name for i in await asyncio.to_thread(ds.on_volumes, volumes) if i.name.startswith(prefix + ".")}
    deadline = time.monotonic() + seconds
    serial = 0
    while time.monotonic() < deadline:
        started = time.monotonic()
        action = rng.choices(["allocate", "update", "delete"], [3, 6, 1])[0] if stats.names else "allocate"
        try:
            if action == "allocate":
                serial += 1
                name = f"{prefix}.J{rng.randrange(1000):03d}.D{(int(time.time()) * 1000 + serial) % 10**7:07d}"
                tracks = rng.randint(1, 6)
                vols = rng.sample(volumes, len(volumes))
                await ds.allocate(name, tracks, vols)
                stats.names.add(name)
                stats.allocated += 1
                action, target = "update", name
            else:
                target = rng.choice(sorted(stats.names))
            if action == "update":
                info = await asyncio.to_thread(ds.get, target)
                if info is None:
                    stats.names.discard(target)
                    continue
                ts = site.context.volume(info.extents[0].volser).geometry.track_size
                size = rng.randint(1, info.tracks * ts)
                line = f"{target} record {rng.randrange(10**8):08d} amount {rng.random() * 1e4:10.2f}\n".encode()
                await ds.write(target, (line * (size // len(line) + 1))[:size])
                stats.updated += 1
                stats.bytes_written += size
            elif action == "delete":
                await ds.delete(target)
                stats.names.discard(target)
                stats.deleted += 1
        except DataSetError:
            stats.skipped += 1  # e.g. a full volume: a batch job would get an ABEND here, we go on
        delay = 1.0 / rate - (time.monotonic() - started) if rate > 0 else 0
        await asyncio.sleep(max(0.0, delay))
    return stats
