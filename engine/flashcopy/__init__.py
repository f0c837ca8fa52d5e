"""FlashCopy on volume images: relationships, background copy, copy-on-write, cascades."""

from engine.flashcopy.controller import CopierSettings, FlashCopyController
from engine.flashcopy.core import FlashCopyCore, FlashCopyOptions, Journal, NullJournal
from engine.flashcopy.relationship import (
    CopyMode,
    EndReason,
    EstablishRequest,
    Relationship,
    RelationshipInfo,
    RelState,
    WithdrawResult,
)

__all__ = [
    "CopierSettings",
    "CopyMode",
    "EndReason",
    "EstablishRequest",
    "FlashCopyController",
    "FlashCopyCore",
    "FlashCopyOptions",
    "Journal",
    "NullJournal",
    "RelState",
    "Relationship",
    "RelationshipInfo",
    "WithdrawResult",
]
