"""Telethon's errors become the bot.domain.errors hierarchy at the boundary."""

from __future__ import annotations

import pytest
from telethon import errors as tg

from bot.domain.errors import AuthError, ChannelUnavailable, Disconnected, RateLimited, TelegramError
from bot.telegram.errors import translate, translated


def test_flood_waits_keep_their_seconds() -> None:
    error = translate(tg.FloodWaitError(request=None, capture=7), request="history")
    assert isinstance(error, RateLimited)
    assert (error.retry_after, error.request) == (7, "history")
    slow = translate(tg.SlowModeWaitError(request=None, capture=3), request="send")
    assert isinstance(slow, RateLimited)
    assert slow.retry_after == 3


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (tg.UsernameNotOccupiedError(request=None), "not found"),
        (tg.UsernameInvalidError(request=None), "not found"),
        (tg.InviteHashExpiredError(request=None), "not found"),
        (tg.ChannelPrivateError(request=None), "private"),
        (tg.UserBannedInChannelError(request=None), "banned"),
        (tg.ChatWriteForbiddenError(request=None), "banned"),
        (tg.InviteRequestSentError(request=None), "not joined"),
        (ValueError('No user has "nobody" as username'), "not found"),
    ],
)
def test_channel_errors_carry_the_channel_state(error: Exception, state: str) -> None:
    translated_error = translate(error, request="resolve", target="@x")
    assert isinstance(translated_error, ChannelUnavailable)
    assert (translated_error.channel, translated_error.state) == ("@x", state)


def test_session_errors_ask_for_a_new_login() -> None:
    error = translate(tg.AuthKeyUnregisteredError(request=None), request="history")
    assert isinstance(error, AuthError)
    assert error.hint is not None
    assert "telewatch login" in error.hint


def test_network_errors_mean_disconnected_and_other_refusals_are_telegram_errors() -> None:
    assert isinstance(translate(ConnectionError("reset"), request="history"), Disconnected)
    other = translate(tg.RPCError(request=None, message="WEIRD_THING", code=400), request="join")
    assert type(other) is TelegramError
    assert "WEIRD_THING" in str(other)


def test_translated_block_reraises_with_the_original_chained() -> None:
    with pytest.raises(RateLimited) as info, translated("history", "@x"):
        raise tg.FloodWaitError(request=None, capture=5)
    assert isinstance(info.value.__cause__, tg.FloodWaitError)
