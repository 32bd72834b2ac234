"""The command line: `telewatch` and its subcommands. Only here do errors become messages and exit codes."""

from __future__ import annotations

import os
import sqlite3
import sys

import click

# Each module registers its commands on `cli` when imported.
from bot.cli import alerts_cmds, config_cmds, demo, importing, maintenance, ops, posts  # noqa: F401
from bot.cli import learn as _learn  # noqa: F401  (after rules: adds `rules learn`)
from bot.cli import live as _live  # noqa: F401
from bot.cli import migrate_cmd as _migrate  # noqa: F401
from bot.cli import rules as _rules  # noqa: F401
from bot.cli import trends as _trends  # noqa: F401
from bot.cli import web as _web  # noqa: F401
from bot.cli.logs import json_requested, say, use_json
from bot.cli.root import cli
from bot.domain.errors import Interrupted, StorageError, TelewatchError

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the CLI, turn TelewatchError into one line plus a hint."""
    args = argv if argv is not None else sys.argv[1:]
    debug = "--debug" in args
    use_json(json_requested(args))
    try:
        cli.main(args=argv, prog_name="telewatch", standalone_mode=False)
    except Interrupted as e:  # Ctrl-C: what was kept, not an error
        click.echo(e.message, err=True)
        return e.exit_code
    except TelewatchError as e:
        if debug:
            raise
        say("error", e.message, e.hint)
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.UsageError as e:  # a bad option or argument: one line and where to read about it
        message = " ".join(e.format_message().split())
        command = e.ctx.command_path if e.ctx is not None else "telewatch"
        variable = _from_environment(e)
        if variable is not None:  # the value came from the environment: name the variable, not the option
            message = f"environment variable {variable}: {message}"
            return _fail(message, f"fix or unset {variable} (see `{command} --help`)", e.exit_code)
        return _fail(message, f"see `{command} --help`", e.exit_code)
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Exit as e:
        return int(e.exit_code or 0)
    except sqlite3.Error as e:  # a storage fault the storage layer did not name: still one line
        if debug:
            raise
        return _fail(f"database error: {e}", "run with --debug for details", StorageError.exit_code)
    except OSError as e:
        if debug:
            raise
        where = f"{e.filename}: " if e.filename else ""
        return _fail(f"{where}{e.strerror or e}", "check the path, its permissions and free space", 1)
    except Exception as e:  # a bug: one line, and the traceback with --debug
        if debug:
            raise
        return _fail(
            f"unexpected {type(e).__name__}: {e}",
            "run again with --debug for the traceback, and report it",
            1,
        )
    return 0


def _from_environment(e: click.UsageError) -> str | None:
    """The environment variable a bad option value was read from, if it was."""
    from click.core import ParameterSource

    param = getattr(e, "param", None)
    if e.ctx is None or param is None or param.name is None:
        return None
    if e.ctx.get_parameter_source(param.name) is not ParameterSource.ENVIRONMENT:
        return None
    envvar = getattr(param, "envvar", None)
    if isinstance(envvar, str):
        return envvar
    if isinstance(envvar, list | tuple):
        return next((v for v in envvar if v in os.environ), None)
    return None


def _fail(message: str, hint: str, code: int) -> int:
    say("error", message, hint)
    return code
