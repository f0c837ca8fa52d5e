"""The operator's console settings: theme and key bindings, in the user's config directory.

    ~/.config/flashpool/config.json   {"theme": "3270"}
    ~/.config/flashpool/keymap.toml   binding-id = "key"     e.g.  "table.sort" = "o"

FLASHPOOL_CONFIG_DIR overrides the directory (tests point it at a temporary one).
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any


def config_dir() -> Path:
    env = os.environ.get("FLASHPOOL_CONFIG_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "flashpool"


def load_settings() -> dict[str, Any]:
    try:
        settings = json.loads((config_dir() / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    return settings if isinstance(settings, dict) else {}


def save_settings(**changes: object) -> None:
    d = config_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        settings = load_settings() | changes
        (d / "config.json").write_text(json.dumps(settings, indent=2))
    except OSError:
        pass  # a read-only home never stops the console


def load_keymap() -> tuple[dict[str, str], str | None]:
    """(binding id -> keys, error message or None)."""
    path = config_dir() / "keymap.toml"
    if not path.exists():
        return {}, None
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return {}, f"keymap {path} ignored: {exc}"
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:
        return {}, f"keymap {path} ignored: {', '.join(bad)} must map to a key name"
    return dict(data), None
