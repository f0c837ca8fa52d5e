"""Every refusal DFSMShsm makes, written once.

Each rule is a function that returns a `Refusal` (return code, message id, the *specific* cause,
and the alternatives as data) or None. The commands collect them through `Checks.require`, which
raises `Refused`; the console's checks (precheck), the impact preview and the views run the very
same planning code with a collector that keeps what passed, so what the console predicts is what
the command does.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlmodel import Session

from engine import messages as msg
from engine.catalog import constructs as repo
from engine.catalog.models import BackupVersionRow, CopyPoolRow, VersionPairRow
from engine.catalog.reads import VersionLike
from engine.command import Action, FrBackup, FrRecov, Selection, format_token
from engine.command.requests import HOLD_QUALIFIERS
from engine.errors import CopyInProgress, FlashpoolError, TargetInRelationship
from engine.flashcopy import CopyMode, FlashCopyCore, Relationship, RelState
from engine.hostviews import EnqueueHolder
from engine.messages import CommandResult, Rc
from engine.states import ClassState, DasdState, DumpState, PairState

V = TypeVar("V", bound=VersionLike)  # a version row, or a version as read


@dataclass(frozen=True, slots=True)
class Alternative:
    """What the operator can do instead, as data: a command, or a walkthrough with the context
    it should start from."""

    text: str
    command: str | None = None
    walkthrough: str | None = None
    version: int | None = None
    volume: str | None = None
    datasets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Refusal:
    rc: int
    text: str  # the one cause that applies, with the values that make it
    code: str  # a stable name of the rule (callers choose alternatives by it)
    message_id: str = "ARC1806E"
    alternatives: tuple[Alternative, ...] = ()
    details: tuple[tuple[str, str], ...] = ()  # (message id, text) printed before the ARC1806E
    follow: tuple[tuple[str, str], ...] = ()  # ... and after it


class Refused(FlashpoolError):
    """A command stops: one rule refused it. Carries the refusal for the message and the RC."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.text)
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class Check:
    """One rule as the console shows it: passed, or the refusal that stops the command. An
    advisory check informs (e.g. "fast reverse restore is not possible") without refusing."""

    ok: bool
    label: str
    reason: str = ""
    code: str = ""
    rc: int = 0
    message_id: str = ""
    advisory: bool = False
    alternatives: tuple[Alternative, ...] = ()


@dataclass
class Checks:
    """Collects the rules a command's planning passes; `require` raises on a refusal."""

    items: list[Check] = field(default_factory=list)

    def require(self, label: str, refusal: Refusal | None) -> None:
        if refusal is None:
            self.items.append(Check(True, label))
            return
        self.items.append(
            Check(
                False,
                label,
                refusal.text,
                refusal.code,
                refusal.rc,
                refusal.message_id,
                alternatives=refusal.alternatives,
            )
        )
        raise Refused(refusal)

    def record(self, label: str, refusal: Refusal | None) -> bool:
        """Like `require`, for rules that stop one item (a data set) while the others go on."""
        try:
            self.require(label, refusal)
        except Refused:
            return False
        return True

    def advise(
        self, label: str, problem: str | None, code: str = "", alternatives: tuple[Alternative, ...] = ()
    ) -> None:
        self.items.append(
            Check(
                problem is None,
                label,
                problem or "",
                "" if problem is None else code,
                advisory=True,
                alternatives=alternatives if problem else (),
            )
        )


def report(res: CommandResult, function: str, what: str, r: Refusal) -> None:
    """A refusal as the command prints it: its details, ARC1806E with the RC and cause, follow-ups."""
    for mid, text in r.details:
        res.add(mid, text)
    res.messages.append(msg.failed(function, what, r.rc, r.text))
    for mid, text in r.follow:
        res.add(mid, text)
    res.fail(r.rc)


# -- holds ---------------------------------------------------------------------------------------


def frrecov_qualifiers(from_dump: bool, datasets: bool) -> tuple[str, ...]:
    """The HOLD FRRECOV qualifiers that stop a recovery: TAPE for a recovery from dump,
    DATASET for data sets (both for data sets from tape)."""
    tape, dataset = HOLD_QUALIFIERS["FRRECOV"]
    return tuple(q for q, on in ((tape, from_dump), (dataset, datasets)) if on)


