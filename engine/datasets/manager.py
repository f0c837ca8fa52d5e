"""Data sets on volumes: a VTOC on each volume and a catalog of names.

The VTOC lives on the volume's first tracks (JSON, zero-padded), written through FlashCopy's
normal write path, so backups, dumps and recoveries carry it like any track. The catalog (the
`data_set` / `data_set_extent` tables) maps each name to its volumes and extents; after a volume
comes back from a backup, the catalog is re-read from that volume's VTOC ("recataloged").
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, delete, select

from engine.catalog.models import DataSetExtentRow, DataSetRow
from engine.command import dsname_problem
from engine.datasets.info import DataSetInfo, Extent
from engine.datasets.names import InvalidDataSetName, is_filter, matches, validate_dsname
from engine.errors import FlashpoolError

if TYPE_CHECKING:
    from engine.catalog import Catalog
    from engine.flashcopy import FlashCopyController
    from engine.storage import Volume


class DataSetError(FlashpoolError):
    pass


def vtoc_tracks(total_tracks: int, track_size: int) -> int:
    """Tracks reserved for the VTOC at the start of a volume: at least 4 KiB, one more track per
    3,000 tracks, never more than a quarter of a (tiny) volume."""
    want = max(1 + total_tracks // 3000, -(-4096 // track_size))
    return max(1, min(want, total_tracks // 4))


class DataSetStore:
    """The data sets, blocking: called from worker threads (HSM commands run there; the loop's
    face is DataSets below)."""

    def __init__(self, catalog: Catalog, flashcopy: FlashCopyController, clock: Callable[[], float]) -> None:
        self.catalog = catalog
        self.flashcopy = flashcopy
        self.clock = clock

    def _volume(self, volser: str) -> Volume:
        return self.flashcopy.core.volume(volser)

    # -- queries ------------------------------------------------------------------------------
    def get(self, name: str) -> DataSetInfo | None:
        with self.catalog.session() as s:
            return _info(s, validate_dsname(name))

    def cataloged(self, pattern: str | None = None) -> list[DataSetInfo]:
        """The cataloged data sets, those `pattern` (a name or filter, as DSNAME takes) matches."""
        why = dsname_problem(pattern) if pattern is not None else None
        if why:
            raise InvalidDataSetName(why)
        with self.catalog.session() as s:
            rows = s.exec(select(DataSetRow).order_by(DataSetRow.name)).all()
            names = [r.name for r in rows if pattern is None or matches(pattern, r.name)]
            return [i for n in names if (i := _info(s, n)) is not None]

    def on_volumes(self, volsers: Iterable[str]) -> list[DataSetInfo]:
        vols = set(volsers)
        with self.catalog.session() as s:
            names = {
                r.name for r in s.exec(select(DataSetExtentRow).where(col(DataSetExtentRow.volser).in_(vols))).all()
            }
            return [i for n in sorted(names) if (i := _info(s, n)) is not None]

    def read_vtoc(self, volser: str) -> list[dict[str, Any]]:
        vol = self._volume(volser)
        parts: list[bytes] = []
        for k in range(vtoc_tracks(vol.tracks, vol.geometry.track_size)):
            # JSON, then zeros (JSON never holds a NUL): the track where the zeros start ends
            # the VTOC, so a 3390-54's 328 VTOC tracks (18.6 MB) are not read for one track of text
            (track,) = self.flashcopy.read_run_blocking(volser, k, 1)
            parts.append(track)
            if track.endswith(b"\0"):
                break
        raw = b"".join(parts).rstrip(b"\0")
        if not raw:
            return []
        try:
            return list(json.loads(raw)["datasets"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise DataSetError(f"the VTOC of {volser} is damaged ({exc})") from None

    def free_extents(self, volser: str) -> list[Extent]:
        vol = self._volume(volser)
        with self.catalog.session() as s:
            used = sorted(
                (r.first_track, r.tracks)
                for r in s.exec(select(DataSetExtentRow).where(DataSetExtentRow.volser == volser)).all()
            )
        free, pos = [], vtoc_tracks(vol.tracks, vol.geometry.track_size)
        for first, n in used:
            if first > pos:
                free.append(Extent(volser, pos, first - pos))
            pos = max(pos, first + n)
        if pos < vol.tracks:
            free.append(Extent(volser, pos, vol.tracks - pos))
        return free

    # -- allocate / write / read / delete ---------------------------------------------------
    def allocate(
        self, name: str, tracks: int, volumes: list[str], dsorg: str = "PS", created_at: float | None = None
    ) -> DataSetInfo:
        """Allocate `tracks` tracks, first fit, spreading over the listed volumes in order
        (a multi-volume data set when one volume cannot hold it)."""
        dsn = validate_dsname(name)
        if is_filter(dsn):
            raise DataSetError(f"{dsn} is a filter, not a data set name")
        if tracks < 1:
            raise DataSetError("a data set needs at least one track")
        if self.get(dsn) is not None:
            raise DataSetError(f"data set {dsn} already exists")
        extents: list[Extent] = []
        need = tracks
        for v in volumes:
            for ext in self.free_extents(v):
                take = min(ext.tracks, need)
                extents.append(Extent(v, ext.first, take))
                need -= take
                if not need:
                    break
            if not need:
                break
        if need:
            raise DataSetError(f"not enough free space for {dsn} ({tracks} tracks) on {', '.join(volumes)}")
        info = DataSetInfo(dsn, dsorg, tuple(extents), 0, created_at or self.clock())
        self._catalog(info)
        self.write_vtocs({e.volser for e in extents})
        return info

    def write(self, name: str, data: bytes) -> None:
        """Replace the data set's content with `data` (at most its allocated size)."""
        info = self._require(name)
        ts = self._volume(info.extents[0].volser).geometry.track_size
        if len(data) > info.tracks * ts:
            raise DataSetError(f"{info.name} holds {info.tracks * ts:,} bytes; {len(data):,} do not fit")
        pos = 0
        for e in info.extents:
            chunk = data[pos : pos + e.tracks * ts]
            pos += len(chunk)
            if not chunk:
                break
            n = -(-len(chunk) // ts)
            padded = chunk + bytes(n * ts - len(chunk))
            self.flashcopy.write_run_blocking(e.volser, e.first, [padded[i * ts : (i + 1) * ts] for i in range(n)])
        with self.catalog.session() as s:
            row = s.get(DataSetRow, info.name)
            if row is None:
                raise DataSetError(f"data set {info.name} was uncataloged while it was written")
            row.bytes_used = len(data)
            s.add(row)
            s.commit()
        self.write_vtocs(set(info.volumes))

    def read(self, name: str) -> bytes:
        info = self._require(name)
        out = bytearray()
        for e in info.extents:
            for t in self.flashcopy.read_run_blocking(e.volser, e.first, e.tracks):
                out += t
                if len(out) >= info.bytes_used:
                    return bytes(out[: info.bytes_used])
        return bytes(out[: info.bytes_used])

    def delete(self, name: str) -> None:
        info = self._require(name)
        with self.catalog.session() as s:
            _uncatalog(s, info.name)
            s.commit()
        self.write_vtocs(set(info.volumes))

    # -- catalog <-> VTOC ---------------------------------------------------------------------
    def _catalog(self, info: DataSetInfo) -> None:
        with self.catalog.session() as s:
            _uncatalog(s, info.name)
            s.add(
                DataSetRow(
                    name=info.name,
                    dsorg=info.dsorg,
                    created_at=info.created_at,
                    bytes_used=info.bytes_used,
                    migrated=info.migrated,
                )
            )
            s.flush()
            for i, e in enumerate(info.extents):
                s.add(DataSetExtentRow(name=info.name, seq=i, volser=e.volser, first_track=e.first, tracks=e.tracks))
            s.commit()

    def recatalog(self, info: DataSetInfo) -> None:
        self._catalog(info)

    def write_vtocs(self, volsers: Iterable[str]) -> None:
        for v in sorted(volsers):
            self.flashcopy.write_run_blocking(v, 0, self.vtoc_image(v))

    def vtoc_image(self, v: str) -> list[bytes]:
        """The VTOC tracks of volume v as the catalog describes its data sets."""
        vol = self._volume(v)
        entries = []
        for info in self.on_volumes([v]):
            for seq, e in enumerate(info.extents):
                if e.volser == v:
                    entries.append(
                        {
                            "name": info.name,
                            "seq": seq,
                            "first": e.first,
                            "tracks": e.tracks,
                            "used": info.bytes_used,
                            "dsorg": info.dsorg,
                            "created": info.created_at,
                            "volumes": list(info.volumes),
                        }
                    )
        raw = json.dumps({"volser": v, "datasets": entries}, separators=(",", ":")).encode()
        n, ts = vtoc_tracks(vol.tracks, vol.geometry.track_size), vol.geometry.track_size
        if len(raw) > n * ts:
            raise DataSetError(f"the VTOC of {v} is full ({len(entries)} extents)")
        raw += bytes(n * ts - len(raw))
        return [raw[i * ts : (i + 1) * ts] for i in range(n)]

    def resync(self, volsers: Iterable[str]) -> tuple[list[str], list[str]]:
        """After volumes came back from a backup, the catalog follows their VTOCs (extents on
        other volumes are kept). Returns (names whose entries changed, volumes whose VTOC could
        not be read and whose catalog entries were left as they were)."""
        vols, unreadable = [], []
        found: dict[str, list[tuple[int, Extent, dict[str, Any]]]] = {}
        for v in sorted(set(volsers)):
            try:
                entries = self.read_vtoc(v)
            except DataSetError:
                unreadable.append(v)
                continue
            vols.append(v)
            for e in entries:
                found.setdefault(e["name"], []).append((e["seq"], Extent(v, e["first"], e["tracks"]), e))
        changed: list[str] = []
        with self.catalog.session() as s:
            known = {
                r.name for r in s.exec(select(DataSetExtentRow).where(col(DataSetExtentRow.volser).in_(vols))).all()
            }
            for name in sorted(known | set(found)):
                old = _info(s, name)
                parts: list[tuple[int, Extent, dict[str, Any] | None]] = [
                    (i, x, None) for i, x in enumerate(old.extents if old else ()) if x.volser not in vols
                ]
                parts += found.get(name, [])
                parts.sort(key=lambda p: p[0])
                exts = tuple(x for _, x, _ in parts)
                meta = next((m for _, _, m in parts if m), None)
                _uncatalog(s, name)
                if exts:
                    if meta is not None:
                        row = DataSetRow(
                            name=name, dsorg=meta["dsorg"], created_at=meta["created"], bytes_used=meta["used"]
                        )
                    else:
                        assert old is not None  # extents without a VTOC entry are the old record's
                        row = DataSetRow(
                            name=name, dsorg=old.dsorg, created_at=old.created_at, bytes_used=old.bytes_used
                        )
                    s.add(row)
                    s.flush()
                    for i, x in enumerate(exts):
                        s.add(DataSetExtentRow(name=name, seq=i, volser=x.volser, first_track=x.first, tracks=x.tracks))
                if old is None or old.extents != exts:
                    changed.append(name)
            s.commit()
        return changed, unreadable

    def _require(self, name: str) -> DataSetInfo:
        info = self.get(name)
        if info is None:
            raise DataSetError(f"data set {validate_dsname(name)} is not cataloged")
        return info


def _info(s: Session, name: str) -> DataSetInfo | None:
    row = s.get(DataSetRow, name)
    if row is None:
        return None
    exts = s.exec(
        select(DataSetExtentRow).where(DataSetExtentRow.name == name).order_by(col(DataSetExtentRow.seq))
    ).all()
    return DataSetInfo(
        row.name,
        row.dsorg,
        tuple(Extent(e.volser, e.first_track, e.tracks) for e in exts),
        row.bytes_used,
        row.created_at,
        row.migrated,
    )


def _uncatalog(s: Session, name: str) -> None:
    s.exec(delete(DataSetExtentRow).where(col(DataSetExtentRow.name) == name))
    row = s.get(DataSetRow, name)
    if row is not None:
        s.delete(row)
        s.flush()


class DataSets:
    """The data sets for code on the event loop (the console, scripts, tests): queries are
    blocking (run them in a thread), every change runs in a worker thread."""

    def __init__(self, store: DataSetStore) -> None:
        self.store = store
        self.get = store.get
        self.cataloged = store.cataloged
        self.on_volumes = store.on_volumes
        self.free_extents = store.free_extents

    async def allocate(
        self, name: str, tracks: int, volumes: list[str], dsorg: str = "PS", created_at: float | None = None
    ) -> DataSetInfo:
        return await asyncio.to_thread(self.store.allocate, name, tracks, volumes, dsorg, created_at)

    async def write(self, name: str, data: bytes) -> None:
        await asyncio.to_thread(self.store.write, name, data)

    async def read(self, name: str) -> bytes:
        return await asyncio.to_thread(self.store.read, name)

    async def delete(self, name: str) -> None:
        await asyncio.to_thread(self.store.delete, name)

    async def read_vtoc(self, volser: str) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.store.read_vtoc, volser)

    async def resync(self, volsers: Iterable[str]) -> tuple[list[str], list[str]]:
        return await asyncio.to_thread(self.store.resync, list(volsers))


__all__ = ["DataSetError", "DataSetInfo", "DataSetStore", "DataSets", "Extent"]
