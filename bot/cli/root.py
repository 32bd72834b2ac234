"""The `telewatch` command group, its global options, and the context every command shares."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from functools import cached_property, wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from bot import __version__
from bot.app.backend import PgLocation
from bot.cli.logs import configure as configure_logs
from bot.cli.logs import say
from bot.domain.errors import Interrupted, StorageError
from config.settings import Settings

T = TypeVar("T")

DEFAULT_CONFIG = Path("config/telewatch.toml")


@dataclass
class CliContext:
    """What the global options decided; commands load settings and open storage through it."""

    config_path: Path
    db_override: Path | None
    debug: bool
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    console: Console = field(default_factory=Console)
    err_console: Console = field(default_factory=lambda: Console(stderr=True))
    # Set by commands that deliver nothing (backup, db stats/prune, health...): a route's ${SECRET} that is
    # unset does not stop them, and routes are not checked.
    delivers: bool = True

    @property
    def _default_config_missing(self) -> bool:
        explicit = self.config_path != DEFAULT_CONFIG or "TELEWATCH_CONFIG" in self.environ
        return not explicit and not self.config_path.exists()

    @cached_property
    def settings(self) -> Settings:
        """Settings from the config file; defaults (with a warning) when the default file does not exist."""
        from bot.rules import compile_rules
        from config.env import env_warnings
        from config.loader import load  # imported late: `telewatch --help` should not pay for it

        for warning in env_warnings(self.config_path, self.environ):
            self.warn(warning)
        if self._default_config_missing:
            self.warn(
                f"no config file at {self.config_path}: no channels, rules or routes "
                "(create it with `telewatch init`, or pass --config)"
            )
            return Settings()
        from bot.alerts.sinks import check_routes

        settings = load(
            self.config_path, self.environ, check_rules=compile_rules, route_secrets=self.delivers
        )
        if self.delivers:
            check_routes(settings)  # each route names a registered sink, with the target it needs
        return settings

    @property
    def database(self) -> Path | PgLocation:
        """The database the commands open: --db (an SQLite file), else [storage] url, else [storage] path."""
        if self.db_override is not None:
            return self.db_override
        if self._default_config_missing:
            return Settings().storage.path  # only the path is needed: no warning about rules
        storage = self.settings.storage
        if storage.url is None:
            return storage.path
        from config.env import DB_PASSWORD, lookup

        found = lookup(DB_PASSWORD, self.config_path, self.environ)
        return PgLocation(storage.url, found.value if found else None)

    @property
    def db_path(self) -> Path:
        """The SQLite file, for the commands that work on the file itself (backup, stats, prune...)."""
        database = self.database
        if isinstance(database, PgLocation):
            command = click.get_current_context(silent=True)
            name = command.command_path if command is not None else "this command"
            raise StorageError(
                f"not supported on PostgreSQL yet: {name} works on an SQLite file, and [storage] url "
                f"selects {database}",
                hint="use PostgreSQL's own tools (pg_dump, psql), or pass --db FILE for an SQLite archive",
            )
        return database

    def warn(self, message: str) -> None:
        """One line on stderr about something suspicious that does not stop the command."""
        say("warning", message)


def run_async(fn: Callable[..., Awaitable[T]]) -> Callable[..., T]:
    """Run a coroutine command function to completion with asyncio.run."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        return asyncio.run(fn(*args, **kwargs))  # type: ignore[arg-type]

    return wrapper


def run_stoppable(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run for commands that store as they go (import, replay, demo): the first SIGINT or SIGTERM
    cancels `main` once and later ones wait for its clean-up (the database is closed before the loop,
    the matcher worker is shut down), so the command ends with one line: an `Interrupted` it raised
    (or "aborted"), worded "stopped (SIGTERM)" and exit 143 for SIGTERM, 130 for Ctrl-C."""
    received: list[signal.Signals] = []

    async def guarded() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def stop(sig: signal.Signals) -> None:
            if not received:
                received.append(sig)
                task.cancel()

        # signal handlers belong to the main thread (a test may run a command in another one)
        main_thread = threading.current_thread() is threading.main_thread()
        stoppers = (signal.SIGINT, signal.SIGTERM) if main_thread else ()
        for sig in stoppers:
            loop.add_signal_handler(sig, stop, sig)
        try:
            return await main
        finally:
            for sig in stoppers:  # from here on Ctrl-C is Python's again (entry point: "aborted")
                loop.remove_signal_handler(sig)

    try:
        return asyncio.run(guarded())
    except asyncio.CancelledError:
        if not received:
            raise
        raise _stopped(Interrupted("aborted"), received[0]) from None
    except Interrupted as e:
        raise (_stopped(e, received[0]) if received else e) from None


def _stopped(e: Interrupted, sig: signal.Signals) -> Interrupted:
    if sig == signal.SIGTERM:
        words = e.message.removeprefix("interrupted").removeprefix("aborted")
        e.message = "stopped (SIGTERM)" + (words or "")
        e.exit_code = 128 + signal.SIGTERM
    return e


def stoppable(fn: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    """`run_async` through `run_stoppable`."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        return run_stoppable(fn(*args, **kwargs))

    return wrapper


pass_ctx = click.make_pass_decorator(CliContext)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="TELEWATCH_CONFIG",
    default=DEFAULT_CONFIG,
    show_default=True,
    help="TOML configuration file (env TELEWATCH_CONFIG).",
)
@click.option(
    "--db",
    "db_override",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="TELEWATCH_DB",
    default=None,
    help="SQLite database; overrides [storage] path (env TELEWATCH_DB).",
)
@click.option("--debug", is_flag=True, envvar="TELEWATCH_DEBUG", help="Log verbosely; show tracebacks.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    envvar="TELEWATCH_LOG_FORMAT",
    default="text",
    show_default=True,
    help="Logs on stderr as text lines, or one JSON object per line for log shippers.",
)
@click.version_option(__version__, prog_name="telewatch")
@click.pass_context
def cli(
    ctx: click.Context, config_path: Path, db_override: Path | None, debug: bool, log_format: str
) -> None:
    """telewatch: watch Telegram channels, keep every post, flag keyword matches, alert a chat.

    \b
    Start here:   telewatch demo           (no Telegram needed)
    Then:         telewatch init && telewatch login && telewatch run
    Exit codes:   0 ok, 1 error, 2 bad config or usage, 3 bad input file, 4 database,
                  5 not found, 6 Telegram refused, 7 not signed in, 8 already running,
                  9 cannot reach Telegram, 130 interrupted, 143 stopped by SIGTERM
                  (import, replay, demo)
    """
    configure_logs(logging.DEBUG if debug else logging.WARNING, log_format)
    if not debug:
        # Telethon logs each of its connection attempts; telewatch reports them itself, in one line.
        logging.getLogger("telethon").setLevel(logging.ERROR)
    ctx.obj = CliContext(config_path=config_path, db_override=db_override, debug=debug)
