"""A full disk at every write point of copy, dump, recovery and the catalog (issue "Nothing a
user types ..."): see tests.hsm.full_disk. `make test` runs one scenario per kind of work (the
dump's hundreds of tape writes sampled, every 9th); `make soak` runs every crash-point scenario
at every write point."""

from __future__ import annotations

import os

import pytest

from tests.hsm.full_disk import fill_every_point
from tests.hsm.test_crash_points import SCENARIOS

SOAK = os.environ.get("FLASHPOOL_SOAK") == "1"
QUICK = {"backup", "dump", "recover-regular", "recover-dump", "recover-dataset", "delete-both"}
SAMPLED = {"dump": 9}
CHOSEN = [s for s in SCENARIOS if SOAK or s.name in QUICK]


@pytest.mark.parametrize("scenario", CHOSEN, ids=[s.name for s in CHOSEN])
def test_a_full_disk_at_every_write_point(tmp_path, scenario):
    tried, problems = fill_every_point(tmp_path, scenario, step=1 if SOAK else SAMPLED.get(scenario.name, 1))
    print(f"{scenario.name}: the disk filled at {tried} write points")
    assert tried > 2
    assert not problems, "\n".join(problems)