def hold_in_effect(holds: set[str], function: str, qualifiers: Iterable[str] = ()) -> str | None:
    """The hold that stops `function` (with these qualifiers), e.g. 'FRRECOV(TAPE)'."""
    return next((h for h in ("ALL", function, *(f"{function}({q})" for q in qualifiers)) if h in holds), None)


def held(holds: set[str], function: str, qualifiers: Iterable[str] = ()) -> Refusal | None:
    h = hold_in_effect(holds, function, qualifiers)
    if h is None:
        return None
    return Refusal(
        Rc.HELD,
        f"{function} is held ({h}); RELEASE {h} to run it",
        "held",
        alternatives=(Alternative(f"RELEASE {h}", command=f"RELEASE {h}"),),
    )


def request_hold(holds: set[str], req: FrBackup | FrRecov) -> Refusal | None:
    """The hold that stops this request: HOLD FRBACKUP (and HOLD DUMP or DUMP(FRBACKUP) for its
    dumps) or HOLD FRRECOV with the qualifiers that fit (TAPE, DATASET); HOLD ALL stops both."""
    if isinstance(req, FrBackup):
        dumps = req.dump or req.action is Action.DUMPONLY
        return held(holds, "FRBACKUP") or (held(holds, "DUMP", ("FRBACKUP",)) if dumps else None)
    return held(holds, "FRRECOV", frrecov_qualifiers(req.from_dump is not None, bool(req.dsnames)))


# -- copy pools and versions -----------------------------------------------------------------------


def pool_busy(name: str, holder: EnqueueHolder | None = None) -> Refusal:
    """IBM's one function at a time per copy pool, for a NOWAIT request that finds it taken (on
    another host of the plex: named, as DFSMShsm names an ENQ's holder)."""
    where = f" ({holder.describe()})" if holder is not None else ""
    return Refusal(
        Rc.POOL_BUSY,
        f"another DFSMShsm function is processing copy pool {name}{where}; reissue the command when it completes "
        "(or without NOWAIT, to wait its turn)",
        "busy",
    )


def pool_defined(pool: CopyPoolRow | None, name: str | None) -> Refusal | None:
    if pool is None:
        return Refusal(Rc.UNKNOWN_POOL, f"copy pool {name} is not defined", "no-pool")
    return None


def version_name(v: VersionLike) -> str:
    return f"version {v.version:03d}" + (f" (TOKEN={format_token(v.token)})" if v.token else "")


def select_version(vers: Sequence[V], sel: Selection, need_dasd: bool, dumping: bool = False) -> V | Refusal:
    """The version a selection (VERSION / GENERATION / DATE / TOKEN) names, or why there is none.
    Tokens are compared exactly (X'00' is not "no token"). `need_dasd`: one to recover from DASD
    (or, `dumping`, to dump: a DUMPONLY copy is one)."""
    found: V | None = None
    if sel.version is not None:
        found = next((v for v in vers if v.version == sel.version), None)
    elif sel.date is not None:
        found = next((v for v in vers if dt.date.fromtimestamp(v.created_at) == sel.date), None)
    elif sel.token is not None:
        found = next((v for v in vers if v.token == sel.token), None)
        if found is None:
            return Refusal(Rc.NO_TOKEN, f"no backup copy carries TOKEN({format_token(sel.token)})", "version")
    else:
        g = sel.generation or 0
        found = vers[g] if g < len(vers) else None
    if found is None:
        return Refusal(
            Rc.NO_VERSION,
            f"the requested backup copy ({sel.describe()}) does not exist",
            "version",
            alternatives=_instead_of(vers, None),
        )
    usable = (
        (DasdState.RECOVERABLE, DasdState.DUMPONLY) if dumping else (DasdState.RECOVERABLE, DasdState.FCFRRINCOMPLETE)
    )
    if need_dasd and not dumping and found.dasd_state == DasdState.DUMPONLY:
        return Refusal(
            Rc.FRR_REFUSED,
            f"{version_name(found)} is DUMPONLY: the NOCOPY copy of a VERSIONS=0 copy pool that does not allow "
            "fast reverse restore, kept on DASD only to be dumped; it is never recovered from DASD",
            "versions-zero",
            alternatives=_instead_of(vers, found),
        )
    if need_dasd and found.dasd_state not in usable:
        state = "has no DASD copy" if found.dasd_state == DasdState.NONE else f"is {found.dasd_state}"
        return Refusal(
            Rc.NO_VERSION,
            f"{version_name(found)} {state}; it cannot be recovered from DASD",
            "version",
            alternatives=_instead_of(vers, found),
        )
    return found


