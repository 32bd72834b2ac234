"""Channel references in every supported spelling parse to the same canonical form."""

from __future__ import annotations

import pytest

from bot.domain.errors import ConfigError
from bot.domain.refs import ParsedRef, RefKind, parse_channel_ref


@pytest.mark.parametrize(
    "text",
    [
        "@rybar",
        "rybar",
        "  @rybar ",
        "https://t.me/rybar",
        "http://t.me/rybar/",
        "t.me/rybar",
        "T.ME/Rybar",
        "telegram.me/rybar",
        "https://t.me/s/rybar",
        "t.me/s/rybar/55",
        "rybar.t.me",
        "tg://resolve?domain=rybar",
    ],
)
def test_username_spellings_all_mean_the_same_channel(text: str) -> None:
    ref = parse_channel_ref(text)
    assert ref.kind is RefKind.USERNAME
    assert ref.key == "@rybar"


def test_post_link_keeps_the_message_id() -> None:
    assert parse_channel_ref("https://t.me/rybar/123?single") == ParsedRef(
        RefKind.USERNAME, username="rybar", message_id=123
    )


@pytest.mark.parametrize(
    ("text", "tg_id", "message_id"),
    [
        ("-1001234567890", 1234567890, None),
        ("1234567890", 1234567890, None),
        ("https://t.me/c/1234567890/77", 1234567890, 77),
        ("t.me/c/1234567890", 1234567890, None),
    ],
)
def test_numeric_ids_and_private_links_give_the_bare_channel_id(
    text: str, tg_id: int, message_id: int | None
) -> None:
    ref = parse_channel_ref(text)
    assert (ref.kind, ref.tg_id, ref.message_id) == (RefKind.ID, tg_id, message_id)
    assert ref.key == f"id:{tg_id}"
    assert ref.display == f"-100{tg_id}"


@pytest.mark.parametrize(
    "text",
    [
        "https://t.me/+AbCdEf123_-x",
        "t.me/+AbCdEf123_-x",
        "https://t.me/joinchat/AbCdEf123_-x",
        "tg://join?invite=AbCdEf123_-x",
    ],
)
def test_invite_links_keep_the_hash(text: str) -> None:
    ref = parse_channel_ref(text)
    assert ref.kind is RefKind.INVITE
    assert ref.invite_hash == "AbCdEf123_-x"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "@",
        "-1234",  # a basic group
        "ab",  # too short
        "1name",  # starts with a digit
        "bad__name",
        "https://example.com/rybar",
        "t.me/addstickers/pack",
        "t.me/",
        "t.me/joinchat",
        "t.me/+x",
        "tg://settings",
    ],
)
def test_invalid_references_raise_one_config_error_naming_the_value(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_channel_ref(text)
    assert repr(text) in str(info.value)
    assert "t.me/+hash" in str(info.value)
