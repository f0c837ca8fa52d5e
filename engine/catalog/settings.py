"""The site's security settings, one typed value each, kept in the catalog (`site_setting`).

They are read where they are used (the server's socket, token creation, the audit trail) and
changed only by the security administrator (`flashpool security set NAME VALUE`), so a setting
is never inferred from something else, such as a folder's mode bits.
"""

from __future__ import annotations

import enum
import grp
from dataclasses import dataclass, fields, replace

from sqlalchemy import Connection, delete, insert, select
from sqlmodel import col

from engine.catalog.models import SiteSettingRow


class AuditReads(enum.Enum):
    """Which allowed reads of the site's views the audit trail records (RACF's AUDIT(SUCCESS)
    for READ): refusals, actions and every look at the security setup or the trail are always
    recorded."""

    FAILURES = "failures"  # allowed views are not entries (a console refreshes every second)
    ALL = "all"  # every allowed view too, each one an entry


@dataclass(frozen=True, slots=True)
class Settings:
    #: the group whose members may connect to the server's socket (None: the owner only)
    share_group: str | None = None
    #: an API token's lifetime when its creator names none, and the longest one allowed
    token_days: int = 90
    token_max_days: int = 365
    audit_reads: AuditReads = AuditReads.FAILURES
    #: the key the audit trail is sealed with (its fingerprint); None until the trail is sealed
    audit_key_id: str | None = None

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, value, what it means) for every setting an administrator may change."""
        return [
            ("share-group", self.share_group or "NONE", "who besides the server's user may connect to its socket"),
            ("token-days", str(self.token_days), "an API token's lifetime when none is named"),
            ("token-max-days", str(self.token_max_days), "the longest lifetime a token may have"),
            ("audit-reads", self.audit_reads.value, "failures: refused views only; all: every view read"),
        ]


#: the names `flashpool security set` takes, and the field each sets
NAMES = {"share-group": "share_group", "token-days": "token_days", "token-max-days": "token_max_days"} | {
    "audit-reads": "audit_reads"
}
_FIELDS = {f.name for f in fields(Settings)}


def read(c: Connection) -> Settings:
    """Every setting at once (blocking); a value this flashpool cannot read is its default."""
    values: dict[str, object] = {}
    for key, text in c.execute(select(SiteSettingRow.key, SiteSettingRow.value)).all():  # type: ignore[call-overload]
        if key in _FIELDS:
            try:
                values[key] = _typed(key, text)
            except ValueError:
                continue
    return replace(Settings(), **values)  # type: ignore[arg-type]


def write(c: Connection, settings: Settings) -> None:
    """Every setting that differs from its default, in the caller's transaction (the rows of
    other settings, SETSYS's, are left alone)."""
    c.execute(delete(SiteSettingRow).where(col(SiteSettingRow.key).in_(list(_FIELDS))))
    rows = []
    default = Settings()
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if value != getattr(default, f.name) and value is not None:
            rows.append({"key": f.name, "value": value.value if isinstance(value, enum.Enum) else str(value)})
    if rows:
        c.execute(insert(SiteSettingRow), rows)


def _typed(key: str, text: str) -> object:
    if key in ("token_days", "token_max_days"):
        return int(text)
    if key == "audit_reads":
        return AuditReads(text)
    return text


def parse(settings: Settings, name: str, text: str) -> Settings:
    """`settings` with one changed as an administrator wrote it; ValueError says what is wrong."""
    key = NAMES.get(name.strip().lower())
    if key is None:
        raise ValueError(f"there is no setting {name!r}; the settings are {', '.join(sorted(NAMES))}")
    text = text.strip()
    if key == "share_group":
        if text.upper() == "NONE":
            return replace(settings, share_group=None)
        try:
            grp.getgrnam(text)
        except KeyError:
            raise ValueError(f"share-group: there is no group {text!r} on this system") from None
        return replace(settings, share_group=text)
    if key == "audit_reads":
        try:
            return replace(settings, audit_reads=AuditReads(text.lower()))
        except ValueError:
            raise ValueError("audit-reads is failures or all") from None
    if not text.isdigit() or not 1 <= int(text) <= 3650:
        raise ValueError(f"{name} is a number of days from 1 to 3650, not {text!r}")
    days = int(text)
    changed = replace(settings, token_days=days) if key == "token_days" else replace(settings, token_max_days=days)
    if changed.token_days > changed.token_max_days:
        raise ValueError(
            f"token-days ({changed.token_days}) cannot be more than token-max-days ({changed.token_max_days})"
        )
    return changed


__all__ = ["NAMES", "AuditReads", "Settings", "parse", "read", "write"]
