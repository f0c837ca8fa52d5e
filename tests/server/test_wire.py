"""The wire form of the engine's values: what goes out comes back equal, and data that does not
fit is refused with the place and the reason (the server's 400s and the client's checks)."""

from __future__ import annotations

import datetime as dt
import typing
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.events import ActivityLogged, CopyProgress, Event
from engine.flashcopy.relationship import CopyMode
from engine.storageviews import VolumeView
from server import wire

GOOD_VOLUME = {
    "volser": "A",
    "model": "3390-3",
    "tracks": 1,
    "track_size": 2,
    "storage_group": None,
    "online": True,
    "available": True,
    "used_tracks": 0,
    "relationships": 0,
}

MISFITS: list[tuple[object, object, str]] = [
    (list[VolumeView], [{"volser": 1}], "$[0].volser: must be a string"),
    (list[VolumeView], [{"volser": "A"}], "$[0]: missing field 'model'"),
    (list[VolumeView], "x", "$: must be an array"),
    (list[VolumeView], [{**GOOD_VOLUME, "bogus": 1}], "$[0]: unknown field 'bogus'"),
    (list[VolumeView], [GOOD_VOLUME, {**GOOD_VOLUME, "model": 3}], "$[1].model: must be a string"),
    (list[VolumeView], [GOOD_VOLUME, {**GOOD_VOLUME, "tracks": True}], "$[1].tracks: must be an integer"),
    (list[VolumeView], [{**GOOD_VOLUME, "storage_group": 5}], "$[0].storage_group: must be a string"),
    (int | str, 1.5, "$: fits none of its types ($: must be an integer; $: must be a string)"),
    (int | None, "x", "$: must be an integer"),
    (
        int | list[int | str],
        [1, 2.5],
        "$: fits none of its types ($: must be an integer; "
        "$[1]: fits none of its types ($[1]: must be an integer; $[1]: must be a string))",
    ),
    (tuple[int, str], [1], "$: must have 2 items"),
    (tuple[int, str], [1, 2], "$[1]: must be a string"),
    (tuple[int, ...], [1, "a"], "$[1]: must be an integer"),
    (dict[str, int], {"a": "b"}, "$.a: must be an integer"),
    (dict[int, int], {"a": 1}, "$: must be an integer"),
    (CopyMode, "nope", "$: must be one of 'COPY', 'NOCOPY'"),
    (CopyMode, [1], "$: must be one of 'COPY', 'NOCOPY'"),
    (bytes, "zz", "$: must be a hex string"),
    (bytes, 1, "$: must be a hex string"),
    (dt.date, "2020-13-01", "$: must be a date (yyyy-mm-dd)"),
    (dt.date, 5, "$: must be a date (yyyy-mm-dd)"),
    (Path, 5, "$: must be a string"),
    (typing.Literal["a", "b"], "c", "$: must be one of 'a', 'b'"),
    (Event, {"type": "Nope"}, "$.type: not an event of type Event"),
    (Event, [], "$: must be an object"),
    (Event, {"type": "ActivityLogged"}, "$: missing field 'at'"),
    (float, True, "$: must be a number"),
    (bool, 1, "$: must be true or false"),
    (None, 1, "$: must be null"),
]


@pytest.mark.parametrize(("tp", "data", "message"), MISFITS)
def test_data_that_does_not_fit_is_refused_with_where_and_why(tp, data, message):
    with pytest.raises(wire.WireError) as err:
        wire.decode(tp, data)
    assert str(err.value).startswith(message)


def test_plain_conversions():
    assert wire.decode(float, 3) == 3.0 and isinstance(wire.decode(float, 3), float)
    assert wire.decode(set[int], [1, 1, 2]) == {1, 2}
    assert wire.decode(frozenset[str], ["a"]) == frozenset({"a"})
    assert wire.encode(float("nan")) is None
    assert wire.encode(b"\x01\xab") == "01AB"
    assert wire.encode({3: CopyMode.COPY}) == {"3": "COPY"}


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
volumes = st.builds(
    VolumeView,
    volser=names,
    model=names,
    tracks=st.integers(0, 2**40),
    track_size=st.integers(0, 2**20),
    storage_group=st.none() | names,
    online=st.booleans(),
    available=st.booleans(),
    used_tracks=st.integers(0, 2**40),
    relationships=st.integers(0, 10_000),
    why_unavailable=names,
)
events = st.builds(
    ActivityLogged,
    at=st.floats(0, 2e9),
    origin=names,
    command=names,
    copy_pool=st.none() | names,
    return_code=st.integers(0, 16),
    user=st.none() | names,
) | st.builds(
    CopyProgress,
    at=st.floats(0, 2e9),
    rel_id=st.integers(0, 2**31),
    source=names,
    target=names,
    out_of_sync=st.integers(0, 2**20),
    length=st.integers(0, 2**20),
    copied=st.integers(0, 2**20),
    rate=st.floats(0, 1e6),
)


@given(st.lists(volumes, max_size=20))
def test_volumes_come_back_equal_through_json(vols):
    assert wire.decode(list[VolumeView], orjson.loads(orjson.dumps(wire.encode(vols)))) == vols


@given(st.lists(events, max_size=10))
def test_events_come_back_as_their_own_class(evs):
    back = wire.decode(list[Event], orjson.loads(orjson.dumps(wire.encode(evs))))
    assert back == evs
    assert [type(e) for e in back] == [type(e) for e in evs]


def test_an_event_carries_its_class_name_first():
    e = ActivityLogged(at=1.0, origin="CLI", command="LIST", copy_pool=None, return_code=0)
    assert next(iter(wire.encode(e))) == "type"
    assert wire.encode(e)["type"] == "ActivityLogged"
