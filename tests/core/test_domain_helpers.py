"""The one implementation of each small thing several parts need: backoff, times, channel handles."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.refs import channel_handle, parse_post_ref
from bot.domain.retry import Backoff, backoff_delay
from bot.domain.timeparse import parse_duration, parse_moment

NOW = datetime(2024, 8, 7, 6, 30, tzinfo=UTC)


def test_backoff_doubles_up_to_its_cap_and_starts_over_after_a_success() -> None:
    backoff = Backoff(base=1.0, cap=5.0)
    assert [backoff.next() for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    backoff.reset()
    assert backoff.next() == 1.0
    assert backoff_delay(3, base=2.0, cap=900.0) == 8.0


def test_durations_and_moments_share_one_syntax() -> None:
    assert parse_duration("90min") == timedelta(minutes=90)
    assert parse_moment("3d", NOW) == NOW - timedelta(days=3)
    assert parse_moment("yesterday", NOW, ZoneInfo("Europe/Moscow")) == datetime(
        2024, 8, 6, tzinfo=ZoneInfo("Europe/Moscow")
    )
    assert parse_moment("2024-08-06T10:00", NOW) == datetime(2024, 8, 6, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="is not a date"):
        parse_moment("last tuesday", NOW)
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration("0m")


@pytest.mark.parametrize(
    "ref", ["@Rybar", "rybar", "https://t.me/rybar", "t.me/s/rybar", "https://t.me/rybar/5"]
)
def test_every_spelling_of_a_channel_has_one_handle(ref: str) -> None:
    assert channel_handle(ref) == "rybar"
    assert channel_handle("-1001234567") == channel_handle("1234567") == "1234567"


def test_post_references() -> None:
    ref = parse_post_ref("@rybar/123")
    assert ref is not None
    assert (ref.username, ref.message_id) == ("rybar", 123)
    assert parse_post_ref("https://t.me/rybar") is None


@pytest.mark.parametrize("text", ["999999999w", "99999999999999999999d", "9999999999w", "٣h", "²m", "1٠d"])
def test_a_duration_too_long_for_any_timedelta_or_in_other_digits_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_duration(text)
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_moment(text, datetime(2024, 8, 6, tzinfo=UTC))


def test_a_moment_further_back_than_the_calendar_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="further back than the calendar goes"):
        parse_moment("999999999d", datetime(2024, 8, 6, tzinfo=UTC))
