"""Building Telethon clients from settings: session files (0600), custom servers, interactive login."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from telethon import TelegramClient
from telethon import errors as tg
from telethon.crypto import rsa

from bot.domain.errors import AuthError, ConfigError
from bot.telegram.errors import translated
from config.settings import ServerSettings, TelegramSettings

Prompt = Callable[[str], Awaitable[str]]


def session_path(settings: TelegramSettings, *, bot: bool = False) -> Path:
    """The session file (without Telethon's .session suffix) of the watcher account or the alert bot."""
    name = f"{settings.session_name}-bot" if bot else settings.session_name
    return Path(settings.session_dir).expanduser() / name


def lock_path(settings: TelegramSettings) -> Path:
    """The single-instance lock file, next to the watcher's session."""
    return session_path(settings).with_suffix(".lock")


def secure_session_files(path: Path) -> None:
    """Restrict the session (a login credential) and its journal to the owner: 0600."""
    for candidate in (path.with_suffix(".session"), path.with_suffix(".session-journal")):
        if candidate.exists():
            os.chmod(candidate, 0o600)


def add_server_key(server: ServerSettings) -> None:
    """Trust the RSA public key of a custom MTProto server (PEM, PKCS#1)."""
    if server.rsa_key_file is None:
        return
    path = Path(server.rsa_key_file).expanduser()
    try:
        pem = path.read_text(encoding="ascii")
        rsa.add_key(pem, old=False)
    except (OSError, ValueError) as e:
        raise ConfigError(
            f"cannot read the server's RSA public key: {e}",
            key="telegram.server.rsa_key_file",
            value=str(path),
            expected="a PEM file with an RSA PUBLIC KEY (PKCS#1)",
        ) from e


def build_client(
    settings: TelegramSettings, *, bot: bool = False, receive_updates: bool = True
) -> TelegramClient:
    """A Telethon client on our session file; flood waits surface as errors so we pace them ourselves."""
    if settings.api_id is None or not settings.api_hash:
        raise ConfigError(
            "missing Telegram credentials", key="telegram.api_id", hint="run `telewatch check` for details"
        )
    path = session_path(settings, bot=bot)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    client = TelegramClient(
        str(path),
        settings.api_id,
        settings.api_hash,
        flood_sleep_threshold=0,
        connection_retries=5,
        retry_delay=2,
        auto_reconnect=True,
        receive_updates=receive_updates,  # the bot needs them too: chat commands and button presses
    )
    if settings.server is not None:
        add_server_key(settings.server)
        client.session.set_dc(settings.server.dc_id, settings.server.address, settings.server.port)
    secure_session_files(path)
    return client


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who a session belongs to."""

    user_id: int
    name: str
    is_bot: bool


def _describe(me: object) -> SignedIn:
    first = getattr(me, "first_name", None) or ""
    username = getattr(me, "username", None)
    name = f"@{username}" if username else first or str(getattr(me, "id", "?"))
    return SignedIn(user_id=int(getattr(me, "id", 0)), name=name, is_bot=bool(getattr(me, "bot", False)))


async def login_user(
    client: TelegramClient, *, phone: Prompt, code: Prompt, password: Prompt, path: Path
) -> SignedIn:
    """Sign the watcher account in interactively (phone, code, 2FA password) unless already signed in."""
    with translated("login", client=client):
        await client.connect()
        if not await client.is_user_authorized():
            number = await phone("Phone number (international format, e.g. +44...)")
            await client.send_code_request(number)
            try:
                await client.sign_in(number, await code("Login code Telegram sent you"))
            except tg.SessionPasswordNeededError:
                await client.sign_in(password=await password("Two-step verification password"))
            except (tg.PhoneCodeInvalidError, tg.PhoneCodeExpiredError) as e:
                raise AuthError(
                    "the login code was wrong or expired", hint="run `telewatch login` again"
                ) from e
        me = await client.get_me()
    secure_session_files(path)
    return _describe(me)


async def login_bot(client: TelegramClient, *, token: str, path: Path) -> SignedIn:
    """Sign the alert bot in with its token from @BotFather."""
    with translated("bot login", client=client):
        await client.connect()
        if not await client.is_user_authorized():
            try:
                await client.sign_in(bot_token=token)
            except tg.AccessTokenInvalidError as e:
                raise AuthError("the bot token was refused", hint="check TELEWATCH_BOT_TOKEN") from e
        me = await client.get_me()
    secure_session_files(path)
    return _describe(me)


async def whoami(client: TelegramClient) -> SignedIn | None:
    """The signed-in account of a session, or None when the session is not signed in."""
    with translated("check session", client=client):
        await client.connect()
        if not await client.is_user_authorized():
            return None
        return _describe(await client.get_me())