def _instead_of(vers: Sequence[V], unusable: V | None) -> tuple[Alternative, ...]:
    """What a recovery can use instead of a version that does not exist or has no DASD copy:
    that version's own dump copies, the newest other version on DASD, the newest dumped one,
    or (nothing to recover from) a backup first."""
    if unusable is not None and DumpState(unusable.dump_state).dumped:
        return (Alternative("recover it from its dump copies", walkthrough="W5", version=unusable.version),)
    dasd = next((v for v in vers if v is not unusable and v.dasd_state == DasdState.RECOVERABLE), None)
    if dasd is not None:
        return (Alternative(f"recover {version_name(dasd)} instead", walkthrough="W2", version=dasd.version),)
    dumped = next((v for v in vers if v is not unusable and DumpState(v.dump_state).dumped), None)
    if dumped is not None:
        return (Alternative(f"recover {version_name(dumped)} from tape", walkthrough="W5", version=dumped.version),)
    return (Alternative("take a backup first: there is nothing to recover from", walkthrough="W7"),)


def volumes_available(volsers: Iterable[str], unavailable: Mapping[str, str], known: Iterable[str]) -> Refusal | None:
    known = set(known)
    missing = sorted({v for v in volsers if v not in known})
    if missing:
        return Refusal(
            Rc.VOLUME_UNAVAILABLE,
            "volume(s) unavailable: " + ", ".join(f"{v} ({unavailable.get(v, 'not open')})" for v in missing),
            "offline",
        )
    return None


# -- fast reverse restore ----------------------------------------------------------------------------


class Method(enum.Enum):
    """How one volume of a fast reverse restore comes back."""

    FAST = "fast reverse"  # its relationship still runs: reverse it, changed tracks only
    REGULAR = "regular"  # its background copy completed (the relationship ended): full FlashCopy
    DONE = "done"  # an earlier, partial fast reverse restore already brought it back


#: the states in which a version can still be recovered by fast reverse restore
FRR_STATES = tuple(s for s in DasdState if s.frr_possible)


def frr_methods(core: FlashCopyCore, version: VersionLike, pairs: Sequence[repo.PairLike]) -> dict[str, Method] | None:
    """Per source volume, how a fast reverse restore of `version` would recover it now, derived
    from the live relationships; None when the version cannot be recovered that way (not made
    FRR-allowed, or no volume's relationship still runs and none was already restored). One
    volume whose copy completed takes nothing from the others (docs/DOMAIN.md 5)."""
    if not version.fcfrr or version.dasd_state not in FRR_STATES:
        return None
    out: dict[str, Method] = {}
    for p in pairs:
        if p.state == PairState.RECOVERED:
            out[p.source] = Method.DONE
            continue
        rel = core.find(p.relationship_id) if p.relationship_id else None
        if rel is None:
            out[p.source] = Method.REGULAR
        elif rel.source == p.source and rel.target == p.target:
            out[p.source] = Method.FAST
        else:
            return None
    if version.dasd_state == DasdState.RECOVERABLE and Method.FAST not in out.values():
        return None
    return out


def frr_possible(pool: CopyPoolRow, version: BackupVersionRow, methods: dict[str, Method] | None) -> str | None:
    """Why fast reverse restore is not possible for this version (advisory), or None."""
    if methods is not None:
        return None
    if not pool.fast_reverse_restore:
        return f"copy pool {pool.name} was not defined with fast reverse restore: regular FlashCopy is used"
    if not version.fcfrr:
        return f"{version_name(version)} was taken before fast reverse restore was allowed"
    return f"the background copy of {version_name(version)} has completed on every volume: its relationships ended"


def partial_frr_blocked(version: BackupVersionRow, methods: dict[str, Method] | None) -> Refusal | None:
    if version.dasd_state == DasdState.FCFRRINCOMPLETE and methods is None:
        return Refusal(
            Rc.IN_THE_WAY,
            f"{version_name(version)} was partly restored by fast reverse restore and its other "
            f"relationships changed; recover the remaining volumes from a dump or another version",
            "frr-incomplete",
            alternatives=(Alternative("recover from tape", walkthrough="W5", version=version.version),),
        )
    return None


