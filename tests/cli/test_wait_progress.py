"""`flashpool hsm ... --wait` on a terminal: a progress line redrawn in place (bar, percent,
tracks left of the total, copies running, ETA from the pace seen), at least every second even
while no status comes; nothing at all when standard error is not a terminal, or with --json."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import re
import sys
import time

import pytest

from cli.progress import Pace, progress_line
from cli.wait import wait_copies
from engine.api import LocalSite, SiteStatus
from engine.definition import parse_definition
from engine.flashcopy.controller import CopierSettings
from engine.site import Site

# -- the line -----------------------------------------------------------------------------------


def test_the_line_before_any_pace_has_an_empty_bar_and_no_eta():
    line = progress_line(0, 1000, 2, None, 100)
    assert line.startswith("copying [░")
    assert "█" not in line
    assert line.endswith("]   0%  1,000 of 1,000 tracks left, 2 copies running, ETA —")


def test_half_copied_fills_half_the_bar_and_says_when_it_ends():
    line = progress_line(500, 1000, 1, 10.0, 100)
    bar = line[line.index("[") + 1 : line.index("]")]
    assert set(bar) == {"█", "░"} and abs(bar.count("█") - bar.count("░")) <= 1
    assert line.endswith("  50%  500 of 1,000 tracks left, 1 copy running, ETA 50s")


def test_percent_reaches_100_only_when_nothing_is_left():
    assert " 99% " in progress_line(999, 1000, 1, 1.0, 100)
    done = progress_line(1000, 1000, 1, 1.0, 100)
    assert "100%" in done and "░" not in done and "0 of 1,000 tracks left" in done


@pytest.mark.parametrize(
    ("left", "rate", "shown"),
    [(6000, 10.0, "ETA 10m"), (90, 1.0, "ETA 90s"), (100, 0.0, "ETA —"), (100, None, "ETA —")],
)
def test_the_eta_is_the_tracks_left_at_the_pace_seen(left, rate, shown):
    assert progress_line(10_000 - left, 10_000, 2, rate, 120).endswith(shown)


def test_no_copies_to_count_is_no_division_by_zero():
    assert "100%" in progress_line(0, 0, 0, None, 80)


def test_the_line_never_fills_the_terminal_and_keeps_its_bar_down_to_a_narrow_one():
    for width in range(0, 200):
        line = progress_line(48_085, 100_170, 2, 1234.5, width)
        assert len(line) <= max(width - 1, 0), (width, line)
        if width >= 80:  # a terminal of 80 columns or more
            assert "100,170 tracks left, 2 copies running, ETA 42s" in line and "█░" in line, line
        if width >= 65:
            assert "█░" in line and "ETA 42s" in line and "52,085" in line and "100,170" in line, line
        elif width >= 52:
            assert line == "copying  48% 52,085/100,170 left, 2 copies, ETA 42s", line  # no room for a bar
        elif width >= 20:
            assert line == "copying 48% ETA 42s", line  # no number cut short
    assert "tracks left" in progress_line(48_085, 100_170, 2, 1234.5, 120)
    assert "52,085/100,170 left, 2 copies," in progress_line(48_085, 100_170, 2, 1234.5, 70)  # the short wording


# -- the pace -------------------------------------------------------------------------------------


def test_the_pace_needs_a_second_of_progress_seen():
    pace = Pace(window=10, least=1)
    assert pace.rate() is None
    pace.see(0.0, 1000)
    pace.see(0.5, 900)
    assert pace.rate() is None
    pace.see(1.0, 800)
    assert pace.rate() == 200.0


def test_the_pace_is_that_of_the_recent_window():
    pace = Pace(window=10, least=1)
    for at, left in ((0.0, 1000), (5.0, 500), (20.0, 400), (21.0, 300)):
        pace.see(at, left)
    assert pace.rate() == (500 - 300) / (21 - 5)  # the start at 1000 tracks a second is long past


def test_a_stall_is_a_pace_of_zero_and_a_new_copy_starts_the_pace_again():
    pace = Pace(window=10, least=1)
    pace.see(0.0, 100)
    pace.see(2.0, 100)
    assert pace.rate() == 0.0
    pace.see(3.0, 5000)  # more to copy than before
    assert pace.rate() is None


# -- the wait -------------------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _site(tmp_path, tracks: int, rate: float | None) -> Site:
    """Two pairs of `tracks`-track volumes, each pair in a FlashCopy relationship whose background
    copy goes at `rate` tracks a second (None: as fast as it goes)."""
    volumes = [{"volser": v, "tracks": tracks, "track_size": 64} for v in ("A", "B", "C", "D")]
    site = Site.create(tmp_path / "site", parse_definition({"volume": volumes}))
    site.flashcopy.settings = CopierSettings(chunk_tracks=8, tracks_per_second=rate)
    return site


async def _copying(site: Site) -> None:
    await site.flashcopy.establish(source="A", target="B")
    await site.flashcopy.establish(source="C", target="D")


async def test_on_a_terminal_the_wait_shows_a_bar_with_the_tracks_left_and_an_eta(tmp_path, monkeypatch):
    site = _site(tmp_path, tracks=100, rate=40.0)  # 2.5 s of copying
    try:
        await _copying(site)
        terminal = FakeTerminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        assert await asyncio.wait_for(wait_copies(LocalSite(site), quiet=False), 60) == 0
    finally:
        monkeypatch.undo()
        await site.close()
    shown = terminal.getvalue()
    lines = shown.split("\r")
    line = r"copying \[█*░*\] +\d+%  [\d,]+ of 200 tracks left, [12] cop(y|ies) running, ETA "
    assert any(re.fullmatch(line + "—", s.rstrip()) for s in lines), shown  # before there is a pace
    assert any(re.fullmatch(line + r"\d+s", s.rstrip()) for s in lines), shown  # then its ETA
    assert lines[-1].endswith("\n") and lines[-1].strip() == "copying: complete"
    assert "\n" not in shown[:-1]  # one line, redrawn in place


async def test_the_line_is_redrawn_every_half_second_while_no_status_comes(monkeypatch):
    status = SiteStatus(
        site="S",
        demo=False,
        mode="server",
        user="u",
        clock=0.0,
        copies=1,
        out_of_sync=60,
        tracks=100,
        parked={},
        background=0,
        holds=(),
        pid=1,
        started_at=0.0,
        clients=0,
        backlog=0,
        version="0",
        durable=True,
    )

    class SlowServer:
        """A status now, then none for 2.2 seconds (a busy server), then the copy is done."""

        async def wait_copies(self, progress=None):
            assert progress is not None
            progress(status)
            await asyncio.sleep(2.2)
            progress(dataclasses.replace(status, copies=0, out_of_sync=0, tracks=0))
            return {}

    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    started = time.monotonic()
    assert await wait_copies(SlowServer(), quiet=False) == 0  # type: ignore[arg-type]
    monkeypatch.undo()
    assert time.monotonic() - started < 5
    drawn = terminal.getvalue().count("\rcopying [")
    assert drawn >= 5, terminal.getvalue()  # the status's draw, then one each half second
    assert "60 of 100 tracks left, 1 copy running, ETA —" in terminal.getvalue()


@pytest.mark.parametrize(("stderr", "quiet"), [(io.StringIO, False), (FakeTerminal, True)], ids=["pipe", "json"])
async def test_not_on_a_terminal_or_with_json_the_wait_prints_nothing(tmp_path, monkeypatch, stderr, quiet):
    site = _site(tmp_path, tracks=64, rate=None)
    try:
        await _copying(site)
        err = stderr()
        monkeypatch.setattr(sys, "stderr", err)
        assert await asyncio.wait_for(wait_copies(LocalSite(site), quiet=quiet), 60) == 0
        assert not site.flashcopy.core.copy_candidates()  # it did wait for the copies
    finally:
        monkeypatch.undo()
        await site.close()
    assert err.getvalue() == ""
