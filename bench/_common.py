"""Shared benchmark helpers: a scratch directory on the project's disk, filled volumes, RESULT lines."""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.geometry import Geometry
from engine.storage import Volume

SCRATCH = Path(os.environ.get("FLASHPOOL_BENCH_DIR", Path(__file__).parent / ".scratch"))


@contextmanager
def scratch(name: str) -> Iterator[Path]:
    path = SCRATCH / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def filled_volume(root: Path, volser: str, geometry: Geometry, every: int = 1, run: int = 1024) -> Volume:
    """A volume with every `every`-th track written (distinct data per track)."""
    vol = Volume.create(root / f"{volser}.img", volser, geometry)
    block = os.urandom(geometry.track_size)
    for first in range(0, geometry.tracks, run):
        n = min(run, geometry.tracks - first)
        tracks = []
        for k in range(first, first + n):
            tracks.append(k.to_bytes(8, "big") + block[8:])
        if every == 1:
            vol.write_tracks_sync(first, tracks)
        else:
            for i, data in enumerate(tracks):
                if (first + i) % every == 0:
                    vol.write_track_sync(first + i, data)
    return vol


def result(metric: str, value: float, op: str, goal: float, fmt: str = ".3f") -> bool:
    ok = {"<=": value <= goal, ">=": value >= goal, "<": value < goal, ">": value > goal, "==": value == goal}[op]
    print(f"RESULT {metric} {value:{fmt}} {op} {goal:g}{'' if ok else '   (goal missed)'}", flush=True)
    return ok


def paired_ratio(rounds: int, base: Callable[[int], float], ours: Callable[[int], float], label: str) -> float:
    """base/ours time ratio, fair on a disk that bursts: each round times both, the side that
    goes first alternates (a virtual disk's burst budget favours whoever writes first, by 3-4x on
    this machine), and the rounds' ratios are combined by their geometric mean, so the order
    effect cancels out. Each side starts with no dirty pages waiting."""
    logs = []
    for r in range(rounds):
        times: dict[str, float] = {}
        sides = [("base", base), ("ours", ours)]
        for name, fn in sides if r % 2 == 0 else sides[::-1]:
            os.sync()
            times[name] = fn(r)
        logs.append(math.log(times["base"] / times["ours"]))
        first = "base" if r % 2 == 0 else "ours"
        print(
            f"round {r + 1} ({first} first): {label} base {times['base']:.2f} s, ours {times['ours']:.2f} s, "
            f"ratio {times['base'] / times['ours']:.2f}"
        )
    return math.exp(sum(logs) / len(logs))


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