def new_version_state(pool: CopyPoolRow) -> DasdState:
    """A new version's DASD state: RECOVERABLE, except the NOCOPY copy of a VERSIONS=0 copy pool
    that fast reverse restore may not use, which is kept on DASD only to be dumped."""
    return DasdState.DUMPONLY if pool.versions == 0 and not pool.fast_reverse_restore else DasdState.RECOVERABLE


def nocopy_recovery(
    pool: CopyPoolRow, version: BackupVersionRow, frr: bool, volume: str | None = None
) -> Refusal | None:
    """VERSIONS=0: the NOCOPY DASD copy is for dumping; only fast reverse restore may use it."""
    if pool.versions != 0 or frr:
        return None
    why = (
        f"{version_name(version)} is a NOCOPY copy of a VERSIONS=0 copy pool; it can be recovered "
        f"only by fast reverse restore" + ("" if pool.fast_reverse_restore else ", which the copy pool does not allow")
    )
    if not DumpState(version.dump_state).dumped:  # no dump copy to offer: dump it first
        dump = f"FRBACKUP COPYPOOL({pool.name}) DUMPONLY(VERSION({version.version}))"
        return Refusal(
            Rc.FRR_REFUSED,
            f"{why}; it has no dump copy yet: dump it ({dump}), then recover from tape",
            "versions-zero",
            alternatives=(Alternative("dump it to tape first", command=dump, version=version.version),),
        )
    how = f"FRRECOV TOVOLUME({volume}) FROMDUMP" if volume else f"FRRECOV COPYPOOL({pool.name}) FROMDUMP"
    return Refusal(
        Rc.FRR_REFUSED,
        f"{why}; recover from its dump copies ({how})",
        "versions-zero",
        alternatives=(
            Alternative("recover from its dump copies", command=how, walkthrough="W5", version=version.version),
        ),
    )


def verify_n_with_frr(verify: bool, frr: bool) -> Refusal | None:
    if not verify and frr:
        return Refusal(
            Rc.FRR_REFUSED,
            "VERIFY(N) is not accepted for a copy pool whose version is still eligible for fast reverse restore",
            "verify-n",
        )
    return None


def incremental_ready(core: FlashCopyCore, pairs: Sequence[repo.PairLike]) -> Refusal | None:
    """An incremental version is recovered by reversing its persistent pairs: each must exist,
    have completed its copy, and its target must not have been written since the increment."""
    for p in pairs:
        rel = core.find(p.relationship_id) if p.relationship_id else None
        if rel is None or not rel.incremental:
            return Refusal(
                Rc.IN_THE_WAY, f"the incremental relationship of {p.source} no longer exists", "incremental-copying"
            )
        if rel.uncopied.any():
            return Refusal(
                Rc.IN_THE_WAY,
                f"{rel.source} -> {rel.target} still has {rel.out_of_sync:,} tracks to copy; an "
                f"incremental pair cannot be reversed while copying (QUERY COPYPOOL)",
                "incremental-copying",
            )
        written = rel.changed_tgt if rel.source == p.source else rel.changed_src
        if written.any():
            return Refusal(
                Rc.IN_THE_WAY,
                f"target volume {p.target} was written since the last increment ({written.count():,} "
                f"tracks); its reversal would not restore the version's point in time (take a new FCINCREMENTAL "
                f"backup or recover another version)",
                "incremental-written",
            )
    return None


