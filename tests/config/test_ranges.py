"""Every numeric config key has a documented range; an absurd value is one error naming file:line, key,
value and the range."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest

from bot.domain.errors import ConfigError
from bot.domain.models import RuleSpec
from config.loader import load
from config.ranges import RANGES, markdown_table
from config.settings import Settings
from tests.config.conftest import WriteConfig

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
NUMBERS = (int, float, int | None, float | None, tuple[int, ...])
SECTION_KEYS = {"channels": "channels", "routes": "routes"}


def numeric_keys(cls: type, prefix: str) -> list[str]:
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        key = f"{prefix}.{f.name}" if prefix else f.name
        if tp in NUMBERS:
            out.append(key)
        inner = [a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)]
        if dataclasses.is_dataclass(tp):
            out += numeric_keys(tp, key)  # type: ignore[arg-type]
        for a in inner:
            out += numeric_keys(a, key)  # type: ignore[arg-type]
    return out


def test_every_numeric_settings_key_has_a_range() -> None:
    keys = numeric_keys(Settings, "")
    assert {"schedule.poll_minutes", "channels.backfill_days", "telegram.api_id"} <= set(keys)
    missing = [k for k in keys if k not in RANGES and k not in {"storage.keep_days_by_label"}]
    assert not missing
    assert "rules.near.max_words" in RANGES
    assert "near" in RuleSpec.__dataclass_fields__


def test_the_documented_ranges_are_the_ranges_checked() -> None:
    assert markdown_table() in DOCS.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "line", "key", "shown"),
    [
        ("[schedule]\npoll_minutes = 1e308\n", 2, "schedule.poll_minutes", "1e+308"),
        ("[schedule]\npoll_minutes = inf\n", 2, "schedule.poll_minutes", "inf"),
        (
            '[[channels]]\nref = "@abcde"\nbackfill_days = 100000000000\n',
            3,
            "channels[0].backfill_days",
            "100000000000",
        ),
        (
            '[[channels]]\nref = "@abcde"\nbackfill_count = 100000000000000000000\n',
            3,
            "channels[0].backfill_count",
            "100000000000000000000",
        ),
        ("[telegram]\napi_id = 100000000000000000000000\n", 2, "telegram.api_id", "100000000000000000000000"),
        (
            '[[rules]]\nname = "x"\nnear = [["a", "b", 99999999999]]\n',
            3,
            "rules[0].near[0][2]",
            "99999999999",
        ),
        ("[storage.keep_days_by_label]\nx = 99999999\n", 2, "storage.keep_days_by_label.x", "99999999"),
        ("[trends]\nbaseline_weeks = 100000\n", 2, "trends.baseline_weeks", "100000"),
        ("[schedule]\nlearn_minutes = 0\n", 2, "schedule.learn_minutes", "0.0"),
    ],
)
def test_an_absurd_number_names_file_line_key_value_and_range(
    write_config: WriteConfig, text: str, line: int, key: str, shown: str
) -> None:
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        load(path, {})
    message = info.value.message
    assert message.startswith(f"{path}:{line}: key '{key}': is out of range (got {shown})"), message
    assert "; expected " in message


def test_an_absurd_api_id_in_the_environment_is_refused_with_its_range(write_config: WriteConfig) -> None:
    with pytest.raises(ConfigError, match=r"TELEWATCH_API_ID.*out of range.*1\.\.2_147_483_647"):
        load(write_config(""), {"TELEWATCH_API_ID": "1" + "0" * 23})
