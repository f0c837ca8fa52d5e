"""The tape library: a "tape" is one file in the site's `tapes/` directory.

Format (all integers big-endian):

    tape      := TAPE_MAGIC  file*
    file      := FILE_MAGIC  u32 header_len  header_json  u32 crc32(header_json)
                 track*  END_MAGIC  u32 track_count  u32 crc32(of every track crc)
    track     := TRACK_MAGIC  u32 track_no  u32 stored_len  u8 codec  u32 crc32(raw track)
                 stored bytes (zlib level 1 when codec=1, raw when codec=0)

The header names copy pool, version, token, source and target volsers, the point in time, the
dump time and the geometry. Tracks that read as all zeros (never written) are not recorded.
Several volumes (files) are stacked on one tape when the dump class says so. Each file is
verifiable on its own: the catalog keeps its byte offset, and reading checks every record's
checksum and the file's end record *before* a single track is returned, so a flipped byte, a
truncated file or the wrong volume is found before anything on DASD changes - and a file cut
short by a crash while it was written spoils only itself, never the files before it.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from engine.errors import FlashpoolError
from engine.paths import fsync_dir, private_file

TAPE_MAGIC = b"FPTAPE01"
FILE_MAGIC = b"FPFILE01"
TRACK_MAGIC = b"TR"
END_MAGIC = b"EF"
_TRACK_HEAD = struct.Struct(">2sIIBI")
_U32 = struct.Struct(">I")
CODEC_RAW, CODEC_ZLIB = 0, 1


class TapeError(FlashpoolError):
    """A tape cannot be used: missing, damaged, truncated or not what was asked for."""


@dataclass(frozen=True, slots=True)
class FileHeader:
    copy_pool: str
    version: int
    token: str  # hex
    source: str
    target: str
    point_in_time: float
    dumped_at: float
    dump_class: str
    model: str
    cylinders: int
    tracks_per_cylinder: int
    track_size: int

    @property
    def tracks(self) -> int:
        return self.cylinders * self.tracks_per_cylinder


@dataclass(frozen=True, slots=True)
class FileInfo:
    header: FileHeader
    index: int  # position on the tape (0 = first file)
    offset: int
    written_tracks: int


class TapeWriter:
    """Appends files to a tape; each `write_file` returns the file's index on the tape."""

    def __init__(self, path: Path) -> None:
        self.path = path
        new = not path.exists()
        self._f = open(private_file(path, os.O_WRONLY | os.O_APPEND), "ab")  # noqa: SIM115 - kept open for the life of the writer
        if new:
            self._f.write(TAPE_MAGIC)
            fsync_dir(path.parent)  # the tape's name survives a power cut with its first file
        self._count = len(list_files(path)) if not new else 0
        self.offset = 0  # where the last file written starts

    def write_file(
        self, header: FileHeader, tracks: Iterator[tuple[int, bytes]], level: int = 1
    ) -> tuple[int, int, int]:
        """Write one volume's tracks; returns (file index, tracks recorded, bytes stored).
        The file starts at `self.offset` as it was before the call."""
        f = self._f
        f.flush()
        self.offset = os.fstat(f.fileno()).st_size
        head = json.dumps(asdict(header), sort_keys=True).encode()
        f.write(FILE_MAGIC + _U32.pack(len(head)) + head + _U32.pack(zlib.crc32(head)))
        count, stored, crcs = 0, 0, 0
        zero = bytes(header.track_size)  # unwritten tracks are skipped: a memcmp, not a byte count
        for k, raw in tracks:
            if raw != zero:
                data = zlib.compress(raw, level)
                codec = CODEC_ZLIB
                if len(data) >= len(raw):
                    data, codec = raw, CODEC_RAW
                crc = zlib.crc32(raw)
                f.write(_TRACK_HEAD.pack(TRACK_MAGIC, k, len(data), codec, crc))
                f.write(data)
                crcs = zlib.crc32(_U32.pack(crc), crcs)
                count += 1
                stored += len(data)
        f.write(END_MAGIC + _U32.pack(count) + _U32.pack(crcs))
        f.flush()
        os.fsync(f.fileno())
        index = self._count
        self._count += 1
        return index, count, stored

    def close(self) -> None:
        self._f.close()


def list_files(path: Path) -> list[FileInfo]:
    """Every file on a tape, each fully verified (raises TapeError on any damage)."""
    return [info for info, _ in _scan(path, want=None, keep=False)]


def read_file(path: Path, index: int, offset: int = -1) -> tuple[FileHeader, dict[int, bytes]]:
    """Return one file's tracks (track number -> data) after verifying that whole file. With
    its `offset` only that file is read; without it (catalogs from before offsets were kept)
    the files before it are verified on the way."""
    found: tuple[FileHeader, dict[int, bytes]] | None = None
    for info, tracks in _scan(path, want=index, keep=True, offset=offset):
        assert tracks is not None
        found = (info.header, tracks)
    if found is None:
        raise TapeError(f"tape {path.stem} has no file {index + 1}")
    return found