def verify_relationships(
    core: FlashCopyCore, pool_frr: bool, frr: bool, incremental: bool, pairs: Sequence[repo.PairLike], dumping: set[str]
) -> Refusal | None:
    """DFSMShsm's VERIFY(Y) checks, before anything is touched (docs/DOMAIN.md 4.1)."""
    version_rels = {p.relationship_id for p in pairs}

    def refused(text: str, waits: bool = True) -> Refusal:
        """`waits`: the relationship ends once its copy completes, so waiting helps
        ("relationships"); a persistent one stays ("relationship-kept": withdraw it, or VERIFY(N))."""
        return Refusal(
            Rc.IN_THE_WAY,
            text,
            "relationships" if waits else "relationship-kept",
            follow=(
                (
                    "ARC1821I",
                    "QUERY COPYPOOL SHOWS THE RELATIONSHIPS; RECOVER WHEN THEY COMPLETE, OR USE VERIFY(N) ONCE CHECKED",
                ),
            ),
            alternatives=(
                Alternative("recover when the relationships complete (QUERY COPYPOOL), or with VERIFY(N) once checked"),
            ),
        )

    for p in pairs:
        rels: list[Relationship] = core.outgoing(p.source) + core.incoming(p.source)
        others = [r for r in rels if r.id not in version_rels]
        if not pool_frr and others:
            r = next((r for r in others if r.persistent), others[0])
            return refused(
                f"source volume {p.source} is in a FlashCopy relationship ({r.source} -> {r.target}, "
                f"{r.out_of_sync:,} tracks to copy" + (", persistent" if r.persistent else "") + ")",
                waits=not r.persistent,
            )
        if pool_frr and [r for r in others if not r.label.startswith("HSM ") and r.source == p.source]:
            return refused(f"source volume {p.source} has FlashCopy targets DFSMShsm does not manage")
        if sum(1 for r in core.outgoing(p.source) if r.incremental) > 1:
            return refused(f"source volume {p.source} has several incremental FlashCopy targets", waits=False)
        if not frr and not incremental:
            mine = core.find(p.relationship_id) if p.relationship_id else None
            if mine is not None and mine.uncopied.any():
                return refused(
                    f"the backup of {p.source} is still copying to {p.target} ({mine.out_of_sync:,} tracks); "
                    f"recover when it completes"
                )
        if any(r.target == p.source for r in others):
            return refused(
                f"source volume {p.source} is already the target of another relationship (a recovery still copying?)"
            )
    being_dumped = sorted(p.target for p in pairs if p.target in dumping)
    if frr and being_dumped:
        return refused(f"target volume(s) {', '.join(being_dumped)} are being dumped to tape")
    return None


def volume_backup_in_relationship(
    core: FlashCopyCore, pair: VersionPairRow, version: BackupVersionRow
) -> Refusal | None:
    """FRRECOV TOVOLUME flashes the target back onto the source, which FlashCopy cannot do while
    the backup's own relationship still joins them (DFSMShsm: RC 4, the relationships must
    complete first); only the copy pool's recovery reverses it."""
    mine = core.find(pair.relationship_id) if pair.relationship_id else None
    if mine is None or mine.source != pair.source:
        return None
    whole = f"FRRECOV COPYPOOL({version.copy_pool})"
    if mine.state is RelState.COPYING:
        text = (
            f"the backup of {pair.source} in {version_name(version)} is still copying to {pair.target} "
            f"({mine.out_of_sync:,} tracks to copy); recover the volume when it completes (QUERY COPYPOOL)"
            + (f", or recover the whole copy pool now with {whole} (fast reverse restore)" if version.fcfrr else "")
        )
        return Refusal(Rc.IN_THE_WAY, text, "relationships")
    kind = "NOCOPY" if mine.mode is CopyMode.NOCOPY else "persistent"
    text = (
        f"{pair.source} is still in the {kind} FlashCopy relationship of {version_name(version)} with "
        f"{pair.target}; a volume cannot be flashed back over it: recover the whole copy pool with {whole}, "
        f"which reverses it"
    )
    return Refusal(Rc.IN_THE_WAY, text, "relationship-kept")


def hidden_volume(user: str, volser: str) -> str:
    """The refusal of a command about a volume that holds data of a copy pool the caller may not
    LIST: it names neither that pool nor the profile that hides it, and reads the same for a
    volume the site does not know (a caller shown those apart would learn which names are real)."""
    return f"USER {user} IS NOT AUTHORIZED: VOLUME {volser} HOLDS DATA OF A COPY POOL YOU MAY NOT LIST"


def already_restored(pair: VersionPairRow, version: BackupVersionRow) -> Refusal | None:
    if pair.state == PairState.RECOVERED:
        return Refusal(
            Rc.IN_THE_WAY,
            f"{pair.source} was already restored by a fast reverse restore of {version_name(version)}; "
            f"its target no longer holds the backup",
            "already-restored",
        )
    return None


# -- FRBACKUP --------------------------------------------------------------------------------------------


def required_dump_incomplete(s: Session, pool: CopyPoolRow, version: BackupVersionRow) -> str | None:
    """The pool's first REQUIRED dump class the version lacks a COMPLETE copy of on some source
    volume (dump.class_state: every source's copy complete, not any one of them)."""
    from engine.hsm.dump import class_state  # dump is below the rules that ask here

    for link in repo.pool_dump_classes(s, pool.name):
        dc = repo.dump_class(s, link.dump_class)
        if (
            dc
            and dc.fast_replication_dump == "REQUIRED"
            and class_state(s, version.key, dc.name) != ClassState.COMPLETE
        ):
            return dc.name
    return None


