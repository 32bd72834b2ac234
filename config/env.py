"""Secrets and overrides from the environment or a `.env` file: TELEWATCH_API_ID / _API_HASH / _BOT_TOKEN."""

from __future__ import annotations

import difflib
import io
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from bot.domain.errors import ConfigError
from config.ranges import RANGES

API_ID = "TELEWATCH_API_ID"
API_HASH = "TELEWATCH_API_HASH"
BOT_TOKEN = "TELEWATCH_BOT_TOKEN"
ENV_KEYS = (API_ID, API_HASH, BOT_TOKEN)
WEB_PASSWORD = "TELEWATCH_WEB_PASSWORD"  # `telewatch web`: the password (or bearer token) of the pages
WEB_SECRET = "TELEWATCH_WEB_SECRET"  # `telewatch web`: the key signing session cookies (random if unset)
DB_PASSWORD = "TELEWATCH_DB_PASSWORD"  # [storage] url: the PostgreSQL password
# Every TELEWATCH_* name telewatch reads: the secrets above and the command line's global options.
KNOWN_KEYS = (
    *ENV_KEYS,
    WEB_PASSWORD,
    WEB_SECRET,
    DB_PASSWORD,
    "TELEWATCH_CONFIG",
    "TELEWATCH_DB",
    "TELEWATCH_DEBUG",
    "TELEWATCH_LOG_FORMAT",
)
PREFIX = "TELEWATCH_"

# TOML keys that must never hold a value in the file (it may end up in git); value = where it belongs.
SECRET_KEYS: dict[str, str] = {
    "api_hash": API_HASH,
    "bot_token": BOT_TOKEN,
    "password": "the login prompt (never stored)",
    "session_string": "the session file",
    "phone": "the login prompt (never stored)",
}

_API_HASH_RE = re.compile(r"[0-9a-fA-F]{32}")
_BOT_TOKEN_RE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{30,}")


@dataclass(frozen=True, slots=True)
class EnvValue:
    """One environment value and where it came from (for error messages)."""

    value: str
    source: str  # "environment" or the path of the .env file


@dataclass(frozen=True, slots=True)
class TelegramEnv:
    """The validated Telegram values found in the environment."""

    api_id: int | None = None
    api_hash: str | None = None
    bot_token: str | None = None


def dotenv_files(config_path: Path) -> tuple[Path, ...]:
    """The .env files consulted, most specific first: beside the config file, then the working directory."""
    beside = config_path.parent / ".env"
    cwd = Path.cwd() / ".env"
    files = [beside]
    if cwd.resolve() != beside.resolve():
        files.append(cwd)
    return tuple(files)


def collect(config_path: Path, environ: Mapping[str, str]) -> dict[str, EnvValue]:
    """Our variables: the real environment wins over .env beside the config, which wins over ./.env."""
    found: dict[str, EnvValue] = {}
    for key in ENV_KEYS:
        if environ.get(key, "").strip():
            found[key] = EnvValue(environ[key].strip(), "environment")
    for file in dotenv_files(config_path):
        if not file.is_file():
            continue
        values = _read_dotenv(file)
        for key in ENV_KEYS:
            raw = values.get(key)
            if key not in found and raw and raw.strip():
                found[key] = EnvValue(raw.strip(), str(file))
    return found


def lookup(key: str, config_path: Path, environ: Mapping[str, str]) -> EnvValue | None:
    """One variable, with the precedence of `collect`: the environment, then .env beside the config, ./.env."""
    if environ.get(key, "").strip():
        return EnvValue(environ[key].strip(), "environment")
    for file in dotenv_files(config_path):
        if file.is_file():
            raw = _read_dotenv(file).get(key)
            if raw and raw.strip():
                return EnvValue(raw.strip(), str(file))
    return None


