"""`flashpool init`: create a site from a definition, empty, or the demo with its data."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.output import say
from engine.errors import FlashpoolError


async def init(args: argparse.Namespace) -> int:
    from cli.parser import DEFAULT_SITE
    from engine.definition import load_definition
    from engine.demo import demo_definition, seed_demo
    from engine.site import Site

    if args.path and args.site != DEFAULT_SITE and Path(args.path).absolute() != Path(args.site).absolute():
        raise FlashpoolError(f"init names the new site twice, {args.path} and --site {args.site}: give one of them")
    path = args.path or args.site
    definition = load_definition(args.definition) if args.definition else demo_definition() if args.demo else None
    site = Site.create(path, definition, catalog_url=args.catalog)
    try:
        if args.demo:
            await seed_demo(site)
        say(
            args,
            f"flashpool: site created at {Path(path).resolve()} ({len(site.volumes)} volumes)",
            site=str(Path(path).resolve()),
            volumes=len(site.volumes),
            demo=bool(args.demo),
        )
    finally:
        await site.close()
    return 0
