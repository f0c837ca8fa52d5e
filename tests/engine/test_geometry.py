import pytest

from engine.errors import InvalidGeometry, InvalidVolser
from engine.geometry import (
    EAV_MAX_CYLINDERS,
    MODEL_CYLINDERS,
    TRACK_SIZE,
    custom_geometry,
    geometry_for,
    validate_volser,
)


@pytest.mark.parametrize(
    "model, cylinders, tracks",
    [
        ("3390-1", 1113, 16695),
        ("3390-2", 2226, 33390),
        ("3390-3", 3339, 50085),
        ("3390-9", 10017, 150255),
        ("3390-27", 32760, 491400),
        ("3390-54", 65520, 982800),
    ],
)
def test_models_match_the_3390_table(model, cylinders, tracks):
    g = geometry_for(model)
    assert (g.cylinders, g.tracks, g.track_size) == (cylinders, tracks, TRACK_SIZE)
    assert g.slot_size == 57344 and g.slot_size % 4096 == 0


def test_short_model_names_and_eav():
    assert geometry_for("54").model == "3390-54"
    eav = geometry_for("3390-A", EAV_MAX_CYLINDERS)
    assert eav.tracks == 17_730_090 and eav.is_eav
    with pytest.raises(InvalidGeometry, match="units of 1,113"):
        geometry_for("3390-A", 70_000)
    with pytest.raises(InvalidGeometry, match="65,667 to 1,182,006"):
        geometry_for("3390-A", 1113)
    with pytest.raises(InvalidGeometry, match="needs a cylinder count"):
        geometry_for("3390-A")
    with pytest.raises(InvalidGeometry, match="unknown device model"):
        geometry_for("3380-K")
    with pytest.raises(InvalidGeometry, match="has 1,113 cylinders"):
        geometry_for("3390-1", 5)


def test_cchh_round_trip_and_bounds():
    g = geometry_for("3390-3")
    assert g.cchh(0) == (0, 0) and g.cchh(16) == (1, 1)
    assert g.track_of(*g.cchh(50084)) == 50084
    with pytest.raises(InvalidGeometry, match="outside"):
        g.cchh(50085)
    with pytest.raises(InvalidGeometry):
        g.track_of(0, 15)
    with pytest.raises(InvalidGeometry, match="at least one track"):
        g.check_extent(0, 0)


def test_custom_geometry_for_tests():
    g = custom_geometry(30, 100)
    assert g.tracks == 30 and g.track_size == 100 and g.tracks_per_cylinder == 15
    assert custom_geometry(7, 10).tracks == 7
    assert not custom_geometry(7, 10).like(geometry_for("3390-1"))
    assert geometry_for("3390-1").like(geometry_for("3390-54"))


@pytest.mark.parametrize("raw, canonical", [("db0a01", "DB0A01"), ("A", "A"), ("$#@123", "$#@123"), (" vol1 ", "VOL1")])
def test_valid_volsers(raw, canonical):
    assert validate_volser(raw) == canonical


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("", "1 to 6"),
        ("ABCDEFG", "at most 6"),
        ("AB-1", "'-' is not allowed"),
        ("AB C", "' ' is not allowed"),
        ("SCRTCH", "reserved"),
        ("PRIVAT", "reserved"),
    ],
)
def test_invalid_volsers_say_why(raw, reason):
    with pytest.raises(InvalidVolser, match=reason):
        validate_volser(raw)


def test_model_table_is_complete():
    assert set(MODEL_CYLINDERS) == {"3390-1", "3390-2", "3390-3", "3390-9", "3390-27", "3390-54"}
