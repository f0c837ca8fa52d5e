"""The progress line `flashpool hsm ... --wait` keeps on a terminal while the background copies
run: a bar, the percent copied, the tracks left of the total, the copies running and an ETA from
the pace seen; redrawn in place from every status the wait reads, and from a timer between them.

    copying [████████████░░░░░░░░░░░░]  52%  48,085 of 100,170 tracks left, 2 copies running, ETA 41s
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from console.format import eta

if TYPE_CHECKING:
    from engine.api import SiteStatus

BAR_MIN, BAR_MAX = 10, 40  # columns of the bar; below BAR_MIN the line has none
PACE_WINDOW = 10.0  # seconds of the recent past the pace is measured over
PACE_LEAST = 1.0  # seconds to have seen before there is a pace (and an ETA)
REDRAW_SECONDS = 0.5  # the line is redrawn at least this often, status or none
COLUMNS = 80  # when the terminal does not say how wide it is


def progress_line(done_tracks: int, total_tracks: int, copies: int, rate: float | None, width: int) -> str:
    """The line for `done_tracks` of `total_tracks` copied by `copies` copies at `rate` tracks a
    second (None: no pace yet, "ETA —"), in at most `width` - 1 columns (a line as wide as the
    terminal wraps, and the next redraw would start a new line). Narrower terminals get a shorter
    wording, then no bar, then fewer words."""
    total = max(total_tracks, 0)
    done = min(max(done_tracks, 0), total)
    left = total - done
    fraction = done / total if total else 1.0
    percent = math.floor(fraction * 100)  # 100% only once nothing is left
    ahead = eta(left, rate or 0.0)
    running = f"{copies} cop{'y' if copies == 1 else 'ies'}"
    tails = (
        f" {percent:3d}%  {left:,} of {total:,} tracks left, {running} running, ETA {ahead}",
        f" {percent:3d}% {left:,}/{total:,} tracks left, {running} running, ETA {ahead}",
        f" {percent:3d}% {left:,}/{total:,} left, {running}, ETA {ahead}",
    )
    room = width - 1
    for tail in tails:
        bar = min(BAR_MAX, room - len("copying []") - len(tail))
        if bar >= BAR_MIN:
            filled = math.floor(fraction * bar)
            return f"copying [{'█' * filled}{'░' * (bar - filled)}]{tail}"
    for line in (f"copying{tails[-1]}", f"copying {percent}% ETA {ahead}", f"{percent}% ETA {ahead}", f"{percent}%"):
        if len(line) <= room:  # too narrow for a bar: fewer words, never a number cut short
            return line
    return ""


class Pace:
    """Tracks copied a second over the last PACE_WINDOW seconds, from the tracks left as seen."""

    def __init__(self, window: float = PACE_WINDOW, least: float = PACE_LEAST) -> None:
        self.window = window
        self.least = least
        self._seen: deque[tuple[float, int]] = deque()

    def see(self, at: float, left: int) -> None:
        if self._seen and left > self._seen[-1][1]:  # more to copy than before (a new copy): start again
            self._seen.clear()
        self._seen.append((at, left))
        while len(self._seen) > 2 and self._seen[1][0] <= at - self.window:
            self._seen.popleft()

    def rate(self) -> float | None:
        """None until `least` seconds have been seen; 0.0 while nothing is copied."""
        if len(self._seen) < 2:
            return None
        (then, before), (now, left) = self._seen[0], self._seen[-1]
        if now - then < self.least:
            return None
        return (before - left) / (now - then)


def columns(stream: TextIO) -> int:
    """The width of the terminal `stream` writes to (COLUMNS when it does not say)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or COLUMNS
    except (AttributeError, OSError, ValueError):  # not a real terminal (io.UnsupportedOperation is both)
        return COLUMNS


class ProgressDisplay:
    """The progress line on `stream` (a terminal): `see` takes each status the wait reads,
    `redraw` keeps drawing between them, `end` leaves the line with a newline."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self.pace = Pace()
        self.status: SiteStatus | None = None
        self.completed = 0  # tracks of the copies that completed during the wait
        self.draws = 0
        self._shown = 0  # columns of the line now on the terminal

    def see(self, st: SiteStatus) -> None:
        if self.status is not None and st.tracks < self.status.tracks:  # a copy completed: out of the sums
            self.completed += self.status.tracks - st.tracks
        self.status = st
        self.pace.see(self.clock(), st.out_of_sync)
        self.draw()

    def draw(self) -> None:
        st = self.status
        if st is None or not st.copies:
            return
        total = self.completed + st.tracks
        running = max(st.copies - len(st.parked), 0)
        self._put(progress_line(total - st.out_of_sync, total, running, self.pace.rate(), columns(self.stream)))

    async def redraw(self, every: float = REDRAW_SECONDS) -> None:
        """Until cancelled: the line drawn again every `every` seconds, a status or none."""
        while True:
            await asyncio.sleep(every)
            self.draw()

    def end(self, complete: bool) -> None:
        """The line replaced by "copying: complete", or (a copy parked, the wait interrupted) left
        as it is; then a newline."""
        if complete:
            self._put("copying: complete")
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
        self._shown = 0

    def _put(self, line: str) -> None:
        self.stream.write("\r" + line + " " * max(self._shown - len(line), 0))
        self.stream.flush()
        self._shown = len(line)
        self.draws += 1