class _UnnamedParseWarning(logging.Filter):
    """python-dotenv logs "could not parse statement starting at line N" without the file: telewatch
    says it itself, naming the file and line (dotenv_problems)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "could not parse statement" not in str(record.msg)


logging.getLogger("dotenv.main").addFilter(_UnnamedParseWarning())


def _dotenv_text(file: Path) -> str:
    try:
        # utf-8-sig: a byte-order mark would otherwise become part of the first key's name.
        return file.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read .env file: {e}", file=file) from e


def _read_dotenv(file: Path) -> dict[str, str | None]:
    return dict(dotenv_values(stream=io.StringIO(_dotenv_text(file))))


def dotenv_problems(config_path: Path) -> list[str]:
    """One warning per .env line that cannot be read (it is ignored), naming the file and the line."""
    warnings = []
    for file in dotenv_files(config_path):
        if file.is_file():
            for binding in parse_stream(io.StringIO(_dotenv_text(file))):
                if binding.error:
                    shown = binding.original.string.strip()
                    shown = shown if len(shown) <= 40 else shown[:39] + "…"
                    warnings.append(
                        f"{file}:{binding.original.line}: cannot read {shown!r}; the line is ignored "
                        "(expected NAME=value, a comment or a blank line)"
                    )
    return warnings


def unknown_keys(config_path: Path, environ: Mapping[str, str]) -> list[str]:
    """One warning per TELEWATCH_* name (environment or .env) that telewatch does not read: a typo."""
    places: list[tuple[str, list[str]]] = [("environment", list(environ))]
    for file in dotenv_files(config_path):
        if file.is_file():
            places.append((str(file), list(_read_dotenv(file))))
    warnings = []
    for where, keys in places:
        for key in keys:
            if not key.upper().startswith(PREFIX) or key in KNOWN_KEYS:
                continue
            close = difflib.get_close_matches(key.upper(), KNOWN_KEYS, n=1, cutoff=0.7)
            advice = f"did you mean {close[0]}?" if close else "known: " + ", ".join(KNOWN_KEYS)
            warnings.append(f"{where}: {key} is not a telewatch setting and is ignored; {advice}")
    return warnings


def telegram_env(config_path: Path, environ: Mapping[str, str]) -> TelegramEnv:
    """Read and check the Telegram variables; a malformed one is a ConfigError (secrets never echoed)."""
    found = collect(config_path, environ)
    api_id: int | None = None
    if API_ID in found:
        item = found[API_ID]
        try:
            api_id = int(item.value)
        except ValueError:
            raise ConfigError(
                "is not a whole number",
                file=item.source,
                key=API_ID,
                value=item.value,
                expected="the numeric api_id from https://my.telegram.org",
            ) from None
        valid = RANGES["telegram.api_id"]
        if not valid.holds(api_id):
            raise ConfigError(
                "is out of range", file=item.source, key=API_ID, value=item.value, expected=valid.describe()
            )
    api_hash = _secret(
        found, API_HASH, _API_HASH_RE, "32 hexadecimal characters from https://my.telegram.org"
    )
    bot_token = _secret(found, BOT_TOKEN, _BOT_TOKEN_RE, "a token like 123456:ABC-DEF... from @BotFather")
    return TelegramEnv(api_id=api_id, api_hash=api_hash, bot_token=bot_token)


def _secret(found: Mapping[str, EnvValue], key: str, pattern: re.Pattern[str], expected: str) -> str | None:
    item = found.get(key)
    if item is None:
        return None
    if not pattern.fullmatch(item.value):
        # The value is a secret: say how long it is, never what it is.
        raise ConfigError(
            f"does not look right ({len(item.value)} characters)",
            file=item.source,
            key=key,
            expected=expected,
        )
    return item.value


def env_warnings(config_path: Path, environ: Mapping[str, str]) -> list[str]:
    """Every warning about the environment and .env files: unreadable lines, unknown TELEWATCH_* names."""
    return [*dotenv_problems(config_path), *unknown_keys(config_path, environ)]