def roll_off(s: Session, pool: CopyPoolRow, victim: BackupVersionRow, force: bool) -> Refusal | None:
    blocking = required_dump_incomplete(s, pool, victim)
    if blocking and not force:
        return Refusal(
            Rc.REQUIRED_DUMP,
            f"{version_name(victim)} would roll off but its REQUIRED dump class {blocking} is "
            f"incomplete; dump it (FRBACKUP DUMPONLY) or specify FORCE",
            "required-dump",
            alternatives=(
                Alternative(
                    f"dump {version_name(victim)} first",
                    command=f"FRBACKUP COPYPOOL({pool.name}) DUMPONLY VERSION({victim.version})",
                    version=victim.version,
                ),
                Alternative("roll it off anyway", command=f"FRBACKUP COPYPOOL({pool.name}) FORCE"),
            ),
        )
    return None


def targets_free(
    core: FlashCopyCore, pairs: dict[str, str], refresh: bool, owned: dict[str, int | None]
) -> Refusal | None:
    """A reused target may still feed a recovery (a reversed relationship): never cut it off."""
    for src, tgt in pairs.items():
        for rel in core.outgoing(tgt):
            if refresh and rel.incremental and rel.target == src and not rel.uncopied.any():
                continue
            if rel.uncopied.any():
                return Refusal(
                    Rc.IN_THE_WAY,
                    f"target {tgt} is still the source of relationship {rel.id} ({rel.source} -> "
                    f"{rel.target}, {rel.out_of_sync:,} tracks to copy); wait for the recovery to finish "
                    f"(QUERY COPYPOOL)",
                    "recovery-copying",
                )
            if owned.get(src) == rel.id and rel.incremental:
                return Refusal(
                    Rc.IN_THE_WAY,
                    f"the incremental version on {tgt} was recovered by reversing its relationship "
                    f"({rel.source} -> {rel.target}); take the next backup with FCINCREMENTAL (it re-reverses, "
                    f"copying changed tracks only), or FRDELETE the version first",
                    "reversed",
                    alternatives=(Alternative("refresh it", command="FRBACKUP FCINCREMENTAL"),),
                )
            return Refusal(
                Rc.IN_THE_WAY,
                f"target {tgt} is the source of relationship {rel.id} ({rel.source} -> {rel.target}); "
                f"withdraw it (or FRDELETE the version that owns it) first",
                "relationships",
            )
    return None


def backup_group_override(s: Session, pool: CopyPoolRow, bsg: str) -> Refusal | None:
    """FRBACKUP BACKUPSTORAGEGROUP(bsg): only while no DASD version exists, and only a CPBSG."""
    group = repo.storage_group(s, bsg) if bsg else None
    if bsg and (group is None or group.type != "COPYPOOLBACKUP"):
        return Refusal(Rc.UNKNOWN_POOL, f"{bsg} is not a copy pool backup storage group", "bsg")
    if any(v.dasd_state in repo.DASD_STATES for v in repo.versions(s, pool.name)):
        return Refusal(
            Rc.BSG_HAS_VERSIONS, "BACKUPSTORAGEGROUP can change only while the copy pool has no DASD versions", "bsg"
        )
    return None


def no_targets(what: str, problems: list[tuple[str, str]]) -> Refusal | None:
    """ARC1807I per source without an eligible target, then ARC1806E RC 10."""
    if not problems:
        return None
    return Refusal(
        Rc.NO_TARGET,
        what,
        "targets",
        details=tuple(
            ("ARC1807I", f"NO TARGET VOLUME COULD BE SELECTED FOR SOURCE VOLUME {src}: {why}") for src, why in problems
        ),
        alternatives=(
            Alternative("add same-size volumes to the copy pool backup storage group, or vary offline ones online"),
        ),
    )


def dump_classes_defined(pool: str, classes: tuple[str, ...], unknown: list[str]) -> Refusal | None:
    if unknown:
        return Refusal(Rc.DUMP_CLASS, f"dump class {unknown[0]} is not defined", "no-dump-class")
    if not classes:
        return Refusal(
            Rc.DUMP_CLASS, f"copy pool {pool} has no dump classes; name them with DUMPCLASS", "no-dump-class"
        )
    return None


