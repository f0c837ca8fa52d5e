"""Site definitions from outside: every malformed shape is a DefinitionError listing located
problems, never a traceback; a definition that fails leaves nothing on disk."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.definition import DefinitionError, parse_definition
from engine.errors import FlashpoolError
from engine.site import Site

SOAK = os.environ.get("FLASHPOOL_SOAK") == "1"

GOOD = {
    "dump_class": [{"name": "ONSITE", "fast_replication_dump": "REQUIRED", "retention_days": 14}],
    "storage_group": [
        {"name": "SRC", "type": "POOL", "backup_group": "BK", "tracks": 8, "track_size": 64, "volumes": ["SRC001"]},
        {"name": "BK", "type": "COPYPOOLBACKUP", "tracks": 8, "track_size": 64, "volumes": ["BK0001", "BK0002"]},
    ],
    "copy_pool": [
        {"name": "POOL", "storage_groups": ["SRC"], "versions": 2, "dump_classes": [{"name": "ONSITE", "versions": 1}]}
    ],
}
WHERE = (
    "storage_group",
    "storage group",
    "copy_pool",
    "copy pool",
    "dump_class",
    "dump class",
    "volume",
    "section",
    "backup group",
    "definition",
    # the sections added with the site's security and parmlib: "role: must be written [[role]] ..."
    "role",
    "profile",
    "parmlib",
    "site",
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["POOL", "SRC", "BK", "ONSITE", "3390-1", "REQUIRED"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)
keys = st.sampled_from(
    [
        "name",
        "type",
        "backup_group",
        "tracks",
        "track_size",
        "cylinders",
        "model",
        "volumes",
        "versions",
        "storage_groups",
        "dump_classes",
        "online",
        "stack",
        "retention_days",
        "verions",
        "fast_reverse_restor",
        "volser",
    ]
)


@st.composite
def mutated(draw: st.DrawFn) -> object:
    """The good definition with a few values replaced, keys added or sections reshaped."""
    import copy

    data: dict = copy.deepcopy(GOOD)
    for _ in range(draw(st.integers(1, 4))):
        section = draw(st.sampled_from(["dump_class", "storage_group", "copy_pool", "volume", "odd"]))
        how = draw(st.integers(0, 3))
        if how == 0 or section not in data:
            data[section] = draw(values)
        elif how == 1 and isinstance(data[section], list) and data[section]:
            table = draw(st.sampled_from(data[section]))
            if isinstance(table, dict):
                table[draw(keys)] = draw(values)
        elif how == 2:
            data[section] = data[section][0] if isinstance(data[section], list) and data[section] else draw(values)
        else:
            data[section] = (data[section] if isinstance(data[section], list) else []) + [draw(values)]
    return data


def check(data: object) -> None:
    try:
        parse_definition(data)  # type: ignore[arg-type]
    except DefinitionError as exc:
        assert exc.problems
        for p in exc.problems:
            assert any(w in p for w in WHERE), p


@settings(max_examples=3000 if SOAK else 300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_definitions_fail_with_located_problems_only(data):
    check(data)


@settings(max_examples=2000 if SOAK else 200, deadline=None)
@given(values)
def test_arbitrary_documents_fail_with_located_problems_only(data):
    check(data if isinstance(data, dict) else {"storage_group": data})


@pytest.mark.parametrize(
    "change",
    [
        {"storage_group": "SRC"},
        {"storage_group": [1, 2]},
        {"copy_pool": {"name": "P"}},
        {"dump_class": "D1"},
        ("storage_group", 0, "tracks", [1]),
        ("storage_group", 0, "cylinders", "x"),
        ("copy_pool", 0, "storage_groups", 5),
        ("copy_pool", 0, "dump_classes", [{"name": "ONSITE", "versions": "x"}]),
        ("storage_group", 0, "tracks", 999999999999999999),
        ("storage_group", 0, "track_size", 99999999999),
        ("copy_pool", 0, "verions", 1),
        ("copy_pool", 0, "fast_reverse_restor", True),
        ("storage_group", 0, "tracks", 15.7),
        ("storage_group", 0, "tracks", True),
        ("storage_group", 0, "volumes", "SRC001"),
        ("storage_group", 0, "volumes", []),
        ("storage_group", 0, "volumes", [{"volser": "SRC001", "online": "no"}]),
        {"dump_class": [{"name": "ONSITE"}, {"name": "ONSITE"}]},
    ],
)
def test_each_shape_the_issue_lists_is_refused_with_its_location(tmp_path, change):
    import copy

    data = copy.deepcopy(GOOD)
    if isinstance(change, dict):
        data.update(change)
    else:
        section, i, key, value = change
        data[section][i][key] = value
    with pytest.raises(DefinitionError) as err:
        parse_definition(data)
    assert all(any(w in p for w in WHERE) for p in err.value.problems)


def test_a_site_that_cannot_be_made_leaves_nothing_behind(tmp_path):
    """Valid on paper, impossible on this disk (an image larger than any file system allows)."""
    import copy

    data = copy.deepcopy(GOOD)
    for g in data["storage_group"]:
        g["tracks"], g["track_size"] = 17_730_090, 1 << 20  # 18.6 TB per image
    with pytest.raises(FlashpoolError):
        Site.create(tmp_path / "site", parse_definition(data))
    assert list(tmp_path.iterdir()) == []