def _scan(
    path: Path, want: int | None, keep: bool, offset: int = -1
) -> Iterator[tuple[FileInfo, dict[int, bytes] | None]]:
    name = path.stem
    try:
        with open(path, "rb") as f:
            label = f.read(len(TAPE_MAGIC))
            if offset >= 0:
                f.seek(offset)
            blob = f.read()
    except FileNotFoundError:
        raise TapeError(f"tape {name} is not in the tape library ({path})") from None
    if label != TAPE_MAGIC:
        raise TapeError(f"tape {name} has no flashpool tape label; it is not a dump tape")
    if offset >= 0:  # positions below are relative to `base`, messages give tape offsets
        base, pos, index = offset, 0, want if want is not None else 0
    else:
        base, pos, index = 0, len(TAPE_MAGIC), 0
        blob = label + blob
    if pos >= len(blob):
        raise TapeError(f"tape {name} has no file {index + 1} (it ends at byte {base + len(blob):,})")

    def need(n: int, what: str) -> None:
        if pos + n > len(blob):
            raise TapeError(f"tape {name} is truncated in {what} of file {index + 1} (byte {base + pos:,})")

    while pos < len(blob):
        start = pos
        need(12, "the header")
        if blob[pos : pos + 8] != FILE_MAGIC:
            raise TapeError(f"tape {name}: file {index + 1} has a damaged label at byte {base + pos:,}")
        (hlen,) = _U32.unpack_from(blob, pos + 8)
        pos += 12
        need(hlen + 4, "the header")
        head = blob[pos : pos + hlen]
        (hcrc,) = _U32.unpack_from(blob, pos + hlen)
        if zlib.crc32(head) != hcrc:
            raise TapeError(f"tape {name}: the header of file {index + 1} fails its checksum")
        try:
            header = _header(json.loads(head))
        except (ValueError, TypeError) as exc:
            raise TapeError(f"tape {name}: the header of file {index + 1} is unreadable ({exc})") from None
        pos += hlen + 4
        take = keep and (want is None or want == index)
        tracks: dict[int, bytes] = {}
        count, crcs = 0, 0
        while True:
            need(2, "a record")
            tag = blob[pos : pos + 2]
            if tag == END_MAGIC:
                need(10, "the end record")
                n, total = _U32.unpack_from(blob, pos + 2)[0], _U32.unpack_from(blob, pos + 6)[0]
                if n != count or total != crcs:
                    raise TapeError(
                        f"tape {name}: file {index + 1} has {count} of the {n} track records its end record lists"
                        if n != count
                        else f"tape {name}: file {index + 1}'s end record does not match its track records"
                    )
                pos += 10
                break
            if tag != TRACK_MAGIC:
                raise TapeError(f"tape {name}: file {index + 1} has a damaged record at byte {base + pos:,}")
            need(_TRACK_HEAD.size, "a track record")
            _, k, stored, codec, crc = _TRACK_HEAD.unpack_from(blob, pos)
            pos += _TRACK_HEAD.size
            need(stored, f"track {k}")
            data = blob[pos : pos + stored]
            pos += stored
            try:
                raw = zlib.decompress(data) if codec == CODEC_ZLIB else data
            except zlib.error:
                raise TapeError(
                    f"tape {name}: track {k} of file {index + 1} is damaged (cannot be decompressed)"
                ) from None
            if zlib.crc32(raw) != crc or len(raw) != header.track_size or k >= header.tracks:
                raise TapeError(f"tape {name}: track {k} of file {index + 1} fails its checksum")
            crcs = zlib.crc32(_U32.pack(crc), crcs)
            count += 1
            if take:
                tracks[k] = raw
        info = FileInfo(header, index, base + start, count)
        if want is None or want == index:
            yield info, (tracks if take else None)
            if want is not None:
                return
        index += 1


_FIELD_TYPES = {"int": (int,), "float": (int, float), "str": (str,)}


def _header(raw: object) -> FileHeader:
    """A header as written: every field of its type, the geometry positive. A header with a valid
    CRC can still be crafted; the tape is then damaged, never a traceback further on."""
    if not isinstance(raw, dict):
        raise ValueError("it is not a table of fields")
    header = FileHeader(**raw)
    for f in fields(FileHeader):
        value = getattr(header, f.name)
        if isinstance(value, bool) or not isinstance(value, _FIELD_TYPES[str(f.type)]):
            raise ValueError(f"{f.name} is {value!r}")
    if min(header.cylinders, header.tracks_per_cylinder, header.track_size) < 1:
        raise ValueError("its geometry is not positive")
    return header


def dump_volume(
    writer: TapeWriter, header: FileHeader, read_run: Callable[[int, int], list[bytes]], chunk: int = 256
) -> tuple[int, int, int]:
    """Dump a volume's logical content (read in runs) onto the tape."""

    def tracks() -> Iterator[tuple[int, bytes]]:
        for first in range(0, header.tracks, chunk):
            for i, data in enumerate(read_run(first, min(chunk, header.tracks - first))):
                yield first + i, data

    return writer.write_file(header, tracks())