def nocopy_is_not_incremental(pool: CopyPoolRow) -> Refusal | None:
    if pool.versions == 0:
        return Refusal(Rc.INCREMENTAL, "an incremental version cannot be NOCOPY (VERSIONS=0)", "incremental")
    return None


# -- data sets (ARC1866I per data set; the others go on) -----------------------------------------------


def dataset_refusal(rc: int, text: str, code: str, alternatives: tuple[Alternative, ...] = ()) -> Refusal:
    return Refusal(rc, text, code, message_id="ARC1866I", alternatives=alternatives)


def dataset_migrated(name: str, migrated: bool) -> Refusal | None:
    if migrated:
        return dataset_refusal(
            14, f"{name} is migrated; migrated data sets are not supported: recall it first", "migrated"
        )
    return None


def dataset_replace(name: str, exists: bool, replace: bool) -> Refusal | None:
    if exists and not replace:
        return dataset_refusal(22, f"{name} exists; specify REPLACE to overwrite it", "exists")
    return None


def dataset_extents_free(name: str, owner: str | None) -> Refusal | None:
    if owner:
        return dataset_refusal(24, f"the backup-time extents of {name} now belong to {owner}", "moved")
    return None


def dataset_volumes(name: str, volumes: Iterable[str], known: Iterable[str]) -> Refusal | None:
    missing = sorted(set(volumes) - set(known))
    if missing:
        return dataset_refusal(30, f"volume(s) {', '.join(missing)} of {name} are unavailable", "offline")
    return None


# -- more rules the commands plan with --------------------------------------------------------------


def incremental_replaces(inc: BackupVersionRow | None, reuse: BackupVersionRow | None) -> Refusal | None:
    """FCINCREMENTAL replaces the oldest version: it must be the incremental one."""
    if inc is not None and reuse is not None and reuse.id != inc.id:
        return Refusal(
            Rc.INCREMENTAL,
            f"the oldest version ({reuse.version:03d}) is not the incremental one "
            f"({inc.version:03d}); FCINCREMENTAL cannot replace it",
            "incremental",
        )
    return None


def last_increment_possible(last: bool, inc: BackupVersionRow | None, reuse: BackupVersionRow | None) -> Refusal | None:
    if last and (inc is None or reuse is None):
        return Refusal(Rc.INCREMENTAL, "there is no incremental version to take a last increment of", "incremental")
    return None


def has_volumes(pairs: dict[str, str]) -> Refusal | None:
    return None if pairs else Refusal(Rc.NO_VOLUMES, "the copy pool has no volumes to back up", "no-volumes")


def number_free(number: int | None) -> Refusal | None:
    return (
        None
        if number
        else Refusal(Rc.NO_VOLUMES, "all 999 version numbers are in use; FRDELETE old versions", "numbers")
    )


def catalog_captured(pool: CopyPoolRow, capture_rc: int) -> Refusal | None:
    if capture_rc and pool.catalog_capture == "R":
        return Refusal(Rc.SYNTAX, "catalog information could not be captured and the copy pool requires it", "capture")
    return None


def valid_dasd_copy(version: BackupVersionRow | None, what: str) -> Refusal | None:
    """DUMPONLY and WITHDRAW work on a valid DASD copy (a VERSIONS=0 copy kept to be dumped is one)."""
    if version is None:
        return Refusal(Rc.NO_VERSION, f"the copy pool has no valid DASD version to {what}", "version")
    if not DasdState(version.dasd_state).dumpable:
        done = {"dump": "dumped", "withdraw": "withdrawn"}[what]
        return Refusal(
            Rc.NO_VERSION,
            f"{version_name(version)} is {version.dasd_state}; only a valid DASD copy can be {done}",
            "version",
        )
    return None


def recovery_copying(core: FlashCopyCore, version: BackupVersionRow, pairs: Sequence[repo.PairLike]) -> Refusal | None:
    """A version whose relationship runs back onto its source (a recovery still copying) keeps it."""
    for p in pairs:
        rel = core.find(p.relationship_id) if p.relationship_id else None
        if rel is not None and rel.target == p.source and rel.uncopied.any():
            return Refusal(
                Rc.IN_THE_WAY,
                f"{version_name(version)} is restoring {p.source} ({rel.out_of_sync:,} tracks still "
                f"to copy); its relationships cannot be withdrawn until the recovery completes",
                "recovery-copying",
            )
    return None


