"""The command line: `telewatch` and its subcommands. Only here do errors become messages and exit codes."""

from __future__ import annotations

import sys

import click

# Each module registers its commands on `cli` when imported.
from bot.cli import alerts_cmds, config_cmds, demo, importing, posts  # noqa: F401
from bot.cli import live as _live  # noqa: F401
from bot.cli import rules as _rules  # noqa: F401
from bot.cli.root import cli
from bot.errors import TelewatchError

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the CLI, turn TelewatchError into one line plus a hint."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="telewatch", standalone_mode=False)
    except TelewatchError as e:
        if debug:
            raise
        click.secho(f"error: {e.message}", fg="red", err=True)
        if e.hint:
            click.echo(f"hint: {e.hint}", err=True)
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Exit as e:
        return int(e.exit_code or 0)
    return 0
