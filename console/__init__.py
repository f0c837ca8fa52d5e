"""The flashpool operator console (Textual)."""
