"""Hostile config files: the loader answers with a ConfigError (file, line, reason), never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.errors import ConfigError
from bot.rules import compile_rules
from config.loader import load, load_text

EXAMPLE = (Path(__file__).resolve().parents[2] / "config" / "example.toml").read_text(encoding="utf-8")
ODD = ["\ufeff", "\x00", "\u200f", "\u202e", "\ud800", "\r", "[[", '"""', "= =", "\\u", "🔥"]


def _load(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "telewatch.toml"
        try:
            load_text(text, path, {}, base_dir=Path(tmp), check_rules=compile_rules)
        except ConfigError as e:
            message = str(e)
        else:
            return
    assert message.strip(), "a config error says what is wrong"


@pytest.mark.parametrize(
    "text",
    [
        "x = " + "[" * 100_000 + "]" * 100_000,
        "x = " + "{a = " * 50_000 + "1" + "}" * 50_000,
        "[" * 10_000,
        "a.b.c" * 2_000 + " = 1",
        "[[rules]]\nname = 'r'\nany = ['/(.*a){20}/']\n",
        "[[rules]]\nname = 'r'\nany = ['/" + "(" * 600 + "/']\n",
    ],
    ids=["deep-array", "deep-table", "open-brackets", "long-dotted-key", "slow-regex", "huge-regex"],
)
def test_hostile_config_gives_a_config_error(text: str) -> None:
    _load(text)


def test_a_config_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "telewatch.toml"
    path.write_bytes(b"\xff\xfe[telegram]\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load(path, {})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(0, len(EXAMPLE)), junk=st.sampled_from(ODD), at=st.integers(0, len(EXAMPLE)))
def test_a_broken_example_config_gives_a_config_error(cut: int, junk: str, at: int) -> None:
    text = EXAMPLE[:cut]
    _load(text[:at] + junk + text[at:])


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_any_text_loads_or_gives_a_config_error(text: str) -> None:
    _load(text)
