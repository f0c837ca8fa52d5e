"""The key the audit trail is sealed with: 32 random bytes in `keys/audit.key`, the site owner's
alone (0600 in a 0700 folder) and kept apart from the catalog, so that whoever can write the
catalog but is not the server's user cannot compute a valid entry.

Its fingerprint (the first 16 hex digits of its SHA-256) names it in the catalog's settings, the
head file, checkpoints and exports, so a replaced key is told apart from a changed entry.
A new key is written as `audit.key.new` and renamed into place only once the catalog names
it: a stop in between leaves either the old state or the new one, never a key no entry uses.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from engine.errors import FlashpoolError
from engine.paths import fsync_dir, private_dir, private_file

KEY_DIR = "keys"
KEY_NAME = "audit.key"
KEY_SIZE = 32


@dataclass(frozen=True, slots=True)
class AuditKey:
    secret: bytes

    @property
    def id(self) -> str:
        return hashlib.sha256(self.secret).hexdigest()[:16]

    def seal(self, text: bytes) -> str:
        return hmac.new(self.secret, text, hashlib.sha256).hexdigest()


def key_path(root: Path) -> Path:
    return root / KEY_DIR / KEY_NAME


def _pending_path(root: Path) -> Path:
    return root / KEY_DIR / (KEY_NAME + ".new")


class AuditKeyUnusable(FlashpoolError):
    """The key file is there but cannot be the site's key (damaged, unreadable)."""


def _read(path: Path) -> AuditKey | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditKeyUnusable(f"the audit key {path} cannot be read ({exc.strerror or exc})") from None
    if len(raw) != KEY_SIZE:
        raise AuditKeyUnusable(
            f"the audit key {path} is damaged ({len(raw)} bytes, not {KEY_SIZE}): restore it from the site's backup"
        )
    return AuditKey(raw)


def load(root: Path) -> AuditKey | None:
    """The site's key, or None when it has none (a trail from before keys, or a key lost)."""
    return _read(key_path(root))


def pending(root: Path) -> AuditKey | None:
    """A key written but not yet renamed into place (a stop while the trail was being sealed)."""
    return _read(_pending_path(root))


def new_pending(root: Path) -> AuditKey:
    """A fresh key, written and flushed as `audit.key.new` (blocking)."""
    folder = root / KEY_DIR
    with contextlib.suppress(FileExistsError):
        private_dir(folder)
    key = AuditKey(secrets.token_bytes(KEY_SIZE))
    fd = private_file(_pending_path(root), os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, key.secret)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def install_pending(root: Path) -> None:
    """`audit.key.new` becomes `audit.key` (once the catalog names it)."""
    os.replace(_pending_path(root), key_path(root))
    fsync_dir(root / KEY_DIR)


def drop_pending(root: Path) -> None:
    _pending_path(root).unlink(missing_ok=True)


__all__ = [
    "KEY_DIR",
    "AuditKey",
    "AuditKeyUnusable",
    "drop_pending",
    "install_pending",
    "key_path",
    "load",
    "new_pending",
    "pending",
]
