"""Walkthroughs 1-6: copy pool, volume and data set recovery, from DASD or tape."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from console.walkthroughs import options as opt
from console.walkthroughs.base import Alternative, Option, Pick, Selections, Walkthrough, release
from engine.command import FromDump, FrRecov
from engine.hsm.precheck import Check

if TYPE_CHECKING:
    from engine.api import SiteAPI

POOL = Pick("pool", "Which copy pool?", opt.pools)


def engine_alternatives(check: Check) -> list[Alternative]:
    """The engine's own alternatives to a refusal (another walkthrough, with the version it
    names preselected): what the rule that refused says can be done instead."""
    return [
        Alternative(
            f"{a.text[0].upper()}{a.text[1:]} (walkthrough {a.walkthrough[1:]})",
            walkthrough=a.walkthrough,
            changes=(("version", str(a.version)),) if a.version is not None else (),
        )
        for a in check.alternatives
        if a.walkthrough
    ]


def _recovery_alternatives(check: Check, volume_level: bool = False, version_pick: bool = True) -> list[Alternative]:
    if check.code == "held":
        return [release("FRRECOV")]
    if check.code == "version":  # the engine names what can be used instead; a version step lets one choose
        if not version_pick:
            return engine_alternatives(check)
        here = [  # another DASD version: the same walkthrough with that version, not a switch to W2
            Alternative(f"Use version {a.version:03d} instead", changes=(("version", str(a.version)),))
            for a in check.alternatives
            if a.walkthrough == "W2" and a.version is not None
        ]
        others = [a for a in engine_alternatives(check) if a.walkthrough != "W2"]
        return [*here, *others, Alternative("Choose another version", back_to="version")]
    if check.code in ("relationships", "incremental-copying"):
        return [Alternative("Wait for the background copy to complete, then check again", wait_for_copy=True)]
    if check.code == "not-in-version":
        return [Alternative("Choose another version", back_to="version")]
    return []


class FastReverseRestore(Walkthrough):
    id = "W1"
    title = "Fast reverse restore of a copy pool from a backup version"
    context = (
        "Puts every volume of the copy pool back to the newest backup (or the version chosen on pool "
        "detail) by reversing its FlashCopy "
        "relationships: only tracks changed since the backup move back, so it is done in seconds. "
        "The version used becomes invalid; thanks to cascading, the older versions stay valid."
    )
    picks: ClassVar[list[Pick]] = [POOL]

    def request(self) -> FrRecov:
        return FrRecov(copypool=self.chosen_pool(), selection=self.selection(), verify=True)

    def alternatives(self, check: Check) -> list[Alternative]:
        return _recovery_alternatives(check, version_pick=False)


class OlderVersion(Walkthrough):
    id = "W2"
    title = "Recover a copy pool from an older DASD version (regular FlashCopy)"
    context = (
        "Copies every track of a chosen older version back onto the copy pool's volumes with a regular "
        "FlashCopy. The version stays valid and the newer versions are kept."
    )
    picks: ClassVar[list[Pick]] = [POOL, Pick("version", "Which version?", opt.versions, opt.older_valid)]

    def request(self) -> FrRecov:
        return FrRecov(copypool=self.chosen_pool(), selection=self.selection(), verify=True)

    def alternatives(self, check: Check) -> list[Alternative]:
        return _recovery_alternatives(check)


class Incremental(Walkthrough):
    id = "W3"
    title = "Recover a copy pool from its incremental version"
    context = (
        "Reverses the persistent incremental FlashCopy pairs of the copy pool: only the tracks changed "
        "since the last refresh flow back. It is refused while the last refresh is still copying."
    )
    picks: ClassVar[list[Pick]] = [Pick("pool", "Which copy pool (incremental ones first)?", opt.incremental_pools)]

    def request(self) -> FrRecov:
        return FrRecov(copypool=self.chosen_pool(), selection=self.selection(), verify=True)

    def alternatives(self, check: Check) -> list[Alternative]:
        return _recovery_alternatives(check)


class OneVolume(Walkthrough):
    id = "W4"
    title = "Recover one volume from a DASD version"
    context = (
        "Copies one source volume back from the chosen version's target with a regular FlashCopy; the "
        "other volumes of the copy pool are not touched and every version stays valid."
    )
    picks: ClassVar[list[Pick]] = [
        POOL,
        Pick("volume", "Which volume?", opt.volumes),
        Pick("version", "Which version?", opt.versions, opt.newest_valid),
    ]

    def request(self) -> FrRecov:
        return FrRecov(volume=self.selections["volume"], from_copypool=self.chosen_pool(), selection=self.selection())

    def destructive_name(self) -> str | None:
        """One volume is overwritten: its volser is what the operator types."""
        return self.selections.get("volume") or self.pool()

    def alternatives(self, check: Check) -> list[Alternative]:
        return _recovery_alternatives(check, volume_level=True)


class FromTape(Walkthrough):
    id = "W5"
    title = "Recover one volume or a whole copy pool from a tape dump"
    context = (
        "Reads the chosen version's dump tape, checks every record's checksum, then writes the tracks "
        "back. A damaged tape is detected before anything on DASD is changed."
    )
    defaults: ClassVar[dict[str, str]] = {"allow_pool": "Y"}
    picks: ClassVar[list[Pick]] = [
        Pick("pool", "Which copy pool (dumped ones first)?", opt.dumped_pools),
        Pick("volume", "One volume, or every volume?", opt.volumes, short="Volume"),
        Pick("version", "Which version?", opt.dumped_versions, opt.newest_dumped),
        Pick("dumpclass", "From which dump class?", opt.dump_classes),
    ]

    def destructive_name(self) -> str | None:
        """The volser when one volume is overwritten, the pool's name when all of them are."""
        vol = self.selections.get("volume", "*")
        return self.pool() if vol == "*" else vol

    def request(self) -> FrRecov:
        vol = self.selections.get("volume", "*")
        tape = FromDump(dump_class=self.selections.get("dumpclass") or None)
        if vol == "*":
            return FrRecov(copypool=self.chosen_pool(), from_dump=tape, selection=self.selection())
        return FrRecov(volume=vol, from_copypool=self.chosen_pool(), from_dump=tape, selection=self.selection())

    def alternatives(self, check: Check) -> list[Alternative]:
        if check.code == "no-dump":
            alts = [Alternative("Choose another version", back_to="version")]
            if self.selections.get("volume", "*") != "*":
                alts.append(Alternative("Recover the volume from DASD instead (walkthrough 4)", walkthrough="W4"))
            return alts
        if check.code == "held":
            return [release("FRRECOV")]
        return _recovery_alternatives(check)


