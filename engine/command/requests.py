"""Typed requests: what each HSM command asks for, after its keywords were checked."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field


class Action(enum.Enum):
    EXECUTE = "EXECUTE"
    PREPARE = "PREPARE"
    WITHDRAW = "WITHDRAW"
    DUMPONLY = "DUMPONLY"


class Incremental(enum.Enum):
    FCINCREMENTAL = "FCINCREMENTAL"
    FCINCREMENTALLAST = "FCINCREMENTALLAST"


class ReturnControl(enum.Enum):
    DUMPEND = "DUMPEND"
    FASTREPLICATIONEND = "FASTREPLICATIONEND"


@dataclass(frozen=True, slots=True)
class Selection:
    """VERSION / GENERATION / DATE / TOKEN (mutually exclusive); all None = generation 0."""

    version: int | None = None
    generation: int | None = None
    date: dt.date | None = None
    token: bytes | None = None

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.version, self.generation, self.date, self.token))

    def describe(self) -> str:
        return selection_text(self) or "GENERATION(0)"


def token_text(token: bytes) -> str:
    """A token as a command value: quoted when it is printable text, else X'hex'."""
    if token and all(32 <= b < 127 for b in token):
        return "'" + token.decode("ascii").replace("'", "''") + "'"
    return f"X'{token.hex().upper()}'"


def format_token(token: bytes) -> str:
    """A catalog token (padded with NULs to 40 bytes) as it was given."""
    return token_text(token.rstrip(b"\0") or token)


def selection_text(sel: Selection) -> str:
    """VERSION(n) | GENERATION(g) | DATE(yyyy/mm/dd) | TOKEN(t); "" when none is given."""
    if sel.version is not None:
        return f"VERSION({sel.version})"
    if sel.generation is not None:
        return f"GENERATION({sel.generation})"
    if sel.date is not None:
        return f"DATE({sel.date:%Y/%m/%d})"
    if sel.token is not None:
        return f"TOKEN({token_text(sel.token)})"
    return ""


@dataclass(frozen=True, slots=True)
class FromDump:
    dump_class: str | None = None
    dump_volume: str | None = None


@dataclass(frozen=True, slots=True)
class FrBackup:
    copypool: str
    action: Action = Action.EXECUTE
    dump: bool = False
    return_control: ReturnControl = ReturnControl.DUMPEND
    incremental: Incremental | None = None
    incremental_all: bool = False
    backup_group: str | None = None  # None: not given; "": BSG() resets the override
    token: bytes | None = None
    novtocenq: bool = False
    force: bool = False
    dump_classes: tuple[str, ...] = ()
    selection: Selection = field(default_factory=Selection)
    wait: bool | None = None

    verb = "FRBACKUP"


@dataclass(frozen=True, slots=True)
class FrRecov:
    copypool: str | None = None  # COPYPOOL(...) level
    volume: str | None = None  # TOVOLUME(...) level
    dsnames: tuple[str, ...] = ()  # DSNAME(...) level
    newname: str | None = None  # DSNAME(one name) NEWNAME(new): recovered beside the original
    from_copypool: str | None = None
    verify: bool = True
    from_dasd: bool = False
    from_dump: FromDump | None = None
    selection: Selection = field(default_factory=Selection)
    replace: bool = False
    fast_replication: str | None = None  # PREFERRED | REQUIRED | NONE (DSNAME only)
    nocopypoolbackup: str = "RC8"
    allow_pprcp: str | None = None
    apply_incremental: bool = False
    wait: bool | None = None

    verb = "FRRECOV"

    @property
    def level(self) -> str:
        return "COPYPOOL" if self.copypool else "VOLUME" if self.volume else "DATASET"


@dataclass(frozen=True, slots=True)
class FrDelete:
    copypool: str
    all: bool = False
    versions: tuple[int, ...] = ()
    token: bytes | None = None
    scope: str = "DASDONLY"  # DASDONLY | DUMPONLY | BOTH
    dump_classes: tuple[str, ...] = ()

    verb = "FRDELETE"


@dataclass(frozen=True, slots=True)
class ListCopyPool:
    copypool: str | None = None  # None: every copy pool
    volumes: str = "ALLVOLS"  # ALLVOLS | FASTREPLICATIONVOLS | DUMPVOLS | NOVOLS | DATASETS
    all_versions: bool = False
    selection: Selection = field(default_factory=Selection)
    select: tuple[str, str] | None = None  # ("DUMPSTATE", "PARTIAL"), ("INCOMPLETERECOVERY", "")
    pvol: str | None = None  # LIST PVOL(volser)
    backup_group: str | None = None  # LIST COPYPOOLBACKUPSTORAGEGROUP(sg)
    dump_volume: str | None = None  # LIST DUMPVOLUME(tape) ("": every dump volume)
    dump_class: str | None = None  # LIST DUMPCLASS(class) ("": every dump class)
    primary_volume: str | None = None  # LIST PRIMARYVOLUME(volser): its dump copies ("": every volume's)
    out_dataset: str | None = None  # OUTDATASET(dsn) / ODS(dsn): the listing into the site's output area
    sysout: str | None = None  # SYSOUT(class): the listing to the command's output, as TERMINAL

    verb = "LIST"


@dataclass(frozen=True, slots=True)
class Query:
    copypool: str | None = None
    setsys: bool = False

    verb = "QUERY"


#: HOLD's grammar, written once: each function HOLD and RELEASE name, with the qualifiers it may
#: carry (the parser accepts these; engine.hsm.rules.hold_in_effect decides with them)
HOLD_QUALIFIERS: dict[str, tuple[str, ...]] = {
    "ALL": (),
    "FRBACKUP": (),
    "FRRECOV": ("TAPE", "DATASET"),  # a recovery from dump | of data sets
    "DUMP": ("AUTO", "FRBACKUP"),  # the automatic dump | FRBACKUP's own DUMP
}


@dataclass(frozen=True, slots=True)
class Hold:
    """HOLD or RELEASE of functions: (a HOLD_QUALIFIERS function, None or one of its qualifiers)."""

    functions: tuple[tuple[str, str | None], ...]
    release: bool = False

    @property
    def verb(self) -> str:
        return "RELEASE" if self.release else "HOLD"

    def describe(self) -> str:
        return " ".join(f + (f"({q})" if q else "") for f, q in self.functions)


@dataclass(frozen=True, slots=True)
class Setsys:
    """SETSYS for fast replication (engine.hsm.setsys): None leaves a setting as it is."""

    dataset_recovery: str | None = None  # PREFERRED | REQUIRED | NONE
    fc_relation: str | None = None  # EXTENT | FULL
    volume_pair_messages: bool | None = None
    frbackup_tasks: int | None = None
    frrecov_tasks: int | None = None
    dss_tasks: int | None = None
    autodump_start: tuple[int, int, int] | None = None  # hhmm1 hhmm2 hhmm3

    verb = "SETSYS"


@dataclass(frozen=True, slots=True)
class DumpClassChange:
    """DEFINE DUMPCLASS(name ...): the attributes given (None: as they are, or the default)."""

    name: str
    frequency: int | None = None
    day: int | None = None  # 0: no day (IBM: removes the association)
    retention_days: int | None = None  # 0: NOLIMIT
    stack: int | None = None
    fast_replication_dump: str | None = None  # REQUIRED | OPTIONAL
    available_for_mount: bool | None = None


@dataclass(frozen=True, slots=True)
class Define:
    """DEFINE DUMPCYCLE(...) and/or DEFINE DUMPCLASS(...)."""

    dump_cycle: str | None = None  # Y and N
    cycle_start: dt.date | None = None
    dump_class: DumpClassChange | None = None

    verb = "DEFINE"


@dataclass(frozen=True, slots=True)
class AuditCopyPools:
    """AUDIT COPYPOOLCONTROLS[(cp)] [FIX | NOFIX]."""

    copypool: str | None = None
    fix: bool = False
    out_dataset: str | None = None
    sysout: str | None = None

    verb = "AUDIT"


Request = FrBackup | FrRecov | FrDelete | ListCopyPool | Query | Hold | Setsys | Define | AuditCopyPools


def changes_site(req: Request) -> bool:
    """Whether the command writes anything of the site (a read-only console refuses it): every
    function but LIST and QUERY, LIST only into an output data set, AUDIT only with FIX or into
    an output data set."""
    if isinstance(req, ListCopyPool):
        return req.out_dataset is not None
    if isinstance(req, AuditCopyPools):
        return req.fix or req.out_dataset is not None
    return not isinstance(req, Query)
