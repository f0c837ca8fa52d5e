"""Catalog tables: every construct, version, relationship and bitmap flashpool keeps.

Designed up front for the fast replication, data set and dump issues, so that they fill these
tables rather than rewrite them. Enumerated values are stored as their DFSMShsm words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Index, Integer, Sequence
from sqlmodel import Field, SQLModel

from engine.states import DasdState, DumpCopyState, DumpState, FailedReason, Origin, PairState, TapeState

SCHEMA_VERSION = 2  # 2: intents, ended relationships, tapes, dump copy file offsets

#: a byte count or offset: 64-bit (SQLite's INTEGER always is; PostgreSQL's would stop at 2 GiB)
BYTES = BigInteger().with_variant(Integer(), "sqlite")
#: where the database has sequences (PostgreSQL), tape numbers come from one (engine.catalog.counters)
TAPE_NUMBERS = Sequence("tape_number", metadata=SQLModel.metadata)
#: ... and so do relationship ids: hosts of an HSMplex each establish relationships (engine.flashcopy)
RELATIONSHIP_IDS = Sequence("relationship_id", metadata=SQLModel.metadata)


class Keyed:
    """A row whose key the database assigns: `id` is None until the row is flushed, `key` is
    the id of a row that has one (every row read from the catalog)."""

    if TYPE_CHECKING:
        id: int | None

    @property
    def key(self) -> int:
        if self.id is None:
            raise LookupError(f"{type(self).__name__} has no key before it is flushed")
        return self.id


class SchemaInfo(SQLModel, table=True):
    __tablename__ = "schema_info"
    key: str = Field(primary_key=True)
    value: str


class StorageGroupRow(SQLModel, table=True):
    __tablename__ = "storage_group"
    name: str = Field(primary_key=True, max_length=8)
    type: str  # POOL | COPYPOOLBACKUP
    backup_group: str | None = None  # POOL: its copy pool backup storage group
    description: str = ""


class VolumeRow(SQLModel, table=True):
    __tablename__ = "volume"
    volser: str = Field(primary_key=True, max_length=6)
    model: str
    cylinders: int
    tracks_per_cylinder: int
    track_size: int
    image: str  # path relative to the site directory
    storage_group: str | None = Field(default=None, foreign_key="storage_group.name", index=True)
    online: bool = True
    controller: str = "FP01"  # storage facility; FlashCopy never crosses one


class CopyPoolRow(SQLModel, table=True):
    __tablename__ = "copy_pool"
    name: str = Field(primary_key=True, max_length=23)
    versions: int = 2  # DASD versions 0-85
    fast_reverse_restore: bool = False
    catalog_capture: str = "N"  # N | P | R
    auto_dump: bool = False
    allow_pprc_frb: str = "NO"
    allow_pprc_frr: str = "NO"
    backup_group_override: str | None = None  # FRBACKUP BACKUPSTORAGEGROUP(...)
    next_version: int = 1  # 1-999, wraps
    description: str = ""


class CopyPoolGroupRow(SQLModel, table=True):
    __tablename__ = "copy_pool_group"
    copy_pool: str = Field(primary_key=True, foreign_key="copy_pool.name")
    storage_group: str = Field(primary_key=True, foreign_key="storage_group.name")
    position: int = 0


class DumpClassRow(SQLModel, table=True):
    __tablename__ = "dump_class"
    name: str = Field(primary_key=True, max_length=8)
    retention_days: int | None = None  # None = NOLIMIT
    fast_replication_dump: str = "OPTIONAL"  # REQUIRED | OPTIONAL
    available_for_mount: bool = True
    stack: int = 1  # source volumes stacked per tape
    frequency: int = Field(default=7, sa_column_kwargs={"server_default": "7"})  # days between automatic dumps
    day: int | None = None  # automatic dump to this class only on this day of the dump cycle


class CopyPoolDumpClassRow(SQLModel, table=True):
    __tablename__ = "copy_pool_dump_class"
    copy_pool: str = Field(primary_key=True, foreign_key="copy_pool.name")
    dump_class: str = Field(primary_key=True, foreign_key="dump_class.name")
    dump_versions: int = 1


class BackupVersionRow(Keyed, SQLModel, table=True):
    __tablename__ = "backup_version"
    id: int | None = Field(default=None, primary_key=True)
    copy_pool: str = Field(foreign_key="copy_pool.name", index=True)
    version: int  # 1-999; 0 for a PREPARE entry
    token: bytes = b""
    created_at: float = 0.0  # the FlashCopy point in time (0 for PREPARE)
    dasd_state: str = DasdState.RECOVERABLE  # RECOVERABLE | FAILED | FCFRRINCOMPLETE | NONE | PREPARE
    dump_state: str = DumpState.NONE  # ALLCOMPLETE | REQUIREDCOMPLETE | PARTIAL | NONE
    incremental: bool = False
    catinfo: str = "N"
    fcfrr: bool = False
    vtocenq: bool = True
    recovery_incomplete: bool = False
    backup_group: str | None = None
    failed_reason: str = FailedReason.NONE  # why its DASD copy stopped being recoverable
    failed_at: float = 0.0
    failed_by: int = 0  # the version whose FRBACKUP replaced or refreshed it


class VersionPairRow(SQLModel, table=True):
    __tablename__ = "version_pair"
    #: the pairs that still name a relationship, with their version, without reading the others
    __table_args__ = (Index("ix_version_pair_relationship", "relationship_id", "version_id"),)
    version_id: int = Field(primary_key=True, foreign_key="backup_version.id")
    source: str = Field(primary_key=True)
    target: str = Field(index=True)
    storage_group: str = ""
    relationship_id: int | None = None
    state: str = PairState.OK  # OK | FAILED | RECOVERED


class RelationshipRow(SQLModel, table=True):
    __tablename__ = "relationship"
    id: int = Field(primary_key=True)
    source: str = Field(index=True)
    source_start: int
    target: str = Field(index=True)
    target_start: int
    length: int
    mode: str
    persistent: bool
    incremental: bool
    target_write_inhibit: bool
    reversed: bool
    fast_reversed: bool
    full_volume: bool
    established_at: float
    tracks_copied: int
    cursor: int
    label: str
    feed: str | None = None  # NULL: the source (see Relationship.feed)
    uncopied: bytes
    through: bytes
    changed_src: bytes
    changed_tgt: bytes


class DataSetRow(SQLModel, table=True):
    __tablename__ = "data_set"
    name: str = Field(primary_key=True, max_length=44)
    dsorg: str = "PS"
    created_at: float = 0.0
    migrated: bool = False
    bytes_used: int = Field(default=0, sa_type=BYTES)


class DataSetExtentRow(SQLModel, table=True):
    __tablename__ = "data_set_extent"
    name: str = Field(primary_key=True, foreign_key="data_set.name")
    seq: int = Field(primary_key=True)
    volser: str = Field(index=True)
    first_track: int
    tracks: int


class CapturedExtentRow(SQLModel, table=True):
    """Catalog capture: where a data set lived when a version was taken."""

    __tablename__ = "captured_extent"
    version_id: int = Field(primary_key=True, foreign_key="backup_version.id")
    name: str = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    volser: str
    first_track: int
    tracks: int
    bytes_used: int = Field(default=0, sa_type=BYTES)
    dsorg: str = "PS"


class DumpCopyRow(Keyed, SQLModel, table=True):
    __tablename__ = "dump_copy"
    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="backup_version.id", index=True)
    dump_class: str
    source: str
    tape: str  # tape volser
    file: str  # the tape's path relative to the site directory
    file_index: int = 0  # position of this volume's file on the (stacked) tape
    # byte offset of that file on the tape: each file is verified alone
    file_offset: int = Field(default=0, sa_type=BYTES)
    bytes_stored: int = Field(default=0, sa_type=BYTES)
    tracks: int = -1  # track records on the tape (-1: dumped before flashpool counted them)
    state: str = DumpCopyState.COMPLETE  # COMPLETE | FAILED (its tape file failed verification)
    created_at: float = 0.0
    expires_at: float | None = None


class TapeRow(SQLModel, table=True):
    """A tape in the library. Cleanup removes only tapes that are FULL and hold no dump copy;
    a WRITING tape is never touched (an FREND dump may be writing it right now)."""

    __tablename__ = "tape"
    volser: str = Field(primary_key=True, max_length=6)
    file: str  # path relative to the site directory
    state: str = TapeState.WRITING  # WRITING | FULL


class IntentRow(Keyed, SQLModel, table=True):
    """An HSM command between its first and its last durable write. `Site.open` finishes or
    undoes every intent it finds before anything else runs (see docs/ATOMICITY.md)."""

    __tablename__ = "intent"
    __table_args__ = {"sqlite_autoincrement": True}  # never reused: ids tag relationship labels
    id: int | None = Field(default=None, primary_key=True)
    kind: str
    copy_pool: str
    created_at: float = 0.0
    payload: str = "{}"  # JSON: what the command set out to do


class EndedRelationshipRow(SQLModel, table=True):
    """A relationship that ended, written in the same transaction that removed it, so that an
    intent can tell a reversed-and-finished relationship from one that never moved."""

    __tablename__ = "ended_relationship"
    id: int = Field(primary_key=True)
    source: str
    target: str
    label: str
    reason: str


class ActivityRow(Keyed, SQLModel, table=True):
    __tablename__ = "activity"
    id: int | None = Field(default=None, primary_key=True)
    at: float = Field(index=True)
    origin: str = Origin.CLI  # an Origin
    command: str
    copy_pool: str | None = Field(default=None, index=True)
    return_code: int = 0
    messages: str = "[]"  # JSON list of {"id", "severity", "text"}
    user: str | None = None  # who ran it (None: logged before users existed)


class AlertRow(Keyed, SQLModel, table=True):
    """An alert the site raised: one list for every console, acknowledged once for all."""

    __tablename__ = "alert"
    id: int | None = Field(default=None, primary_key=True)
    at: float = Field(index=True)
    message_id: str  # FPL400I...
    copy_pool: str | None = None
    text: str
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None


class ProfileRow(SQLModel, table=True):
    """A FACILITY-style profile (RACF's): a resource name, discrete or generic (`*`, `**`),
    that protects the functions whose resource names it matches. Access not granted is NONE."""

    __tablename__ = "profile"
    name: str = Field(primary_key=True, max_length=246)
    uacc: str = "NONE"  # NONE | READ | UPDATE | CONTROL | ALTER: what everybody else has
    owner: str = ""
    created_at: float = 0.0


class PermitRow(SQLModel, table=True):
    """One entry of a profile's access list: a user or a group, and its access."""

    __tablename__ = "permit"
    profile: str = Field(primary_key=True, foreign_key="profile.name")
    kind: str = Field(primary_key=True)  # USER | GROUP
    name: str = Field(primary_key=True)  # user or group name; "*" = every authenticated user
    access: str = "READ"


class RoleGrantRow(SQLModel, table=True):
    """A role bundle given to a user or a group: it adds its entries to the access lists of
    the function profiles it names (engine.security.functions.Role)."""

    __tablename__ = "role_grant"
    role: str = Field(primary_key=True)  # MONITOR | OPERATOR | ADMINISTRATOR | SECURITY
    kind: str = Field(primary_key=True)  # USER | GROUP
    name: str = Field(primary_key=True)
    granted_by: str = ""
    at: float = 0.0


class TokenRow(Keyed, SQLModel, table=True):
    """An API token for TCP clients: only the SHA-256 of its secret is kept."""

    __tablename__ = "api_token"
    __table_args__ = {"sqlite_autoincrement": True}  # a revoked token's id is never given again
    id: int | None = Field(default=None, primary_key=True)
    user: str = Field(index=True)
    label: str = ""
    digest: str = Field(index=True, unique=True)
    created_at: float = 0.0
    created_by: str = ""
    revoked_at: float | None = None
    expires_at: float | None = None  # None: made before tokens expired (revision 0006); never expires


class SiteSettingRow(SQLModel, table=True):
    """One setting of the site's security (engine.catalog.settings names them and their types)."""

    __tablename__ = "site_setting"
    key: str = Field(primary_key=True)
    value: str


class AuditRow(SQLModel, table=True):
    """The audit trail: append-only and hash-chained. Each entry's digest covers its fields and
    the digest of the entry before it, so a changed, removed or reordered entry breaks the chain
    (`flashpool audit verify`)."""

    __tablename__ = "audit"
    seq: int = Field(primary_key=True)
    at: float
    user: str
    groups: str = "[]"  # JSON list
    origin: str = ""  # CONSOLE | CLI | API | WALKTHROUGH | AUTO | OPEN | SERVER
    client: str = ""  # how it reached the site: in-process pid, unix socket peer pid, TCP address
    action: str = ""  # the command text, or the API function
    decision: str = "ALLOWED"  # ALLOWED | DENIED
    profile: str = ""  # the profile that decided ("" where none protects it)
    access: str = ""  # the access the function needs
    return_code: int = 0
    message_ids: str = "[]"  # JSON list
    prev: str = ""
    digest: str = ""


class PlexHostRow(SQLModel, table=True):
    """A host of the HSMplex (engine.plex): its lease, renewed while it runs, and its epoch, a new
    one each time it joins, which fences off whatever an earlier instance under its name still
    tries to do."""

    __tablename__ = "plex_host"
    system: str = Field(primary_key=True)
    epoch: int = 0
    pid: int = 0
    address: str = ""  # where the other hosts reach its server (its socket, or https://host:port)
    joined_at: float = 0.0
    renewed_at: float = 0.0
    lease_until: float = 0.0
    left_at: float | None = None  # it left in good order (stopped): nobody needs to take over


class PlexPrimaryRow(SQLModel, table=True):
    """Which host is the primary (automatic dumps, expiry, scheduled work): one row, taken over
    when the holder's lease on it has run out; `term` counts the changes of holder."""

    __tablename__ = "plex_primary"
    id: int = Field(default=1, primary_key=True)
    system: str | None = None
    term: int = 0
    lease_until: float = 0.0


class PlexEnqueueRow(SQLModel, table=True):
    """A copy pool's serialisation across the hosts of the plex (DFSMShsm's global ENQ): which
    host holds it, under which epoch of its lease, for whom and for what command. A holder whose
    lease ran out, or that joined again since, holds nothing (engine.plexenq)."""

    __tablename__ = "plex_enqueue"
    pool: str = Field(primary_key=True)
    system: str
    epoch: int
    user: str
    command: str
    since: float


class PlexOwnerRow(SQLModel, table=True):
    """Which host of the plex owns a domain of volumes (engine.plex.domains) and drives their
    relationships, copies and copy-on-writes: owned while that host's lease, under this epoch,
    runs. `token` rises at each change of owner: the fencing token a write of the domain's state
    carries, which a host that lost it cannot pass (engine.plex.ownership)."""

    __tablename__ = "plex_owner"
    domain: str = Field(primary_key=True)
    system: str
    epoch: int
    token: int
    since: float


class PasswordRow(SQLModel, table=True):
    """A user's password for the web console's login (engine.security.passwords): only its
    scrypt hash, with its salt and parameters, is kept."""

    __tablename__ = "user_password"
    user: str = Field(primary_key=True)
    hash: str
    set_at: float = 0.0
    set_by: str = ""
    expired: bool = False  # set by an administrator: the user must choose a new one at its next login


class WebSessionRow(Keyed, SQLModel, table=True):
    """A web console's login (engine.security.sessions): only the SHA-256 of its secret is kept;
    it lives `idle` seconds past its last use, until it is ended (logout)."""

    __tablename__ = "web_session"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int | None = Field(default=None, primary_key=True)
    user: str = Field(index=True)
    digest: str = Field(index=True, unique=True)
    client: str = ""  # the browser's address
    created_at: float = 0.0
    idle: float = 900.0
    expires_at: float = 0.0
    ended_at: float | None = None