def _sources(site: SiteAPI, sel: Selections) -> list[Option]:
    """The chosen version's targets and its dump classes."""
    out = [Option("DASD", "DASD: the version's target volumes", "data-set-level FlashCopy")]
    return out + [Option(o.value, f"tape: dump class {o.value}", o.detail) for o in opt.dump_classes(site, sel)]


def _replace(site: SiteAPI, sel: Selections) -> str | None:
    """Yes when the data sets still exist: a damaged data set is what is recovered at 3 a.m.
    (a deleted one needs no REPLACE); the confirmation still asks for the pool's name."""
    return "Y" if opt.datasets_matching(site, sel) else "N"


def _source(site: SiteAPI, sel: Selections) -> str | None:
    """DASD while the version's targets hold it, else its first dump class."""
    v = next((x for x in site.versions(sel.get("pool", "")) if str(x.version) == sel.get("version")), None)
    if v is None or v.recoverable:
        return "DASD"
    return next((c for c, _ in v.dump_copies), "DASD")


class DataSets(Walkthrough):
    id = "W6"
    title = "Recover data sets by name pattern to the volumes they lived on"
    context = (
        "Finds each data set in the backup's captured catalog information and copies its backup-time "
        "extents back onto the volumes and tracks it had then, from DASD or tape. A data set that still "
        "exists is only overwritten with REPLACE."
    )
    picks: ClassVar[list[Pick]] = [
        Pick(
            "pattern",
            "Which data sets? Type a name or a pattern (** any qualifiers, * part of one)",
            opt.datasets_matching,
            typed=True,
            short="Data sets",
        ),
        POOL,
        Pick(
            "version",
            "Which version? (the newest that holds them and can be recovered from is preselected)",
            opt.dataset_versions,
            opt.dataset_version,
            short="Version",
        ),
        Pick("source", "From DASD or tape?", _sources, _source, short="Source"),
        Pick(
            "replace",
            "Overwrite data sets that still exist (REPLACE)?",
            opt.yes_no("Yes: REPLACE", "No"),
            _replace,
            short="Replace",
        ),
    ]

    def request(self) -> FrRecov:
        src = self.selections.get("source", "DASD")
        return FrRecov(
            dsnames=(self.selections["pattern"].upper(),),
            from_copypool=self.chosen_pool(),
            selection=self.selection(),
            from_dasd=src == "DASD",
            from_dump=None if src == "DASD" else FromDump(dump_class=src),
            replace=self.selections.get("replace") == "Y",
        )

    def alternatives(self, check: Check) -> list[Alternative]:
        if check.code == "exists":
            return [Alternative("Overwrite them: add REPLACE", changes=(("replace", "Y"),))]
        if check.code in ("no-match", "not-in-version"):
            other = [
                Alternative(f"Use version {a.version:03d} ({a.text})", changes=(("version", str(a.version)),))
                for a in check.alternatives
                if a.version is not None and str(a.version) != self.selections.get("version")
            ]
            return [
                *other[:1],
                Alternative("Choose another version", back_to="version"),
                Alternative("Type another name or pattern", back_to="pattern"),
            ]
        if check.code == "held":
            return [release("FRRECOV")]
        return []
