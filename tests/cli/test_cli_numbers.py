"""Every number a person types is bounded: a huge or odd value is one usage line (exit 2), never an
OverflowError from the database driver."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest

from bot.cli import cli, main
from bot.cli.params import BoundedFloat, BoundedInt
from bot.domain.errors import ConfigError
from bot.domain.numbers import INT64_MAX, parse_id, parse_int
from bot.domain.refs import parse_channel_ref, parse_post_ref

HUGE = "99999999999999999999"
POSTS = '{"channel": "@gov_test", "id": 1, "date": "2024-08-06T08:00:00Z", "text": "Жителей эвакуировали"}\n'


def numeric_params() -> list[tuple[str, click.Parameter]]:
    found = []

    def walk(command: click.Command, path: str) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")
        for param in command.params:
            if isinstance(param.type, click.types.IntParamType | click.types.FloatParamType):
                found.append((path, param))

    walk(cli, "telewatch")
    return found


def test_every_numeric_option_and_argument_has_a_finite_bound() -> None:
    params = numeric_params()
    assert len(params) >= 14  # limits, ids, speeds, backfill, port...
    for path, param in params:
        assert isinstance(param.type, BoundedInt | BoundedFloat), f"{path} {param.name}: {param.type!r}"
        assert param.type.max is not None, f"{path} {param.name} has no upper bound"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in [k for k in os.environ if k.startswith("TELEWATCH_")]:
        monkeypatch.delenv(key)
    (tmp_path / "telewatch.toml").write_text('[[rules]]\nname = "e"\nany = ["эвакуация"]\n', encoding="utf-8")
    (tmp_path / "posts.jsonl").write_text(POSTS, encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "tw.db"))
    monkeypatch.chdir(tmp_path)
    assert main(["import", "posts.jsonl"]) == 0
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [
        ["posts", "search", "x", "--limit", HUGE],
        ["posts", "recent", "-n", HUGE],
        ["posts", "show", HUGE],
        ["posts", "show", "#" + HUGE],
        ["posts", "show", "²"],
        ["posts", "show", f"@gov_test/{HUGE}"],
        ["posts", "show", f"https://t.me/c/{HUGE}/1"],
        ["posts", "show", f"https://t.me/gov_test/{HUGE}"],
        ["alerts", "list", "--limit", HUGE],
        ["alerts", "review", HUGE, "fp"],
        ["rules", "test", "--post", HUGE],
        ["rules", "eval", "posts.jsonl", "--errors", HUGE],
        ["trends", "--limit", HUGE],
        ["health", "--max-age", HUGE],
        ["import", "posts.jsonl", "--show-bad", HUGE],
        ["replay", "posts.jsonl", "--speed", "inf"],
        ["demo", "--speed", "nan"],
        ["channels", "add", "@some_channel", "--backfill-days", HUGE],
        ["channels", "add", "@some_channel", "--backfill-count", HUGE],
        ["channels", "add", "@some_channel", "--poll-minutes", "1e308"],
        ["web", "--port", HUGE],
    ],
)
def test_a_huge_or_odd_number_is_one_usage_line(
    home: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    capsys.readouterr()
    config_before = (home / "telewatch.toml").read_bytes()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "Overflow" not in err
    lines = err.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["error", "hint"], err
    assert (home / "telewatch.toml").read_bytes() == config_before


def test_typed_numbers_are_ascii_decimal_within_sqlite_integers() -> None:
    assert parse_id("42") == 42
    assert parse_id(str(INT64_MAX)) == INT64_MAX
    assert parse_id(str(INT64_MAX + 1)) is None
    assert parse_id("0") is None
    assert parse_id("²") is None
    assert parse_int("-7") == -7
    assert parse_post_ref(f"@gov_test/{HUGE}") is None
    with pytest.raises(ConfigError, match="out of range"):
        parse_channel_ref(f"-100{HUGE}")
    with pytest.raises(ConfigError, match="out of range"):
        parse_channel_ref(HUGE)
