"""Walkthroughs 7-9: take a backup, withdraw or delete versions and dumps, validate with PREPARE."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from console.walkthroughs import options as opt
from console.walkthroughs.base import Alternative, Option, Pick, Selections, Walkthrough, release
from engine.command import Action, FrBackup, FrDelete, Incremental, Request
from engine.hsm.precheck import Check

if TYPE_CHECKING:
    from engine.api import SiteAPI
    from engine.messages import CommandResult

POOL = Pick("pool", "Which copy pool?", opt.pools)


def _modes(site: SiteAPI, sel: Selections) -> list[Option]:
    pool = next((p for p in site.pools() if p.name == sel.get("pool")), None)
    out = [Option("EXECUTE", "Backup now (FRBACKUP EXECUTE)", "flash every volume at one point in time")]
    if pool and pool.dump_classes:
        out.append(
            Option("DUMP", "Backup now and dump to tape (EXECUTE DUMP)", f"dump classes {' '.join(pool.dump_classes)}")
        )
    out.append(
        Option(
            "FCINCREMENTAL",
            "Incremental refresh (EXECUTE FCINCREMENTAL)",
            "only tracks changed since the last refresh are copied",
        )
    )
    return out


def _mode_default(site: SiteAPI, sel: Selections) -> str:
    pool = next((p for p in site.pools() if p.name == sel.get("pool")), None)
    return "FCINCREMENTAL" if pool and pool.incremental else "EXECUTE"


class Backup(Walkthrough):
    id = "W7"
    title = "Take a backup now (optionally with a dump, or an incremental refresh)"
    context = (
        "Flashes every volume of the copy pool onto its backup volumes at one point in time; the "
        "background copy follows. When all versions are kept, the oldest one rolls off."
    )
    picks: ClassVar[list[Pick]] = [POOL, Pick("mode", "What kind of backup?", _modes, _mode_default, short="Kind")]

    def request(self) -> FrBackup:
        mode = self.selections.get("mode", "EXECUTE")
        return FrBackup(
            copypool=self.chosen_pool(),
            dump=mode == "DUMP",
            incremental=Incremental.FCINCREMENTAL if mode == "FCINCREMENTAL" else None,
            force=bool(self.selections.get("force")),
        )

    def alternatives(self, check: Check) -> list[Alternative]:
        if check.code == "held":
            return [release("FRBACKUP")]
        if check.code == "required-dump":
            return [Alternative("Roll it off anyway: add FORCE", changes=(("force", "Y"),))]
        if check.code == "incremental":
            return [Alternative("Take a full backup instead", changes=(("mode", "EXECUTE"),))]
        return []

    def backup_made(self, result: CommandResult) -> tuple[str, int] | None:
        """Verified after the flash (nothing is read before), on the targets of the version
        FRBACKUP created: its result's data names it (none when it created none)."""
        data = result.data
        return (data["copy_pool"], data["version"]) if data else None

    def destructive_name(self) -> str | None:
        return None  # a backup destroys nothing unless a version rolls off; the impact says which


def _actions(site: SiteAPI, sel: Selections) -> list[Option]:
    return [
        Option("WITHDRAW", "Withdraw the newest valid version (a bad backup)", "FRBACKUP WITHDRAW"),
        Option("DELETE", "Delete a version (DASD and tape)", "FRDELETE VERSIONS(n) BOTH"),
        Option("DUMPS", "Delete one dump class's tapes of a version", "FRDELETE VERSIONS(n) DUMPONLY"),
    ]


class WithdrawDelete(Walkthrough):
    id = "W8"
    title = "Withdraw a bad version, or delete versions and dumps"
    context = (
        "Withdraw ends the newest valid version's FlashCopy relationships and marks it invalid; delete "
        "removes versions or only their dump tapes. Never withdraw the only valid version."
    )
    picks: ClassVar[list[Pick]] = [
        POOL,
        Pick("action", "What do you want to do?", _actions, short="Action"),
        Pick(
            "version",
            "Which version?",
            opt.versions,
            opt.newest_valid,
            when=lambda sel: sel.get("action") in ("DELETE", "DUMPS"),
        ),
        Pick("dumpclass", "Which dump class?", opt.dump_classes, when=lambda sel: sel.get("action") == "DUMPS"),
    ]

    def request(self) -> Request:
        action, pool = self.selections.get("action", "WITHDRAW"), self.chosen_pool()
        if action == "WITHDRAW":
            return FrBackup(copypool=pool, action=Action.WITHDRAW)
        versions = (int(self.selections["version"]),)
        if action == "DELETE":
            return FrDelete(copypool=pool, versions=versions, scope="BOTH")
        return FrDelete(
            copypool=pool, versions=versions, scope="DUMPONLY", dump_classes=(self.selections["dumpclass"],)
        )

    def alternatives(self, check: Check) -> list[Alternative]:
        if check.code == "version":
            return [Alternative("Choose another version", back_to="version")]
        return []


class Prepare(Walkthrough):
    id = "W9"
    title = "Validate the environment before a backup window (FRBACKUP PREPARE)"
    context = (
        "Pairs every source volume with its target volumes ahead of time and checks space and holds, "
        "so the backup in the window cannot fail for want of targets. Nothing is copied."
    )
    picks: ClassVar[list[Pick]] = [POOL]

    def request(self) -> FrBackup:
        return FrBackup(copypool=self.chosen_pool(), action=Action.PREPARE)

    def alternatives(self, check: Check) -> list[Alternative]:
        if check.code == "held":
            return [release("FRBACKUP")]
        return []

    def destructive_name(self) -> str | None:
        return None
