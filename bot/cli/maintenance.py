"""`telewatch backup`, `restore` and `db stats`: keep the database safe and see what it holds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bot.cli.output import print_json
from bot.cli.root import CliContext, cli, pass_ctx, run_async
from bot.domain.errors import AlreadyRunning, StorageError
from bot.watch.lock import InstanceLock
from storage import backup as backups
from storage.stats import collect, human_bytes


@contextmanager
def _progress(ctx: CliContext, label: str, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=ctx.err_console,
        disable=quiet or not ctx.err_console.is_terminal,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def _result_dict(result: backups.CopyResult, source: Path) -> dict[str, Any]:
    return {
        "source": str(source),
        "path": str(result.path),
        "bytes": result.bytes,
        "seconds": round(result.seconds, 3),
        "verify_seconds": round(result.verify_seconds, 3),
        "integrity": result.integrity,
        "source_counts": result.source_counts,
        "copy_counts": result.copy_counts,
        "consistent": result.consistent,
        "set_aside": str(result.set_aside) if result.set_aside else None,
        "stale_moved": {str(a): str(b) for a, b in result.stale_moved},
    }


def _print_counts(ctx: CliContext, result: backups.CopyResult, left: str, right: str) -> None:
    table = Table(box=None, pad_edge=False)
    table.add_column("table")
    table.add_column(left, justify="right")
    table.add_column(right, justify="right")
    for name, count in result.source_counts.items():
        copied = result.copy_counts.get(name, 0)
        mark = "" if copied == count else " [red]differs[/red]"
        table.add_row(name, f"{count:,}", f"{copied:,}{mark}")
    ctx.console.print(table)


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_ctx
def backup(ctx: CliContext, path: Path, as_json: bool) -> None:
    """Copy the database to PATH (a new file, or a folder for a dated file), safely while `run` writes.

    \b
    The copy is one consistent snapshot (SQLite's online backup API), checked with
    PRAGMA integrity_check; it never overwrites an existing file. Restore it with
    `telewatch restore PATH`. Exit code 4 when the copy cannot be made.
    """
    ctx.delivers = False  # sends nothing: a route's unset ${SECRET} is no reason to refuse
    source = ctx.db_path
    with _progress(ctx, f"backing up {source.name}", as_json) as progress:
        result = backups.backup(source, path, progress=progress)
    if as_json:
        print_json(_result_dict(result, source))
    else:
        ctx.console.print(
            f"backup written: {escape(str(result.path))} ({human_bytes(result.bytes)}, {result.seconds:.1f} s; "
            f"integrity check {result.integrity} in {result.verify_seconds:.1f} s)"
        )
        _print_counts(ctx, result, "database", "backup")
    if not result.consistent:
        raise StorageError(
            f"the backup {result.path} does not match the database (integrity: {result.integrity})",
            hint="check the disk the backup was written to, and run the backup again",
        )


@cli.command()
@click.argument("backup_file", metavar="BACKUP", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--replace",
    is_flag=True,
    help="Replace an existing database; it is kept beside it as NAME.before-restore-DATE.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_ctx
def restore(ctx: CliContext, backup_file: Path, replace: bool, as_json: bool) -> None:
    """Make the database (--db / [storage] path) a copy of BACKUP, then compare row counts.

    \b
    Refuses while `telewatch run` holds the session lock, refuses a damaged or
    foreign file, and never deletes the database it replaces: with --replace that
    one is renamed to NAME.before-restore-DATE. Exit code 4 on a database problem,
    8 while telewatch runs.
    """
    ctx.delivers = False  # sends nothing: a route's unset ${SECRET} is no reason to refuse
    target = ctx.db_path
    _refuse_while_running(ctx)
    with _progress(ctx, f"restoring {backup_file.name}", as_json) as progress:
        result = backups.restore(backup_file, target, replace=replace, progress=progress)
    if as_json:
        print_json(_result_dict(result, backup_file))
    else:
        ctx.console.print(
            f"restored {escape(str(backup_file))} into {escape(str(result.path))} ({human_bytes(result.bytes)}, "
            f"{result.seconds:.1f} s; integrity check {result.integrity})"
        )
        if result.set_aside:
            ctx.console.print(f"the database it replaced is kept at {escape(str(result.set_aside))}")
    for stray, to in result.stale_moved:
        ctx.warn(f"{stray} was left from another database; moved it to {to} (not used)")
        _print_counts(ctx, result, "backup", "restored")
    if not result.consistent:
        raise StorageError(
            f"the restored database {result.path} does not match {backup_file}",
            hint="check the disk; the previous database was kept"
            + (f" at {result.set_aside}" if result.set_aside else ""),
        )


def _refuse_while_running(ctx: CliContext) -> None:
    from bot.telegram.client import lock_path  # late: Telethon loads only when needed

    holder = InstanceLock(lock_path(ctx.settings.telegram)).holder()
    if holder is not None:
        raise AlreadyRunning(
            f"telewatch run is running (pid {holder}); restoring under it would lose its writes",
            hint="stop it (systemctl stop telewatch, or Ctrl-C) and restore again",
        )


@cli.group()
def db() -> None:
    """Look after the database: sizes (stats); see also `backup`, `restore` and `prune`."""


@db.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_ctx
def stats(ctx: CliContext, as_json: bool) -> None:
    """Sizes of the database file, its WAL and each table, free space, the date range of posts."""
    ctx.delivers = False  # sends nothing: a route's unset ${SECRET} is no reason to refuse
    s = collect(ctx.db_path)
    if as_json:
        print_json(
            {
                "path": str(s.path),
                "file_bytes": s.file_bytes,
                "wal_bytes": s.wal_bytes,
                "page_size": s.page_size,
                "pages": s.pages,
                "free_bytes": s.free_bytes,
                "auto_vacuum": s.auto_vacuum,
                "schema_version": s.schema_version,
                "oldest_post": s.oldest_post,
                "newest_post": s.newest_post,
                "deleted_posts": s.deleted_posts,
                "alerts_by_status": s.alerts_by_status,
                "reviewed_relevant": s.reviewed_relevant,
                "media_by_state": s.media_by_state,
                "media_bytes": s.media_bytes,
                "tables": [{"name": t.name, "rows": t.rows, "bytes": t.bytes} for t in s.tables],
            }
        )
        return
    out = ctx.console
    out.print(
        f"{s.path}: {human_bytes(s.file_bytes)} (+ {human_bytes(s.wal_bytes)} WAL), "
        f"{human_bytes(s.free_bytes)} free inside, schema {s.schema_version}, auto_vacuum {s.auto_vacuum}"
    )
    if s.oldest_post:
        out.print(
            f"posts from {s.oldest_post[:10]} to {(s.newest_post or '')[:10]}, {s.deleted_posts:,} deleted"
        )
    if s.alerts_by_status:
        states = ", ".join(f"{n:,} {k}" for k, n in sorted(s.alerts_by_status.items()))
        out.print(f"alerts: {states}; {s.reviewed_relevant:,} marked relevant")
    if s.media_by_state:
        states = ", ".join(f"{n:,} {k}" for k, n in sorted(s.media_by_state.items()))
        out.print(f"media archive: {human_bytes(s.media_bytes)} in distinct files; attachments: {states}")
    table = Table(box=None, pad_edge=False)
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("size", justify="right")
    for t in s.tables:
        table.add_row(t.name, f"{t.rows:,}", human_bytes(t.bytes))
    out.print(table)


@db.command()
@click.option("--dry-run", is_flag=True, help="Count what would be pruned; change nothing.")
@click.option(
    "--include-relevant", is_flag=True, help="Prune posts with alerts marked relevant too (kept otherwise)."
)
@click.option(
    "--vacuum", is_flag=True, help="Rewrite the file (VACUUM) to return all free space to the disk."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_ctx
@run_async
async def prune(ctx: CliContext, dry_run: bool, include_relevant: bool, vacuum: bool, as_json: bool) -> None:
    """Delete posts older than [storage] keep_days (per-label overrides) with their media, then reclaim space.

    \b
    Posts whose alerts were marked relevant are kept unless --include-relevant;
    posts with alerts still waiting in the outbox are always kept. `run` prunes
    once a day by itself when keep_days or an override is set. Exit code 4 on a
    database problem.
    """
    ctx.delivers = False  # sends nothing: a route's unset ${SECRET} is no reason to refuse
    from bot.app.maintenance import run_prune  # late: opening the composition root loads the rules

    settings = ctx.settings
    with Progress(
        TextColumn("[bold]pruning"),
        TextColumn("{task.fields[posts]:,} posts"),
        console=ctx.err_console,
        disable=as_json or dry_run or not ctx.err_console.is_terminal,
        transient=True,
    ) as bar:
        task = bar.add_task("prune", total=None, posts=0)
        report, plans = await run_prune(
            settings,
            ctx.db_path,
            dry_run=dry_run,
            include_relevant=include_relevant,
            vacuum=vacuum,
            on_batch=lambda r: bar.update(task, posts=r.posts),
        )
    if as_json:
        print_json(
            {
                "dry_run": report.dry_run,
                "posts": report.posts,
                "versions": report.versions,
                "alerts": report.alerts,
                "media_files": report.media_files,
                "media_bytes": report.media_bytes,
                "kept_relevant": report.kept_relevant,
                "kept_pending": report.kept_pending,
                "freed_bytes": report.freed_bytes,
                "free_bytes_left": report.free_bytes_left,
                "per_channel": report.per_channel,
                "policies": [{"channel": p.name, "days": p.days, "by": p.reason} for p in plans],
                "media_errors": report.media_errors,
            }
        )
    else:
        _print_prune(ctx, report, plans)
    for problem in report.media_errors[:5]:
        ctx.warn(f"media file not removed: {problem}")


def _print_prune(ctx: CliContext, report: Any, plans: list[Any]) -> None:
    out = ctx.console
    if not any(p.days > 0 for p in plans):
        out.print(
            escape(
                "nothing to prune: posts are kept forever "
                "(set [storage] keep_days or [storage.keep_days_by_label] in the config)"
            )
        )
        return
    verb = "would prune" if report.dry_run else "pruned"
    out.print(
        f"{verb} {report.posts:,} posts ({report.versions:,} earlier versions, {report.alerts:,} alerts, "
        f"{report.media_files:,} media files, {human_bytes(report.media_bytes)})"
    )
    if report.kept_relevant:
        out.print(
            f"kept {report.kept_relevant:,} old posts with alerts marked relevant (--include-relevant prunes them)"
        )
    if report.kept_pending:
        out.print(f"kept {report.kept_pending:,} old posts whose alerts are still waiting to be sent")
    if not report.dry_run:
        out.print(
            f"space returned to the disk: {human_bytes(report.freed_bytes)}; "
            f"free inside the file: {human_bytes(report.free_bytes_left)}"
            + (" (telewatch db prune --vacuum returns it)" if report.free_bytes_left > 1 << 20 else "")
        )
    table = Table(box=None, pad_edge=False)
    table.add_column("channel")
    table.add_column("keep", justify="right")
    table.add_column("by")
    table.add_column(verb, justify="right")
    for p in plans:
        keep = "forever" if p.days <= 0 else f"{p.days} d"
        table.add_row(p.name, keep, p.reason, f"{report.per_channel.get(p.name, 0):,}")
    out.print(table)
