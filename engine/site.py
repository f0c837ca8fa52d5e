"""Site: the engine's public entry point - a directory holding the catalog, the volume images
and the tape library. Opening a site resumes every background copy from the persisted maps."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.catalog import Catalog, CatalogError, sqlite_url
from engine.catalog.models import VolumeRow
from engine.errors import FlashpoolError, VolumeError
from engine.events import EventBus
from engine.flashcopy import (
    CopierSettings,
    FlashCopyController,
    FlashCopyCore,
    FlashCopyOptions,
    Relationship,
)
from engine.geometry import Geometry, custom_geometry, geometry_for, validate_volser
from engine.storage import Volume

CATALOG_FILE = "catalog.db"
CATALOG_URL_FILE = "catalog.url"  # present when the catalog lives in another database
VOLUME_DIR = "volumes"
TAPE_DIR = "tapes"


class SiteError(FlashpoolError):
    pass


@dataclass(frozen=True, slots=True)
class VolumeSpec:
    """A volume to create: a 3390 model, or `tracks` (+ `track_size`) for a tiny test device."""

    volser: str
    model: str = "3390-1"
    cylinders: int | None = None
    tracks: int | None = None
    track_size: int | None = None
    storage_group: str | None = None

    def geometry(self) -> Geometry:
        if self.tracks is not None:
            return custom_geometry(self.tracks, self.track_size or 56_664)
        return geometry_for(self.model, self.cylinders)


@dataclass(frozen=True, slots=True)
class SiteDefinition:
    volumes: list[VolumeSpec] = field(default_factory=list)


class Site:
    def __init__(
        self,
        path: Path,
        catalog: Catalog,
        volumes: dict[str, Volume],
        unavailable: dict[str, str],
        suspended: dict[int, str],
        flashcopy: FlashCopyController,
    ) -> None:
        self.path = path
        self.catalog = catalog
        self.volumes = volumes
        self.unavailable = unavailable  # volser -> why its image cannot be used
        self.suspended = suspended  # relationship id -> why it was not resumed
        self.flashcopy = flashcopy
        self.events: EventBus = flashcopy.events

    # -- create / open ------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        definition: SiteDefinition | None = None,
        *,
        catalog_url: str | None = None,
        **options: object,
    ) -> Site:
        """Create the directory, the catalog (SQLite inside it unless `catalog_url` names another
        database) and the volume images; then open it."""
        root = Path(path)
        if (root / CATALOG_FILE).exists() or (root / CATALOG_URL_FILE).exists():
            raise SiteError(f"{root} already holds a flashpool site")
        # validate the whole definition before anything is written
        specs: list[tuple[str, Geometry, VolumeSpec]] = []
        seen: set[str] = set()
        for spec in (definition or SiteDefinition()).volumes:
            volser = validate_volser(spec.volser)
            if volser in seen:
                raise SiteError(f"volume {volser} is defined twice")
            seen.add(volser)
            specs.append((volser, spec.geometry(), spec))
        (root / VOLUME_DIR).mkdir(parents=True, exist_ok=True)
        (root / TAPE_DIR).mkdir(exist_ok=True)
        url = catalog_url or sqlite_url(root / CATALOG_FILE)
        if catalog_url:
            (root / CATALOG_URL_FILE).write_text(catalog_url + "\n")
        catalog = Catalog.create(url)
        rows = []
        for volser, g, spec in specs:
            image = f"{VOLUME_DIR}/{volser}.img"
            Volume.create(root / image, volser, g).close()
            rows.append(VolumeRow(
                volser=volser, model=g.model, cylinders=g.cylinders,
                tracks_per_cylinder=g.tracks_per_cylinder, track_size=g.track_size,
                image=image, storage_group=spec.storage_group,
            ))
        catalog.add_volumes(rows)
        catalog.close()
        return cls.open(root, **options)  # type: ignore[arg-type]

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        options: FlashCopyOptions | None = None,
        copier: CopierSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> Site:
        root = Path(path)
        pointer = root / CATALOG_URL_FILE
        url = pointer.read_text().strip() if pointer.exists() else sqlite_url(root / CATALOG_FILE)
        catalog = Catalog.open(url)
        volumes: dict[str, Volume] = {}
        unavailable: dict[str, str] = {}
        for row in catalog.volumes():
            g = Geometry(row.model, row.cylinders, row.tracks_per_cylinder, row.track_size)
            try:
                volumes[row.volser] = Volume.open(root / row.image, row.volser, g)
            except VolumeError as exc:
                unavailable[row.volser] = str(exc)
        rels, next_id = catalog.load_relationships()
        usable: list[Relationship] = []
        suspended: dict[int, str] = {}
        for rel in rels:
            missing = [v for v in (rel.source, rel.target) if v not in volumes]
            if missing:
                why = ", ".join(
                    unavailable.get(v, f"volume {v} is not defined in the catalog") for v in missing
                )
                suspended[rel.id] = f"relationship {rel.id} ({rel.source} -> {rel.target}) suspended: {why}"
            else:
                usable.append(rel)
        core = FlashCopyCore(
            volumes, options, journal=catalog.journal(), clock=clock,
            relationships=usable, next_id=next_id,
        )
        ctl = FlashCopyController(volumes, core=core, copier=copier, clock=clock)
        return cls(root, catalog, volumes, unavailable, suspended, ctl)

    # -- running ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Resume every background copy (needs a running event loop)."""
        self.flashcopy.start()

    async def close(self) -> None:
        await self.flashcopy.stop()
        for v in self.volumes.values():
            v.close()
        self.catalog.close()

    def volume(self, volser: str) -> Volume:
        return self.flashcopy.core.volume(volser)


__all__ = ["CatalogError", "Site", "SiteDefinition", "SiteError", "VolumeSpec"]
