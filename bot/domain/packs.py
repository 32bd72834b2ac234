"""Where the shipped rule packs are: config/rules/<name>.toml, included by a config's `rule_packs`.

The one pack locator: the config loader (which reads packs) and bot.rules (which lists them) both use it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def pack_dir() -> Path:
    """The folder holding the shipped packs (inside the installed `config` package)."""
    spec = importlib.util.find_spec("config")
    if spec is not None and spec.origin:
        return Path(spec.origin).resolve().parent / "rules"
    return Path(__file__).resolve().parents[2] / "config" / "rules"


def pack_path(name: str) -> Path:
    """The file of rule pack `name` (which may not exist)."""
    return pack_dir() / f"{name}.toml"


def available_packs() -> tuple[str, ...]:
    """Names of the shipped rule packs, sorted."""
    folder = pack_dir()
    return tuple(sorted(p.stem for p in folder.glob("*.toml"))) if folder.is_dir() else ()
