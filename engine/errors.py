"""Every refusal the engine makes is a specific exception with a message an operator can act on."""

from __future__ import annotations


class FlashpoolError(Exception):
    """Base of every error the engine raises on purpose (never a bare traceback to the user)."""


# -- geometry and volumes ------------------------------------------------------------------


class InvalidVolser(FlashpoolError, ValueError):
    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"invalid volser {value!r}: {reason}")
        self.value, self.reason = value, reason


class InvalidGeometry(FlashpoolError, ValueError):
    pass


class VolumeError(FlashpoolError):
    """A volume image cannot be used (missing, short, unreadable, disk full)."""


class VolumeImageMissing(VolumeError):
    pass


class VolumeImageShort(VolumeError):
    pass


class VolumeSpaceExhausted(VolumeError):
    """The file system holding the volume images is full: the write did not happen."""


class UnknownVolume(FlashpoolError, KeyError):
    def __init__(self, volser: str) -> None:
        super().__init__(volser)
        self.volser = volser

    def __str__(self) -> str:
        return f"volume {self.volser} is not known to this site"


class TrackDataError(FlashpoolError, ValueError):
    pass


# -- FlashCopy ------------------------------------------------------------------------------


class SiteClosed(FlashpoolError):
    """Work arrived after the site's files were released (e.g. a copy chunk queued before close)."""


class FlashCopyError(FlashpoolError):
    """FlashCopy refused the request; nothing was changed."""


class ExtentMismatch(FlashCopyError):
    pass


class ExtentOverlap(FlashCopyError):
    pass


class TargetInRelationship(FlashCopyError):
    """A target track is already the target of another relationship (one source per track)."""


class TooManyRelationships(FlashCopyError):
    pass


class CascadeNotAllowed(FlashCopyError):
    pass


class RelationshipLoop(FlashCopyError):
    pass


class UnknownRelationship(FlashCopyError, KeyError):
    def __init__(self, rel_id: int) -> None:
        super().__init__(rel_id)
        self.rel_id = rel_id

    def __str__(self) -> str:
        return f"FlashCopy relationship {self.rel_id} does not exist"


class NotIncremental(FlashCopyError):
    pass


class CopyInProgress(FlashCopyError):
    pass


class VolumeInUse(FlashCopyError):
    """A volume the configuration would take away is in a relationship."""


class TargetChanged(FlashCopyError):
    pass


class TargetWriteInhibited(FlashCopyError):
    pass


class IncrementalLimit(FlashCopyError):
    pass