def engine_refused(exc: Exception) -> Refusal:
    """FlashCopy itself refused (its own rules, asked by a dry run or met while running):
    "relationships" when another relationship's copy is in the way (waiting for it helps),
    "flashcopy-refused" when no wait would (a loop, too many relationships, no cascading)."""
    waits = isinstance(exc, TargetInRelationship | CopyInProgress)
    return Refusal(Rc.IN_THE_WAY, str(exc), "relationships" if waits else "flashcopy-refused")


def volume_refused(source: str, exc: Exception) -> Refusal:
    """One volume of a copy pool recovery that FlashCopy refuses: it fails, the others go on."""
    return Refusal(8, f"{source} ({exc})", "volume-refused", message_id="ARC1803E")


def token_found(found: BackupVersionRow | None, token: bytes) -> Refusal | None:
    return None if found else Refusal(Rc.NO_TOKEN, f"no version carries TOKEN({format_token(token)})", "version")


def versions_exist(missing: list[int]) -> Refusal | None:
    return (
        None
        if not missing
        else Refusal(Rc.NO_VERSION, "no version " + ", ".join(f"{n:03d}" for n in missing), "version")
    )


def pool_of_volume(pools_of: list[str], vol: str, from_cp: str | None) -> str | Refusal:
    """The copy pool a volume is recovered from: FROMCOPYPOOL, or its only one."""
    if from_cp:
        if from_cp not in pools_of:
            return Refusal(Rc.NO_BACKUP, f"{vol} is not a source volume of copy pool {from_cp}", "not-in-version")
        return from_cp
    if not pools_of:
        return Refusal(Rc.NO_BACKUP, f"{vol} has no fast replication backup (it is in no copy pool)", "not-in-version")
    if len(pools_of) > 1:
        return Refusal(
            Rc.SEVERAL_POOLS,
            f"{vol} belongs to copy pools {', '.join(pools_of)}; name one with FROMCOPYPOOL",
            "several-pools",
        )
    return pools_of[0]


def volume_in_version(pair: VersionPairRow | None, vol: str, version: BackupVersionRow) -> Refusal | None:
    if pair is None:
        return Refusal(Rc.NOT_IN_VERSION, f"{vol} was not part of {version_name(version)}", "not-in-version")
    return None


def has_dump_copies(sources: list[str]) -> Refusal | None:
    return None if sources else Refusal(Rc.NO_DUMP_COPY, "the selected version has no dump copies", "no-dump")


def dump_copies_deletable(what: str, have: Iterable[str], classes: tuple[str, ...]) -> Refusal | None:
    """FRDELETE DUMPONLY deletes dump copies that exist: `what` (a version, or a copy pool for ALL)
    must have some (RC 42), and one in every dump class DUMPCLASS names (RC 48)."""
    have = set(have)
    if not have:
        return Refusal(Rc.NO_DUMP_COPY, f"{what} has no dump copies", "no-dump")
    missing = [c for c in classes if c not in have]
    if missing:
        return Refusal(Rc.DUMP_CLASS, f"{what} has no dump copy in dump class {', '.join(missing)}", "no-dump-class")
    return None


def dasd_copies_deletable(what: str, states: Iterable[str]) -> Refusal | None:
    """FRDELETE DASDONLY deletes DASD copies that exist: `what` (a version, or a copy pool for
    ALL) must have one (RC 2: a version that lives on as dump copies only has none)."""
    found = list(states)
    if found and all(s == DasdState.NONE for s in found):
        return Refusal(Rc.NO_VERSION, f"{what} has no DASD copy (it lives on as dump copies only)", "version")
    return None


def dump_copy(rc: int, why: str) -> Refusal:
    """No usable dump copy (dump.choose_dump says which code)."""
    return Refusal(rc, why, "no-dump")


def volume_without_dump(source: str, refusal: Refusal) -> Refusal:
    """FRRECOV COPYPOOL FROMDUMP goes on without a volume that has no copy: that volume fails."""
    return Refusal(8, f"{source} ({refusal.text})", refusal.code, message_id="ARC1803E")


def no_target(why: str) -> Refusal:
    return Refusal(Rc.NO_TARGET, why, "targets")


__all__ = ["Alternative", "Check", "Checks", "Method", "Rc", "Refusal", "Refused"]
