"""The one error hierarchy. Only the CLI turns these into messages and exit codes."""

from __future__ import annotations

from pathlib import Path


class TelewatchError(Exception):
    """Base of every error telewatch raises on purpose. `hint` says what to do about it."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(TelewatchError):
    """The configuration file (or the environment) holds something invalid."""

    exit_code = 2

    def __init__(
        self,
        problem: str,
        *,
        file: Path | str | None = None,
        key: str | None = None,
        value: object = None,
        line: int | None = None,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = str(file) if file is not None else "config"
        if line is not None:
            where += f":{line}"
        parts = [where]
        if key:
            parts.append(f"key '{key}'")
        text = ": ".join(parts) + ": " + problem
        if value is not None:
            text += f" (got {value!r})"
        if expected:
            text += f"; expected {expected}"
        super().__init__(text, hint=hint)
        self.problem = problem
        self.file = file
        self.key = key
        self.value = value
        self.line = line
        self.expected = expected


class RuleError(ConfigError):
    """A rule's term or structure cannot be compiled."""


class SourceError(TelewatchError):
    """A replay/import file cannot be read at all (a single bad record is reported, not raised)."""

    exit_code = 3


class StorageError(TelewatchError):
    """The database cannot be opened or migrated."""

    exit_code = 4


class StorageUnavailable(StorageError):
    """The database server cannot be reached or dropped the connection: trying again later may work
    (nothing of the failed unit of work was committed)."""


class NotFound(TelewatchError):
    """Something asked for by id or name does not exist."""

    exit_code = 5


class TelegramError(TelewatchError):
    """Telegram refused or failed a request (translated from Telethon in bot/telegram/)."""

    exit_code = 6


class RateLimited(TelegramError):
    """Telegram asked us to wait (FloodWait / slow mode) before retrying."""

    def __init__(self, retry_after: float, *, request: str = "request") -> None:
        super().__init__(f"Telegram asked to wait {retry_after:.0f}s before the next {request}")
        self.retry_after = retry_after
        self.request = request


class ChannelUnavailable(TelegramError):
    """A channel cannot be read: not found, private, banned or not joined."""

    def __init__(self, channel: str, state: str, *, hint: str | None = None) -> None:
        super().__init__(f"channel {channel}: {state}", hint=hint)
        self.channel = channel
        self.state = state


class AuthError(TelegramError):
    """The session is missing, expired or revoked, or credentials are wrong."""

    exit_code = 7


class Disconnected(TelegramError):
    """The connection to Telegram dropped (or never came up); `run` reconnects and catches up."""

    exit_code = 9


class Unreachable(Disconnected):
    """Telegram's server at `host`:`port` cannot be reached: network down, refused, closed mid-answer."""

    def __init__(self, host: str, port: int, reason: str, *, hint: str | None = None) -> None:
        super().__init__(
            f"cannot reach Telegram at {host}:{port} — {reason}",
            hint=hint or "check the network connection (and [telegram.server], if set), then try again",
        )
        self.host = host
        self.port = port
        self.reason = reason


class ForwardRestricted(TelegramError):
    """A channel does not allow its posts to be forwarded (or copied)."""

    def __init__(self, channel: str) -> None:
        super().__init__(f"channel {channel} does not allow forwarding its posts")
        self.channel = channel


class DeliveryFailed(TelewatchError):
    """A sink could not deliver an alert; `permanent` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class TargetUnreachable(DeliveryFailed):
    """An alert's chat cannot be written to yet (not found, the bot not in it, blocked): a configuration
    state, not a verdict on the alert. Its alerts stay pending and are tried again."""

    def __init__(self, target: str, state: str) -> None:
        super().__init__(f"chat {target} is not reachable ({state})")
        self.target = target
        self.state = state


class AlreadyRunning(TelewatchError):
    """Another telewatch process holds the session lock."""

    exit_code = 8


class Interrupted(TelewatchError):
    """Stopped by Ctrl-C; the message says what was kept and how to go on."""

    exit_code = 130
