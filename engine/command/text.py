"""A typed request's canonical command text: what a client shows and sends after building the
request itself, instead of writing HSM grammar by hand. The parser reads the text back to the
same request (tests/command/test_canonical_text.py), so the two can never disagree."""

from __future__ import annotations

import datetime as dt
import functools

from engine.command.requests import (
    Action,
    AuditCopyPools,
    Define,
    DumpClassChange,
    FrBackup,
    FrDelete,
    FrRecov,
    Hold,
    ListCopyPool,
    Query,
    Request,
    ReturnControl,
    Setsys,
    selection_text,
    token_text,
)


def _date(d: dt.date) -> str:
    return f"{d:%Y/%m/%d}"


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def _wait(wait: bool | None) -> str | None:
    return None if wait is None else "WAIT" if wait else "NOWAIT"


def _output(out_dataset: str | None, sysout: str | None) -> str | None:
    if out_dataset:
        return f"OUTDATASET({out_dataset})"
    return f"SYSOUT({sysout})" if sysout else None


@functools.singledispatch
def command_text(request: Request) -> str:
    """The command that the parser reads back to `request`."""
    raise TypeError(f"no command text for {type(request).__name__}")


@command_text.register
def _frbackup(r: FrBackup) -> str:
    action = r.action.value
    if r.action is Action.DUMPONLY and r.selection.given:
        action = f"DUMPONLY({selection_text(r.selection)})"
    incremental = None
    if r.incremental is not None:
        incremental = r.incremental.value + ("(ALL)" if r.incremental_all else "")
    return _join(
        f"FRBACKUP COPYPOOL({r.copypool})",
        action,
        "DUMP" if r.dump else None,
        "RETURNCONTROL(FASTREPLICATIONEND)"
        if r.dump and r.return_control is ReturnControl.FASTREPLICATIONEND
        else None,
        f"DUMPCLASS({','.join(r.dump_classes)})" if r.dump_classes else None,
        incremental,
        None if r.backup_group is None else f"BACKUPSTORAGEGROUP({r.backup_group})",
        f"TOKEN({token_text(r.token)})" if r.token is not None else None,
        "NOVTOCENQ" if r.novtocenq else None,
        "FORCE" if r.force else None,
        _wait(r.wait),
    )


@command_text.register
def _frrecov(r: FrRecov) -> str:
    if r.copypool:
        level = f"COPYPOOL({r.copypool})"
    elif r.volume:
        level = f"TOVOLUME({r.volume})"
    else:
        level = f"DSNAME({','.join(r.dsnames)})"
    source = None
    if r.from_dasd:
        source = "FROMDASD"
    elif r.from_dump is not None:
        d = r.from_dump
        inner = (
            f"DUMPCLASS({d.dump_class})" if d.dump_class else f"DUMPVOLUME({d.dump_volume})" if d.dump_volume else ""
        )
        source = f"FROMDUMP({inner})" if inner else "FROMDUMP"
    return _join(
        "FRRECOV",
        level,
        f"NEWNAME({r.newname})" if r.newname else None,
        f"FROMCOPYPOOL({r.from_copypool})" if r.from_copypool else None,
        source,
        selection_text(r.selection),
        ("VERIFY(Y)" if r.verify else "VERIFY(N)") if r.copypool else None,
        "APPLYINCREMENTAL" if r.apply_incremental else None,
        "REPLACE" if r.replace else None,
        f"FASTREPLICATION({r.fast_replication})" if r.fast_replication else None,
        f"NOCOPYPOOLBACKUP({r.nocopypoolbackup})" if r.dsnames and r.nocopypoolbackup != "RC8" else None,
        f"ALLOWPPRCP({r.allow_pprcp})" if r.allow_pprcp else None,
        _wait(r.wait),
    )


@command_text.register
def _frdelete(r: FrDelete) -> str:
    which = "ALL" if r.all else f"TOKEN({token_text(r.token)})" if r.token is not None else None
    if which is None:
        which = f"VERSIONS({','.join(str(n) for n in r.versions)})"
    scope = None if r.scope == "DASDONLY" else r.scope
    if r.scope == "DUMPONLY" and r.dump_classes:
        scope = f"DUMPONLY(DUMPCLASS({','.join(r.dump_classes)}))"
    return _join(f"FRDELETE COPYPOOL({r.copypool})", which, scope)


