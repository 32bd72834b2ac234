"""Fixtures for config tests: an isolated working directory and environment, and a config writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from config.env import ENV_KEYS

WriteConfig = Callable[[str], Path]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every config test runs in an empty working dir with no TELEWATCH_* variables (no stray .env)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for key in (*ENV_KEYS, "TELEWATCH_CONFIG", "TELEWATCH_DB", "TELEWATCH_DEBUG"):
        monkeypatch.delenv(key, raising=False)
    return work


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    """Write TOML text to tmp/cfg/telewatch.toml and return its path."""

    def write(text: str) -> Path:
        folder = tmp_path / "cfg"
        folder.mkdir(exist_ok=True)
        path = folder / "telewatch.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private rule-pack folder with 'alpha' and 'beta' packs, used instead of the shipped ones."""
    folder = tmp_path / "packs"
    folder.mkdir()
    (folder / "alpha.toml").write_text(
        'description = "test pack"\n\n'
        '[[rules]]\nname = "evac"\nany = ["эвакуация"]\nseverity = "critical"\n\n'
        '[[rules]]\nname = "shelling"\nany = ["обстрел"]\n',
        encoding="utf-8",
    )
    (folder / "beta.toml").write_text('[[rules]]\nname = "drones"\nany = ["дрон"]\n', encoding="utf-8")
    monkeypatch.setattr("config.loader.pack_path", lambda name: folder / f"{name}.toml")
    return folder
