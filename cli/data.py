"""The data on the volumes: checksums to check a recovery from outside, damage for recovery
drills (`flashpool volume`, `flashpool dataset`), and changing data for demos (`workload`)."""

from __future__ import annotations

import argparse
import json
import re

from cli.connect import site_api
from cli.output import said, say
from cli.tools import tool_site
from engine.errors import FlashpoolError


async def workload(args: argparse.Namespace) -> int:
    api = site_api(args)
    try:
        await api.start()  # in-process, background copies go on while the workload runs
        stats = await api.workload(args.copypool.upper(), rate=args.rate, seconds=args.seconds, seed=args.seed)
        say(
            args,
            f"flashpool: workload on {stats.copy_pool}: {stats.allocated} allocated, {stats.updated} updated, "
            f"{stats.deleted} deleted, {stats.skipped} skipped, {stats.bytes_written:,} bytes written",
            copy_pool=stats.copy_pool,
            allocated=stats.allocated,
            updated=stats.updated,
            deleted=stats.deleted,
            skipped=stats.skipped,
            bytes_written=stats.bytes_written,
        )
    finally:
        await api.close()
    return 0


def volume_checksum(args: argparse.Namespace) -> int:
    from engine.geometry import validate_volser

    volser = validate_volser(args.volser)
    with tool_site(args) as site:
        digest = site.volume_digest(volser)
    say(args, f"{digest}  {volser}", volser=volser, sha256=digest)
    return 0


def volume_damage(args: argparse.Namespace) -> int:
    from engine.geometry import validate_volser

    volser = validate_volser(args.volser)
    found = re.fullmatch(r"([0-9]+)(?:-([0-9]+))?", args.tracks.strip(), re.ASCII)
    if found is None:
        raise FlashpoolError(f"--tracks takes A-B or one track number (digits 0-9), not {args.tracks!r}")
    first, last = int(found[1]), int(found[2] or found[1])
    if last < first:
        raise FlashpoolError(f"--tracks {args.tracks}: the last track comes before the first")
    with tool_site(args) as site:
        res = site.damage(volser, first, last)
    text = f"flashpool: {volser} tracks {first}-{last} overwritten with garbage"
    return said(args, res, text, volser=volser, first_track=first, last_track=last)


def dataset_list(args: argparse.Namespace) -> int:
    with tool_site(args) as site:
        found = site.datasets(args.filter.upper() if args.filter else None)
    if args.json:
        print(
            json.dumps(
                {
                    "datasets": [
                        {
                            "name": d.name,
                            "dsorg": d.dsorg,
                            "bytes_used": d.bytes_used,
                            "tracks": d.tracks,
                            "extents": [
                                {"volser": e.volser, "first_track": e.first, "tracks": e.tracks} for e in d.extents
                            ],
                        }
                        for d in found
                    ]
                }
            )
        )
        return 0
    for d in found:
        where = " ".join(f"{e.volser}:{e.first}-{e.last}" for e in d.extents)
        print(f"{d.name:<44} {d.dsorg:<4} {d.bytes_used:>12,} bytes  {where}")
    if not args.quiet:
        print(f"flashpool: {len(found)} data set(s)")
    return 0


def dataset_checksum(args: argparse.Namespace) -> int:
    name = args.dsname.upper()
    with tool_site(args) as site:
        info, digest = site.dataset(name), site.dataset_digest(name)
    size = info.bytes_used if info is not None else 0
    say(args, f"{digest}  {name}", dsname=name, sha256=digest, bytes=size)
    return 0


def dataset_damage(args: argparse.Namespace) -> int:
    name = args.dsname.upper()
    with tool_site(args) as site:
        res = site.damage_dataset(name)
    tracks = res.data.get("tracks", 0) if res.data else 0
    text = f"flashpool: {name}: {tracks} track(s) overwritten with garbage"
    return said(args, res, text, dsname=name, tracks=tracks)
