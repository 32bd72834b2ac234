"""`telewatch config show` prints a valid config file: fed back as the config it loads and means the same
(the full example config, a demo config, every optional shape: scopes, quiet hours, gates, packs)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from bot.cli import main
from bot.rules import compile_rules
from config.loader import load
from config.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
HASH = "0123456789abcdef0123456789abcdef"
EXTRA = """
[[rules]]
name = "gated"
any = ["эвакуация", "relocate"]
near = [["эвакуация", "Суджа", "sentence"], ["эвакуация", "автобус", 4]]
unless_near = [["*", ["автомобиль", "парковка"], 3], ["эвакуация", "учения", "text"]]
only_near = [[["relocate"], ["people", "residents"], "sentence"]]
severity = "critical"

[[routes]]
name = "night"
sink = "jsonl"
target = "alerts.jsonl"
quiet_hours = "23:00-07:00"
min_severity = "warning"
digest = "daily"
"""


def expanded(value: object) -> object:
    """A section with '~' in its paths expanded (the loader expands what it reads from a file)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: expanded(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)  # type: ignore[arg-type]
    return value.expanduser() if isinstance(value, Path) else value


def same(a: Settings, b: Settings) -> None:
    for f in dataclasses.fields(Settings):
        if f.name != "path":
            assert expanded(getattr(a, f.name)) == expanded(getattr(b, f.name)), f.name


@pytest.mark.parametrize(
    "config",
    [ROOT / "config" / "example.toml", ROOT / "config" / "demo" / "demo.toml", None],
    ids=["example", "demo", "every-shape"],
)
def test_config_show_output_loads_back_to_the_same_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, config: Path | None
) -> None:
    for key in [k for k in os.environ if k.startswith("TELEWATCH_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    if config is None:
        config = tmp_path / "own.toml"
        config.write_text('rule_packs = ["evacuation"]\n' + EXTRA, encoding="utf-8")
    environ = {"TELEWATCH_API_HASH": HASH, "TELEWATCH_BOT_TOKEN": "123456789:AAE" + "x" * 32}
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    original = load(config, environ, check_rules=compile_rules)
    assert main(["--config", str(config), "config", "show"]) == 0
    shown = capsys.readouterr().out
    assert HASH not in shown
    assert "***" not in shown
    assert "resolved_target" not in shown
    again = tmp_path / "shown.toml"
    again.write_text(shown, encoding="utf-8")
    reloaded = load(again, environ, check_rules=compile_rules)
    same(original, reloaded)
    if config.name == "own.toml":
        assert '"sentence"' in shown
        assert '"text"' in shown
        assert '"23:00-07:00"' in shown
