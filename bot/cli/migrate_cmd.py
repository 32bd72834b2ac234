"""`telewatch migrate --from FILE --to postgresql://...`: copy an SQLite archive into PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bot.app.backend import PgLocation
from bot.app.migrate import migrate_archive
from bot.cli.output import print_json
from bot.cli.params import BoundedInt
from bot.cli.root import CliContext, cli, pass_ctx, run_async
from bot.domain.errors import TelewatchError


class CountMismatch(TelewatchError):
    """The count check after a copy found tables with fewer (or more) rows in PostgreSQL."""

    exit_code = 1


def _target(ctx: CliContext, to: str | None) -> PgLocation:
    from config.env import DB_PASSWORD, lookup

    url = to
    if url is None:
        database = ctx.database
        if not isinstance(database, PgLocation):
            raise click.UsageError("name the PostgreSQL database with --to postgresql://user@host/db")
        return database
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise click.BadParameter("not a postgresql:// URL", param_hint="--to")
    if parts.password is not None:
        raise click.BadParameter(
            f"a password in the URL would show in the process list; put it in {DB_PASSWORD} "
            "(environment or .env) and write the URL without it",
            param_hint="--to",
        )
    found = lookup(DB_PASSWORD, ctx.config_path, ctx.environ)
    return PgLocation(url, found.value if found else None)


@cli.command("migrate")
@click.option(
    "--from",
    "source",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The SQLite archive to copy (default: --db or [storage] path).",
)
@click.option(
    "--to",
    "to",
    default=None,
    metavar="URL",
    help="postgresql://user@host[:port]/database (default: [storage] url); password in TELEWATCH_DB_PASSWORD.",
)
@click.option(
    "--batch", type=BoundedInt(100, 100_000), default=5000, show_default=True, help="Rows per commit."
)
@click.option("--json", "as_json", is_flag=True, help="Print the count check as JSON.")
@pass_ctx
@run_async
async def migrate(ctx: CliContext, source: Path | None, to: str | None, batch: int, as_json: bool) -> None:
    """Copy an SQLite archive into PostgreSQL: posts, versions, deletions, matches, alerts with their
    states and review marks, cursors, notices, everything. Resumable: run it again after an
    interruption and it continues after the last committed batch. Ends with a count check per table
    (exit 1 on a mismatch). Stop `telewatch run` on the SQLite file first."""
    target = _target(ctx, to)
    if source is None:
        source = ctx.db_override or ctx.settings.storage.path
    started = time.monotonic()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=ctx.err_console,
        disable=as_json or not ctx.err_console.is_terminal,
        transient=True,
    ) as progress:
        task = progress.add_task(f"{source.name} → {target!s}", total=None)
        done = 0
        plain = not as_json and not ctx.err_console.is_terminal
        reported = [0]

        def start(counts: dict[str, int]) -> None:
            progress.update(task, total=sum(counts.values()))

        def advance(table: str, rows: int) -> None:
            nonlocal done
            done += rows
            progress.update(task, completed=done, description=f"{table}")
            if plain and done - reported[0] >= 100_000:  # no terminal (a log): a line now and then
                reported[0] = done
                click.echo(f"copied {done} rows (now: {table})", err=True)

        counts = await migrate_archive(source, target, batch=batch, on_start=start, progress=advance)
    seconds = time.monotonic() - started
    bad = [c for c in counts if not c.ok]
    if as_json:
        print_json(
            {
                "source": str(source),
                "target": str(target),
                "seconds": round(seconds, 1),
                "rows_copied_now": done,
                "ok": not bad,
                "tables": [
                    {"table": c.table, "sqlite": c.source, "postgresql": c.target, "ok": c.ok} for c in counts
                ],
            }
        )
    else:
        table = Table("table", "SQLite", "PostgreSQL", "check", title=f"{source} → {target!s}")
        for c in counts:
            table.add_row(c.table, str(c.source), str(c.target), "ok" if c.ok else "[red]MISMATCH[/red]")
        ctx.console.print(table)
        ctx.console.print(f"{done} rows copied in {seconds:.1f} s")
    if bad:
        listed = ", ".join(f"{c.table} ({c.source} in SQLite, {c.target} in PostgreSQL)" for c in bad)
        raise CountMismatch(
            f"count check failed: {listed}",
            hint="was the SQLite file written meanwhile? stop telewatch run and run migrate again",
        )
