"""The site's one vocabulary of states: what a version, a pair, a dump copy, a tape can be, and
who a command came from. Each is a `StrEnum`, so the catalog keeps its plain text columns (and
LIST its DFSMShsm words) while every reader compares members, never strings typed twice.

What a state *means* for an operator (recoverable now, eligible for fast reverse restore, the
only recovery point, why it failed) is derived in `engine.hsm.standing`, not here.
"""

from __future__ import annotations

import enum


class DasdState(enum.StrEnum):
    """A version's DASD copy (LIST's FASTREPLICATIONSTATE)."""

    RECOVERABLE = "RECOVERABLE"
    #: a VERSIONS=0 NOCOPY copy that fast reverse restore may not use: kept on DASD to be dumped,
    #: never recovered from (its point in time reaches FRRECOV through its dump copies only)
    DUMPONLY = "DUMPONLY"
    FAILED = "FAILED"
    FCFRRINCOMPLETE = "FCFRRINCOMPLETE"  # a fast reverse restore left some pairs to recover
    NONE = "NONE"  # no DASD copy: the version lives on as dump copies
    PREPARE = "PREPARE"  # the PREPARE entry: targets chosen, no point in time

    @property
    def holds_targets(self) -> bool:
        """Its target volumes are still spoken for (a dump-only or PREPARE entry's are not)."""
        return self in (DasdState.RECOVERABLE, DasdState.DUMPONLY, DasdState.FAILED, DasdState.FCFRRINCOMPLETE)

    @property
    def dumpable(self) -> bool:
        """States whose DASD copy FRBACKUP DUMPONLY and automatic dump may dump to tape."""
        return self in (DasdState.RECOVERABLE, DasdState.DUMPONLY)

    @property
    def frr_possible(self) -> bool:
        """States from which fast reverse restore may (still) run."""
        return self in (DasdState.RECOVERABLE, DasdState.FCFRRINCOMPLETE)


class DumpState(enum.StrEnum):
    """A version's dump copies taken together (LIST's DUMPSTATE)."""

    ALLCOMPLETE = "ALLCOMPLETE"
    REQUIREDCOMPLETE = "REQUIREDCOMPLETE"
    PARTIAL = "PARTIAL"
    NONE = "NONE"

    @property
    def dumped(self) -> bool:
        return self in (DumpState.ALLCOMPLETE, DumpState.REQUIREDCOMPLETE)


class PairState(enum.StrEnum):
    OK = "OK"
    FAILED = "FAILED"
    RECOVERED = "RECOVERED"  # restored by a fast reverse restore: its target no longer holds the PIT


class DumpCopyState(enum.StrEnum):
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"  # its tape file failed verification


class ClassState(enum.StrEnum):
    """One dump class of one version, over its volumes."""

    COMPLETE = "COMPLETE"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"


class TapeState(enum.StrEnum):
    WRITING = "WRITING"
    FULL = "FULL"


class FailedReason(enum.StrEnum):
    """Why a version's DASD copy stopped being recoverable, recorded when it happens (the one
    fact about a version that cannot be read back from the bitmaps later)."""

    NONE = ""
    REPLACED = "REPLACED"  # an FRBACKUP reused its targets (or rolled it off)
    REFRESHED = "REFRESHED"  # an incremental refresh of its persistent relationships
    FAST_REVERSED = "FAST_REVERSED"  # consumed by a fast reverse restore
    WITHDRAWN = "WITHDRAWN"  # FRBACKUP WITHDRAW before its copy completed
    AUDITED = "AUDITED"  # AUDIT COPYPOOLCONTROLS FIX found its targets no longer hold it


class Origin(enum.StrEnum):
    """Who a command or an activity entry came from."""

    CONSOLE = "CONSOLE"
    WALKTHROUGH = "WALKTHROUGH"
    CLI = "CLI"
    API = "API"
    WEB = "WEB"  # the console in a browser (flashpool web): the server names it, from the session
    AUTO = "AUTO"  # the site's own automatic functions (dump cycle, expiry)
    ALERT = "ALERT"  # an alert, logged once by the site that raised it
    DEMO = "DEMO"  # the demo site's seeding
    OPEN = "OPEN"  # opening the site (audit)
    SERVER = "SERVER"  # the server itself: start, stop, checkpoints (audit)

    @classmethod
    def of_clients(cls) -> frozenset[Origin]:
        """What a client may say it is (the site's own origins are the site's)."""
        return frozenset({cls.API, cls.CLI, cls.CONSOLE, cls.WALKTHROUGH})
