"""Every theme's text colours meet WCAG AA against the backgrounds they are drawn on, computed
from the theme definitions (not from screenshots), and meaning never rests on colour alone."""

from __future__ import annotations

import pytest
from textual.color import Color

from console import format as fmt
from engine.flashcopy.relationship import RelState
from engine.states import DasdState, DumpState
from themes import ALL_THEMES, TEXT_COLOURS

BACKGROUNDS = ("background", "surface", "panel")
AA_TEXT = 4.5


def luminance(c: Color) -> float:
    def channel(v: int) -> float:
        x = v / 255
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)


def contrast(a: Color, b: Color) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def resolve(value: str, on: Color) -> Color:
    """A theme value as drawn on `on`: "auto 60%" is Textual's contrasting text at 60 %."""
    if value.startswith("auto"):
        parts = value.split()
        alpha = float(parts[1].rstrip("%")) / 100 if len(parts) > 1 else 1.0
        return on.blend(on.get_contrast_text(1.0), alpha)
    colour = Color.parse(value)
    return on.blend(colour, colour.a) if colour.a < 1 else colour


def variables(theme) -> dict[str, str]:
    out = theme.to_color_system().generate()
    out.update(theme.variables)
    return out


def test_the_wcag_formula_against_known_pairs():
    assert contrast(Color.parse("#000000"), Color.parse("#ffffff")) == pytest.approx(21.0)
    assert contrast(Color.parse("#777777"), Color.parse("#ffffff")) == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("theme", ALL_THEMES, ids=[t.name for t in ALL_THEMES])
def test_text_colours_meet_aa(theme):
    v = variables(theme)
    table = []
    for ground in BACKGROUNDS:
        base = Color.parse(v[ground])
        for name in TEXT_COLOURS:
            ratio = contrast(resolve(v[name], base), base)
            table.append((name, ground, ratio))
    low = [f"{n} on {g}: {r:.2f}" for n, g, r in table if r < AA_TEXT]
    assert not low, low
    footer = Color.parse(v["footer-background"])
    assert contrast(resolve(v["footer-key-foreground"], footer), footer) >= AA_TEXT
    assert contrast(resolve(v["footer-foreground"], footer), footer) >= AA_TEXT


def test_state_words_carry_their_meaning_and_the_theme_colours_them():
    for word, glyph in (
        (DasdState.RECOVERABLE, "✔"),
        (DasdState.FAILED, "✘"),
        (DumpState.PARTIAL, "▲"),
        (RelState.COPYING, "⟳"),
        (RelState.COPY_COMPLETE, "✔"),
    ):
        text = word.value if isinstance(word, RelState) else str(word)
        assert fmt.state(word).plain == f"{glyph} {text}"  # a glyph and the word, whatever the colour
    light = next(t for t in ALL_THEMES if t.name == "flashpool-light")
    saved = dict(fmt.PALETTE)
    try:
        fmt.use_theme(variables(light))
        assert str(fmt.state(DasdState.FAILED).style) == light.variables["state-bad"]
        assert str(fmt.state(DasdState.RECOVERABLE).style) == light.variables["state-ok"]
    finally:
        fmt.PALETTE.update(saved)


@pytest.mark.parametrize("theme", ALL_THEMES, ids=[t.name for t in ALL_THEMES])
def test_return_codes_take_the_themes_colours_and_meet_aa(theme):
    """The RC column kept the dark theme's colours in every theme (about 2.1:1 on the light one)."""
    v = variables(theme)
    saved = dict(fmt.PALETTE)
    try:
        fmt.use_theme(v)
        for code, role in ((0, "state-ok"), (4, "warning"), (8, "state-bad")):
            style = fmt.rc(code).style
            colour = Color.parse(str(style).split()[-1])
            assert colour == Color.parse(v[role]), (code, style)
            for ground in BACKGROUNDS:
                ratio = contrast(colour, Color.parse(v[ground]))
                assert ratio >= AA_TEXT, (theme.name, code, ground, round(ratio, 2))
    finally:
        fmt.PALETTE.clear()
        fmt.PALETTE.update(saved)
