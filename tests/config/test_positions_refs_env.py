"""Key line lookup, channel reference normalisation and the credential check."""

from __future__ import annotations

import pytest

from bot.domain.errors import ConfigError
from config.loader import load, require_telegram
from config.positions import KeyLines
from config.refs import normalize_ref, parse_ref, same_channel
from tests.config.conftest import WriteConfig

SAMPLE = """\
# comment [not.a.header]
timezone = "UTC"
text = '''
[fake]
x = 1
'''
[telegram]
api_id = 5
server.address = "1.2.3.4"

[[channels]]
ref = "@a"  # trailing comment with = sign

[[channels]]
ref = "@b"
tags = [
  "x",
  "y",
]
routes = [
  { name = "a", sink = "console" },
  { name = "b",
    sink = "jsonl" },
]

[[rules]]
name = "r"
near = [["a", "b", 3], ["c", "d", 4]]
"""


def test_key_lines_follow_headers_arrays_and_skip_strings() -> None:
    lines = KeyLines(SAMPLE)
    assert lines.line_of("timezone") == 2
    assert "fake" not in lines
    assert "fake.x" not in lines
    assert lines.line_of("telegram.api_id") == 8
    assert lines.line_of("telegram.server.address") == 9
    assert lines.line_of("channels[0].ref") == 12
    assert lines.line_of("channels[1]") == 14
    assert lines.line_of("channels[1].tags[1]") == 18
    assert lines.line_of("channels[1].routes[1].sink") == 23
    assert lines.line_of("rules[0].near[1]") == 28


def test_unknown_key_falls_back_to_nearest_written_ancestor() -> None:
    lines = KeyLines(SAMPLE)
    assert lines.line_of("channels[1].label") == 14
    assert lines.line_of("schedule.poll_minutes") is None


def test_key_lines_never_raise_on_broken_text() -> None:
    for text in ['a = "unterminated\n[x', "[[", "= 5\n[a.b", 'x = """never closed']:
        KeyLines(text).line_of("a")


@pytest.mark.parametrize(
    "ref",
    [
        "@Rybar",
        "rybar",
        "RYBAR",
        "https://t.me/rybar",
        "t.me/Rybar",
        "http://telegram.me/rybar/",
        "https://t.me/s/rybar",
        "https://t.me/rybar/123",
    ],
)
def test_spellings_of_one_channel_compare_equal(ref: str) -> None:
    assert normalize_ref(ref) == "@rybar"
    assert same_channel(ref, "@rybar")


def test_numeric_ids_with_and_without_minus_100_are_one_channel() -> None:
    assert normalize_ref("-1001234") == normalize_ref("1234") == normalize_ref("https://t.me/c/1234/5")


def test_invite_links_keep_their_case() -> None:
    assert parse_ref("https://t.me/+AbCdEfGh12").invite_hash == "AbCdEfGh12"
    assert normalize_ref("t.me/joinchat/AbCdEfGh12") == normalize_ref("https://t.me/+AbCdEfGh12")
    assert not same_channel("t.me/+AbCdEfGh12", "t.me/+abcdefgh12")


@pytest.mark.parametrize("ref", ["", "a b", "@ab", "https://example.com/rybar", "https://t.me/", "1rybar"])
def test_malformed_refs_raise_value_error(ref: str) -> None:
    with pytest.raises(ValueError, match=r"use @name, name, https://t\.me/name"):
        parse_ref(ref)


def test_missing_credentials_are_named_with_where_to_put_them(write_config: WriteConfig) -> None:
    settings = load(write_config("[telegram]\napi_id = 5\n"), {})
    with pytest.raises(ConfigError) as info:
        require_telegram(settings)
    assert "TELEWATCH_API_HASH" in str(info.value)
    assert ".env" in (info.value.hint or "")
    assert "api_id" not in str(info.value)


def test_credentials_present_pass_and_bot_token_is_checked_on_request(write_config: WriteConfig) -> None:
    settings = load(write_config("[telegram]\napi_id = 5\n"), {"TELEWATCH_API_HASH": "a" * 32})
    require_telegram(settings)
    with pytest.raises(ConfigError, match="TELEWATCH_BOT_TOKEN"):
        require_telegram(settings, need_bot_token=True)
