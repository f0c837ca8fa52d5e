"""The SQLite (or any SQLAlchemy URL) catalog: tables and repository functions."""

from engine.catalog.models import SCHEMA_VERSION
from engine.catalog.store import (
    Catalog,
    CatalogCorrupt,
    CatalogError,
    CatalogJournal,
    CatalogMissing,
    CatalogVersionMismatch,
    Fence,
    sqlite_url,
)

__all__ = [
    "SCHEMA_VERSION",
    "Catalog",
    "CatalogCorrupt",
    "CatalogError",
    "CatalogJournal",
    "CatalogMissing",
    "CatalogVersionMismatch",
    "Fence",
    "sqlite_url",
]
