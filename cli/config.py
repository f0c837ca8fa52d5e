"""`flashpool config`: the site's constructs changed online, as ISMF changes SMS constructs.

    flashpool config show | export [-o FILE]
    flashpool config apply FILE [--dry-run]
    flashpool config add-volume GROUP VOLSER... [--model M | --tracks N ...] [--dry-run]
    flashpool config remove-volume GROUP VOLSER... | delete-volume VOLSER...
    flashpool config define-group NAME --type POOL|COPYPOOLBACKUP [--backup-group BG] VOLSER...
    flashpool config alter-group NAME --backup-group BG | delete-group NAME
    flashpool config define-pool NAME --groups SG,... [--versions N ...] | alter-pool NAME ... | delete-pool NAME
    flashpool config delete-dump-class NAME          (DEFINE DUMPCLASS defines and alters one)

`--dry-run` shows what the change does now, what follows at the next FRBACKUP, and why it would
be refused; without it the change is made (exit 8 and nothing changed when it is refused).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.connect import act, ask
from engine.errors import FlashpoolError

if TYPE_CHECKING:
    from engine.config import ConfigChange, ConfigPlan

Run = Callable[[argparse.Namespace], Coroutine[None, None, int]]
Command = Callable[[Any, str, str, Run], argparse.ArgumentParser]


def add_parsers(sub: Any, command: Command) -> None:
    cfg = sub.add_parser("config", help="the constructs: storage groups, volumes, copy pools, dump classes")
    csub = cfg.add_subparsers(dest="fcmd", required=True)
    command(csub, "show", "the constructs, and what keeps each volume and copy pool where it is", _show)
    ex = command(csub, "export", "the live configuration as a site definition (init --definition takes it)", _export)
    ex.add_argument("-o", "--output", type=Path, help="write it to this new file (default: standard output)")
    ap = command(csub, "apply", "make the constructs what a site definition says", _change)
    ap.add_argument("file", type=Path)
    av = command(csub, "add-volume", "add volumes to a storage group (new images, or volumes in no group)", _change)
    av.add_argument("group")
    av.add_argument("volsers", nargs="+")
    _size_args(av)
    rv = command(csub, "remove-volume", "take volumes out of a storage group (they stay, in no group)", _change)
    rv.add_argument("group")
    rv.add_argument("volsers", nargs="+")
    dv = command(csub, "delete-volume", "delete volumes in no storage group, and their images", _change)
    dv.add_argument("volsers", nargs="+")
    dg = command(csub, "define-group", "define a storage group", _change)
    dg.add_argument("name")
    dg.add_argument("volsers", nargs="+")
    dg.add_argument("--type", required=True, choices=["POOL", "COPYPOOLBACKUP"], type=str.upper)
    dg.add_argument("--backup-group", help="a POOL group's copy pool backup storage group")
    _size_args(dg)
    ag = command(csub, "alter-group", "change a storage group's copy pool backup storage group", _change)
    ag.add_argument("name")
    ag.add_argument("--backup-group", required=True)
    command(csub, "delete-group", "delete a storage group (its volumes stay, in no group)", _change).add_argument(
        "name"
    )
    for verb, helptext in (("define-pool", "define a copy pool"), ("alter-pool", "change a copy pool")):
        cp = command(csub, verb, helptext, _change)
        cp.add_argument("name")
        _pool_args(cp, required=verb == "define-pool")
    command(csub, "delete-pool", "delete a copy pool that has no versions", _change).add_argument("name")
    command(csub, "delete-dump-class", "delete a dump class no copy pool names", _change).add_argument("name")
    for p in csub.choices.values():
        if p.get_default("run") is _change:
            p.add_argument("--dry-run", action="store_true", help="show what it would do and change nothing")


def _size_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="3390 model of new volumes (default: like the group's volumes)")
    p.add_argument("--cylinders", type=int, help="cylinders of a 3390-A (EAV)")
    p.add_argument("--tracks", type=int, help="a small test volume of this many tracks")
    p.add_argument("--track-size", type=int, help="... of this many bytes each")


def _pool_args(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--groups", required=required, help="its storage groups, comma-separated, in order")
    p.add_argument("--versions", type=int, help="DASD versions kept, 0-85 (lowering it rolls off at the next FRBACKUP)")
    frr = p.add_mutually_exclusive_group()
    frr.add_argument("--fast-reverse-restore", dest="frr", action="store_true", default=None)
    frr.add_argument("--no-fast-reverse-restore", dest="frr", action="store_false")
    p.add_argument("--catalog-capture", choices=["N", "P", "R"], type=str.upper)
    auto = p.add_mutually_exclusive_group()
    auto.add_argument("--auto-dump", dest="auto_dump", action="store_true", default=None)
    auto.add_argument("--no-auto-dump", dest="auto_dump", action="store_false")
    p.add_argument("--dump-classes", help="CLASS[:VERSIONS],... ('' for none)")
    p.add_argument("--description")


def change_of(args: argparse.Namespace) -> ConfigChange:
    """The change a `flashpool config` command line asks for."""
    from engine.config import ConfigChange, ConfigOp, Shape

    op = ConfigOp(args.fcmd)
    if op is ConfigOp.APPLY:
        try:
            text = args.file.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise FlashpoolError(f"the definition {args.file} cannot be read: {exc}") from None
        return ConfigChange(op, definition=text)
    shape = Shape(
        getattr(args, "model", None) or "",
        getattr(args, "cylinders", None),
        getattr(args, "tracks", None),
        getattr(args, "track_size", None),
    )
    groups = getattr(args, "groups", None)
    classes = getattr(args, "dump_classes", None)
    return ConfigChange(
        op,
        name=getattr(args, "name", None) or getattr(args, "group", None) or "",
        volumes=tuple(getattr(args, "volsers", ()) or ()),
        shape=shape,
        group_type=getattr(args, "type", None) or "",
        backup_group=getattr(args, "backup_group", None),
        storage_groups=tuple(g.strip() for g in groups.split(",") if g.strip()) if groups else (),
        versions=getattr(args, "versions", None),
        fast_reverse_restore=getattr(args, "frr", None),
        catalog_capture=getattr(args, "catalog_capture", None),
        auto_dump=getattr(args, "auto_dump", None),
        dump_classes=None if classes is None else tuple(c.strip() for c in classes.split(",") if c.strip()),
        description=getattr(args, "description", None),
    )


def plan_lines(plan: ConfigPlan) -> list[str]:
    """A preview as the dry run prints it."""
    out = [plan.change]
    if plan.problems:
        out += ["refused:"] + [f"  - {p}" for p in plan.problems]
    if plan.steps:
        out += ["changes now:" if plan.allowed else "would change:"] + [f"  - {s}" for s in plan.steps]
    elif plan.allowed:
        out.append("nothing to change: the configuration says this already")
    if plan.effects:
        out += ["then:"] + [f"  - {e}" for e in plan.effects]
    return out


async def _change(args: argparse.Namespace) -> int:
    from server import wire

    change = change_of(args)
    if args.dry_run:
        plan: ConfigPlan = await ask(args, lambda api: api.config_preview(change))
        if args.json:
            print(json.dumps(wire.encode(plan)))
        else:
            print("\n".join(plan_lines(plan)))
        return 0 if plan.allowed else 8
    res = await act(args, lambda api: api.change_config(change))
    if args.json:
        print(res.to_json())
        return int(res.rc)
    for line in res.lines():
        print(line, file=sys.stderr if res.rc >= 8 else sys.stdout)
    return int(res.rc)


async def _export(args: argparse.Namespace) -> int:
    conf = await ask(args, lambda api: api.configuration())
    if args.output is None:
        sys.stdout.write(conf.definition)
        return 0
    try:
        fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise FlashpoolError(f"{args.output} exists; export writes a new file") from None
    except OSError as exc:
        raise FlashpoolError(f"{args.output} cannot be written: {exc.strerror}") from None
    with os.fdopen(fd, "w") as f:
        f.write(conf.definition)
    if not args.quiet:
        print(f"flashpool: the site definition is in {args.output}")
    return 0


async def _show(args: argparse.Namespace) -> int:
    from server import wire

    conf = await ask(args, lambda api: api.configuration())
    if args.json:
        print(json.dumps({k: v for k, v in wire.encode(conf).items() if k != "definition"}))
        return 0
    for g in conf.groups:
        bg = f" -> {g.backup_group}" if g.backup_group else ""
        print(f"STORAGE GROUP {g.name} ({g.type}{bg}); copy pools: {', '.join(g.copy_pools) or 'none'}")
        for v in g.volumes:
            print(f"  {v.volser:<7} {v.size:<34} {'' if v.online else 'OFFLINE '}{v.held}")
    if conf.loose:
        print("VOLUMES IN NO STORAGE GROUP")
        for v in conf.loose:
            print(f"  {v.volser:<7} {v.size:<34} {v.held}")
    for p in conf.pools:
        print(
            f"COPY POOL {p.name}: VERSIONS({p.versions}) groups {', '.join(p.storage_groups)}; "
            f"FRR={'Y' if p.fast_reverse_restore else 'N'} CATCAP={p.catalog_capture} "
            f"AUTODUMP={'Y' if p.auto_dump else 'N'} DUMPCLASSES({', '.join(p.dump_classes) or 'none'}); "
            f"{p.valid_versions} valid version(s)"
            + (
                f"; next FRBACKUP rolls off {', '.join(f'{n:03d}' for n in p.rolls_off_next)}"
                if p.rolls_off_next
                else ""
            )
        )
    for d in conf.dump_classes:
        print(f"DUMP CLASS {d.attributes}; {d.copies} dump copies; copy pools: {', '.join(d.copy_pools) or 'none'}")
    return 0


__all__ = ["add_parsers", "change_of", "plan_lines"]
