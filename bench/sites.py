"""A site the size of a real shop, built reproducibly and sparse in seconds (`python -m
bench.sites PATH` builds one to try the console on):

- 500 copy pools on 20,012 volumes of 3390-9 (sparse images: nothing is written);
- the largest, DB2-like, has 1,024 source volumes and 85 versions: one real FRBACKUP (1,024
  FlashCopy relationships) and 84 older versions written straight into the catalog, as a
  site that has kept versions for weeks has them (85 x 1,024 real targets would be 87,040
  volumes); its backup group has 1,024 targets;
- 499 pools of 18 source volumes, each with its own backup group of 18 targets, one real
  FRBACKUP each (8,982 more relationships);
- an activity log of one entry per version.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from sqlalchemy import insert

from engine.catalog.models import ActivityRow, BackupVersionRow, CopyPoolRow, VersionPairRow
from engine.definition import parse_definition
from engine.site import Site

MODEL = "3390-9"
POOLS, SMALL, LARGE, VERSIONS = 500, 18, 1024, 85
LARGEST = "DSN$DB2P$DB"


def pool_name(p: int) -> str:
    return LARGEST if p == 0 else f"CP{p:03d}"


def _volumes(p: int) -> tuple[list[str], list[str]]:
    """(sources, targets) of pool p; volsers are 6 characters."""
    if p == 0:
        return [f"DB{i:04d}" for i in range(LARGE)], [f"DK{i:04d}" for i in range(LARGE)]
    return [f"S{p:03d}{i:02d}" for i in range(SMALL)], [f"T{p:03d}{i:02d}" for i in range(SMALL)]


def definition() -> dict:
    groups, pools = [], []
    for p in range(POOLS):
        sources, targets = _volumes(p)
        groups.append(
            {"name": f"SG{p:03d}", "type": "POOL", "backup_group": f"BK{p:03d}", "model": MODEL, "volumes": sources}
        )
        groups.append({"name": f"BK{p:03d}", "type": "COPYPOOLBACKUP", "model": MODEL, "volumes": targets})
        # VERSIONS=1 passes the "backup group big enough" check; the catalog says 85 afterwards
        pools.append({"name": pool_name(p), "storage_groups": [f"SG{p:03d}"], "versions": 1})
    return {"storage_group": groups, "copy_pool": pools}


def volume_count() -> int:
    return sum(len(s) + len(t) for s, t in map(_volumes, range(POOLS)))


async def build(path: Path) -> None:
    """The site at `path` (which must not exist), with every pool backed up once and the
    largest pool's 84 older versions in the catalog."""
    site = Site.create(path, parse_definition(definition()))
    try:
        for p in range(POOLS):
            res = await site.hsm.execute(f"FRBACKUP COPYPOOL({pool_name(p)})")
            assert res.rc == 0, res.lines()
        _older_versions(site)
    finally:
        await site.close()


def _older_versions(site: Site) -> None:
    sources, targets = _volumes(0)
    msgs = json.dumps([{"id": "ARC1802I", "severity": "I", "text": "FAST REPLICATION BACKUP HAS COMPLETED"}])
    with site.catalog.session() as s:
        pool = s.get(CopyPoolRow, LARGEST)
        assert pool is not None
        pool.versions = VERSIONS
        for n in range(1, VERSIONS):  # older than the real version, one a day
            v = BackupVersionRow(
                copy_pool=LARGEST, version=n + 1, created_at=1.7e9 + n * 86400, token=b"OLD", backup_group="BK000"
            )
            s.add(v)
            s.flush()
            s.connection().execute(  # 87,040 rows: bare inserts, not ORM objects
                insert(VersionPairRow),
                [
                    {"version_id": v.id, "source": src, "target": tgt, "storage_group": "SG000"}
                    for src, tgt in zip(sources, targets, strict=True)
                ],
            )
            s.add(
                ActivityRow(
                    at=1.7e9 + n * 86400, command=f"FRBACKUP COPYPOOL({LARGEST})", copy_pool=LARGEST, messages=msgs
                )
            )
        s.commit()


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m bench.sites PATH  (builds the 20,000-volume site there)")
    asyncio.run(build(Path(sys.argv[1])))
    print(f"{sys.argv[1]}: {volume_count():,} volumes, {POOLS} copy pools, {VERSIONS} versions of {LARGEST}")


if __name__ == "__main__":
    main()
