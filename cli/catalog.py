"""`flashpool catalog`: the catalog's schema revision, and its upgrade."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.output import say
from engine.errors import FlashpoolError


async def check(args: argparse.Namespace) -> int:
    from engine.catalog import Catalog
    from engine.site import Site

    if not Path(args.site).is_dir():
        raise FlashpoolError(f"{args.site} is not a flashpool site")
    revision, head = Catalog.revision(Site.catalog_url(Path(args.site)))
    current = revision == head
    text = (
        f"flashpool: the catalog is at schema revision {revision}, the newest"
        if current
        else f"flashpool: the catalog is at schema revision {revision}; this flashpool needs {head}: "
        f"copy the catalog, then run `flashpool catalog upgrade --site {args.site}`"
    )
    say(args, text, revision=revision, head=head, current=current)
    return 0 if current else 4


async def upgrade(args: argparse.Namespace) -> int:
    import asyncio

    from engine.site import Site

    before, after = await asyncio.to_thread(Site.upgrade_catalog, args.site)
    say(
        args,
        f"flashpool: the catalog was at schema revision {before}; it is now at {after}"
        if before != after
        else f"flashpool: the catalog is already at schema revision {after}",
        before=before,
        after=after,
    )
    return 0


async def migrate(args: argparse.Namespace) -> int:
    import asyncio

    from engine.catalog.urls import shown
    from engine.site import MIGRATED_CATALOG, Site

    counts = await asyncio.to_thread(Site.migrate_catalog, args.site, args.to)
    say(
        args,
        f"flashpool: the catalog was copied to {shown(args.to)} ({sum(counts.values()):,} rows in {len(counts)} "
        f"tables, every count verified); the site uses it from now on, its SQLite catalog is kept as {MIGRATED_CATALOG}",
        url=shown(args.to),
        rows=counts,
        kept=MIGRATED_CATALOG,
    )
    return 0
