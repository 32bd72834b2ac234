"""Translating Telethon's errors into the bot.domain.errors hierarchy; nothing above bot/telegram/ sees Telethon."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from telethon import errors as tg

from bot.domain.errors import (
    AuthError,
    ChannelUnavailable,
    Disconnected,
    ForwardRestricted,
    RateLimited,
    TelegramError,
    TelewatchError,
    Unreachable,
)

NOT_FOUND = (
    tg.UsernameNotOccupiedError,
    tg.UsernameInvalidError,
    tg.ChannelInvalidError,
    tg.PeerIdInvalidError,
    tg.ChatIdInvalidError,
    tg.InviteHashExpiredError,
    tg.InviteHashInvalidError,
    tg.InviteHashEmptyError,
    tg.InputUserDeactivatedError,
)
PRIVATE = (tg.ChannelPrivateError, tg.ChatAdminRequiredError, tg.ChatRestrictedError)
BANNED = (
    tg.UserBannedInChannelError,
    tg.ChatWriteForbiddenError,
    tg.UserIsBlockedError,
    tg.UserKickedError,
    tg.BotGroupsBlockedError,
)
NOT_JOINED = (tg.InviteRequestSentError,)
AUTH = (
    tg.AuthKeyUnregisteredError,
    tg.SessionRevokedError,
    tg.SessionExpiredError,
    tg.AuthKeyDuplicatedError,
    tg.UserDeactivatedError,
    tg.UserDeactivatedBanError,
    tg.UnauthorizedError,
    tg.AuthKeyError,
)
# Network failures. Telethon raises asyncio.IncompleteReadError (an EOFError) when the server closes
# the connection mid-answer, ConnectionError after its own connection retries, OSError from sockets.
NETWORK = (ConnectionError, OSError, asyncio.TimeoutError, EOFError)
TRANSIENT = (tg.ServerError, tg.TimedOutError, *NETWORK)


def server_of(client: Any) -> tuple[str, int] | None:
    """The (host, port) a Telethon client talks to, when it has a session that says so."""
    session = getattr(client, "session", None)
    host = getattr(session, "server_address", None)
    port = getattr(session, "port", None)
    return (str(host), int(port)) if host and port else None


def network_reason(error: BaseException) -> str:
    """A short phrase for a network failure."""
    if isinstance(error, EOFError):
        return "the connection was closed before the answer arrived"
    if isinstance(error, asyncio.TimeoutError | tg.TimedOutError):
        return "the request timed out"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__


def translate(
    error: BaseException, *, request: str, target: str | None = None, client: Any = None
) -> TelewatchError:
    """The bot.domain.errors equivalent of a Telethon (or network) error raised by `request` about `target`.

    With the `client`, network failures name the server they could not reach.
    """
    what = target or request
    if isinstance(error, NETWORK):
        server = server_of(client)
        if server is not None:
            return Unreachable(server[0], server[1], f"{network_reason(error)} (during {request})")
        return Disconnected(f"connection to Telegram lost during {request}: {network_reason(error)}")
    if isinstance(error, tg.FloodWaitError | tg.SlowModeWaitError | tg.FloodPremiumWaitError):
        return RateLimited(float(error.seconds), request=request)
    if isinstance(error, tg.FloodError):  # FLOOD without a number: back off a little
        return RateLimited(30.0, request=request)
    if isinstance(error, tg.ChatForwardsRestrictedError):
        return ForwardRestricted(what)
    if isinstance(error, NOT_FOUND):
        return ChannelUnavailable(what, "not found")
    if isinstance(error, PRIVATE):
        return ChannelUnavailable(what, "private", hint="join it with the watcher account, or set auto_join")
    if isinstance(error, BANNED):
        return ChannelUnavailable(what, "banned")
    if isinstance(error, NOT_JOINED):
        return ChannelUnavailable(what, "not joined", hint="an admin must approve the join request")
    if isinstance(error, AUTH):
        return AuthError(
            f"the Telegram session was rejected ({type(error).__name__})", hint="run `telewatch login` again"
        )
    if isinstance(error, tg.ChannelsTooMuchError):
        return TelegramError(
            f"cannot join {what}: the account is in too many channels", hint="leave some channels first"
        )
    if isinstance(error, TRANSIENT):
        return Disconnected(f"connection to Telegram lost during {request}: {error or type(error).__name__}")
    if isinstance(error, tg.RPCError):
        return TelegramError(f"Telegram refused {request} for {what}: {error.message} (code {error.code})")
    if isinstance(error, ValueError):
        # Telethon raises ValueError when it cannot find an entity (e.g. an id not in the session cache).
        return ChannelUnavailable(what, "not found", hint=str(error))
    return TelegramError(f"{request} for {what} failed: {error!r}")


@contextmanager
def translated(request: str, target: str | None = None, *, client: Any = None) -> Iterator[None]:
    """Run a block of Telethon calls, re-raising its errors as bot.domain.errors (chained for --debug)."""
    try:
        yield
    except TelewatchError:
        raise
    except (tg.RPCError, ValueError, *NETWORK) as e:
        raise translate(e, request=request, target=target, client=client) from e