@command_text.register
def _list(r: ListCopyPool) -> str:
    out = _output(r.out_dataset, r.sysout)
    named = {
        "PVOL": r.pvol,
        "COPYPOOLBACKUPSTORAGEGROUP": r.backup_group,
        "DUMPVOLUME": r.dump_volume,
        "DUMPCLASS": r.dump_class,
        "PRIMARYVOLUME": r.primary_volume,
    }
    for keyword, name in named.items():
        if name is not None:
            return _join("LIST", f"{keyword}({name})" if name else keyword, out)
    volumes: str | None = r.volumes
    if r.all_versions:
        volumes = f"{r.volumes}(ALLVERS)"
    elif r.selection.given:
        volumes = f"{r.volumes}({selection_text(r.selection)})"
    elif r.volumes == "ALLVOLS":
        volumes = None
    select = None
    if r.select is not None:
        what, state = r.select
        select = f"SELECT({what}({state}))" if state else f"SELECT({what})"
    return _join("LIST", f"COPYPOOL({r.copypool})" if r.copypool else "COPYPOOL", volumes, select, out)


@command_text.register
def _query(r: Query) -> str:
    return "QUERY SETSYS" if r.setsys else f"QUERY COPYPOOL({r.copypool})"


@command_text.register
def _hold(r: Hold) -> str:
    return f"{r.verb} {r.describe()}"


@command_text.register
def _setsys(r: Setsys) -> str:
    fr = _join(
        f"DATASETRECOVERY({r.dataset_recovery})" if r.dataset_recovery else None,
        f"FCRELATION({r.fc_relation})" if r.fc_relation else None,
        None if r.volume_pair_messages is None else f"VOLUMEPAIRMESSAGES({'YES' if r.volume_pair_messages else 'NO'})",
    )
    tasks = _join(
        *(
            f"{name}({n})"
            for name, n in (("FRBACKUP", r.frbackup_tasks), ("FRRECOV", r.frrecov_tasks), ("DSS", r.dss_tasks))
            if n is not None
        )
    )
    start = " ".join(f"{t:04d}" for t in r.autodump_start) if r.autodump_start else ""
    return _join(
        "SETSYS",
        f"FASTREPLICATION({fr})" if fr else None,
        f"MAXCOPYPOOLTASKS({tasks})" if tasks else None,
        f"AUTODUMPSTART({start})" if start else None,
    )


def _dump_class(c: DumpClassChange) -> str:
    retention = None
    if c.retention_days is not None:
        retention = f"RETENTIONPERIOD({c.retention_days or 'NOLIMIT'})"
    mount = None
    if c.available_for_mount is not None:
        mount = f"FASTREPLICATIONRECOVER(AVAILABLEFORMOUNT({'YES' if c.available_for_mount else 'NO'}))"
    return _join(
        c.name,
        None if c.frequency is None else f"FREQUENCY({c.frequency})",
        None if c.day is None else f"DAY({c.day})",
        retention,
        None if c.stack is None else f"STACK({c.stack})",
        f"FASTREPLICATIONDUMP({c.fast_replication_dump})" if c.fast_replication_dump else None,
        mount,
    )


@command_text.register
def _define(r: Define) -> str:
    cycle = None
    if r.dump_cycle is not None:
        start = f" CYCLESTARTDATE({_date(r.cycle_start)})" if r.cycle_start else ""
        cycle = f"DUMPCYCLE({r.dump_cycle}{start})"
    return _join("DEFINE", cycle, f"DUMPCLASS({_dump_class(r.dump_class)})" if r.dump_class else None)


@command_text.register
def _audit(r: AuditCopyPools) -> str:
    return _join(
        "AUDIT",
        f"COPYPOOLCONTROLS({r.copypool})" if r.copypool else "COPYPOOLCONTROLS",
        "FIX" if r.fix else None,
        _output(r.out_dataset, r.sysout),
    )


__all__ = ["command_text", "selection_text", "token_text"]
