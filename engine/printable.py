"""Text as it may be shown and logged, whatever bytes it came from (a leaf: the CLI's thin path
and the audit trail use it without the command language)."""

from __future__ import annotations


def printable(text: str) -> str:
    """Text as it may be shown and logged: bytes that were not UTF-8 (decoded by Python as lone
    surrogates, e.g. from argv) become \\xNN escapes; any other lone surrogate (from JSON's
    \\udNNN escapes) becomes \\udNNN."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
