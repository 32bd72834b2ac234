"""`telewatch import` (bulk archives) and `telewatch replay` (live-like, with alerts)."""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from bot.alerts.summary import undelivered_lines
from bot.app.runtime import open_runtime
from bot.cli.output import print_json
from bot.cli.params import BoundedFloat, BoundedInt
from bot.cli.root import CliContext, cli, pass_ctx, run_stoppable, stoppable
from bot.cli.tables import Col, fitted_table
from bot.cli.undelivered import report_undelivered
from bot.domain.errors import Interrupted, SourceError, TelewatchError
from bot.ingest.importer import ImportReport, import_items, replay_items
from bot.sources import FORMATS, Source, open_source

FORMAT_CHOICE = click.Choice(sorted(FORMATS))


def report_dict(path: Path, fmt: str, report: ImportReport) -> dict[str, object]:
    r = report.result
    return {
        "file": str(path),
        "format": fmt,
        "new": r.new,
        "updated": r.updated + r.edited,
        "edited": r.edited,
        "unchanged": r.unchanged,
        "deleted": r.deleted,
        "matches": r.matches,
        "alerts": r.alerts,
        "bad": report.bad_count,
        "bad_records": [{"position": b.position, "reason": b.reason} for b in report.bad],
        "seconds": round(report.seconds, 3),
        "posts_per_second": round(report.rate),
    }


def print_report(ctx: CliContext, rows: list[dict[str, object]], show_bad: int) -> None:
    counts = ("new", "updated", "unchanged", "deleted", "matches", "bad", "posts_per_second")
    cells = [
        [escape(Path(str(row["file"])).name), str(row["format"]), *(str(row[k]) for k in counts)]
        for row in rows
    ]
    optional = {"updated": 2, "unchanged": 3, "deleted": 1}  # hidden in that order when narrow
    columns = (
        Col("file", "text"),
        Col("format", drop=4),
        *(Col(name, "key", "right", drop=optional.get(name, 0)) for name in counts[:-1]),
        Col("posts/s", "key", "right", drop=5),
    )
    ctx.console.print(fitted_table(ctx.console, columns, cells, title="import"))
    for row in rows:
        bad = row["bad_records"]
        assert isinstance(bad, list)
        for record in bad[:show_bad]:
            ctx.err_console.print(
                f"[yellow]bad record[/yellow] {escape(str(row['file']))} {escape(record['position'])}: "
                f"{escape(record['reason'])}"
            )
        if len(bad) > show_bad or int(str(row["bad"])) > len(bad[:show_bad]):
            hidden = int(str(row["bad"])) - min(show_bad, len(bad))
            if hidden > 0:
                ctx.err_console.print(f"[dim]… and {hidden} more bad records (--json lists them)[/dim]")


STDIN = Path("-")
STDIN_NAME = "standard input"
SPOOL_CHUNK = 1 << 20
SPOOL_RESERVE = 512 << 20  # free space left on the spool's disk (at most 5% of it): the import needs room


def spool_stdin(folder: Path) -> Path:
    """Copy standard input to a file (formats are detected from their start, and a Telegram Desktop
    export is read twice), stopping with one line when its disk runs low or on Ctrl-C."""
    target = folder / "stdin"
    if sys.stdin.isatty():
        click.echo("reading posts from standard input; end with Ctrl-D", err=True)
    stdin = sys.stdin.buffer
    usage = shutil.disk_usage(folder)
    reserve = min(SPOOL_RESERVE, usage.total // 20)
    copied = 0
    try:
        with target.open("wb") as out:
            while chunk := stdin.read(SPOOL_CHUNK):
                if shutil.disk_usage(folder).free - len(chunk) < reserve:
                    raise TelewatchError(
                        f"{STDIN_NAME}: stopped copying it after {copied >> 20:,} MiB: the disk of "
                        f"{folder.parent} would have less than {reserve >> 20:,} MiB free; nothing was imported",
                        hint="save the input to a file on a disk with room and import that file "
                        "(or point TMPDIR at a bigger disk)",
                    )
                out.write(chunk)
                copied += len(chunk)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while reading {STDIN_NAME}; nothing was imported") from None
    return target


def folder_sources(ctx: CliContext, folder: Path, fmt: str | None) -> list[Source]:
    """Every importable file in a folder, by name; a Telegram Desktop export folder is one source."""
    if (folder / "result.json").is_file():
        return [open_source(folder, format=fmt)]
    sources: list[Source] = []
    skipped = 0
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        try:
            sources.append(open_source(path, format=fmt))
        except SourceError as e:
            skipped += 1
            ctx.warn(f"skipped {e.message}")
    if not sources:
        raise SourceError(
            f"{folder}: no file in it is a telewatch JSONL, Telegram Desktop export or Telethon dump"
            + (f" ({skipped} skipped)" if skipped else " (it is empty)"),
            hint="give the files to import, or name their format with --format",
        )
    return sources


def open_sources(
    ctx: CliContext, paths: tuple[Path, ...], fmt: str | None, spool: Path
) -> tuple[list[Source], dict[Path, str]]:
    """Sources for files, folders and `-` (standard input), and the names to report them by."""
    sources: list[Source] = []
    names: dict[Path, str] = {}
    for path in paths:
        if path == STDIN:
            if any(names.get(s.path) == STDIN_NAME for s in sources):
                raise click.BadParameter("'-' (standard input) can be given once", param_hint="FILES")
            source = open_source(spool_stdin(spool), format=fmt, name=STDIN_NAME)
            names[source.path] = STDIN_NAME
            sources.append(source)
        elif path.is_dir():
            sources.extend(folder_sources(ctx, path, fmt))
        else:
            sources.append(open_source(path, format=fmt))
    return sources, names


@cli.command("import")
@click.argument(
    "files",
    nargs=-1,
    required=True,
    type=click.Path(allow_dash=True, path_type=Path),  # a missing file is a SourceError (exit 3)
)
@click.option("--format", "fmt", type=FORMAT_CHOICE, help="Skip detection and read FILES as this format.")
@click.option(
    "--alert", is_flag=True, help="Also alert on matching imported posts (off: archives are old news)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--show-bad",
    default=10,
    show_default=True,
    type=BoundedInt(0),
    help="How many bad records to print.",
)
@pass_ctx
def import_cmd(
    ctx: CliContext, files: tuple[Path, ...], fmt: str | None, alert: bool, as_json: bool, show_bad: int
) -> None:
    """Import posts from files: telewatch JSONL, Telegram Desktop exports (result.json), Telethon dumps.

    FILES may be folders (every importable file in them, by name; an export folder with result.json
    is one export) and `-` for standard input. The format is detected from the content. Re-importing is safe: known posts are left alone,
    changed texts are stored as new versions. Bad records are reported with their position and
    skipped; they never stop the import. Matches are recorded; alerts only with --alert.
    """
    # The copy of standard input is made before the event loop starts, so Ctrl-C stops it at once
    # (inside asyncio.run a blocking read only marked the task cancelled); the folder goes either way.
    with tempfile.TemporaryDirectory(prefix="telewatch-import-") as spool:
        sources, names = open_sources(ctx, files, fmt, Path(spool))
        run_stoppable(import_sources(ctx, sources, names, alert=alert, as_json=as_json, show_bad=show_bad))


async def import_sources(
    ctx: CliContext,
    sources: list[Source],
    names: dict[Path, str],
    *,
    alert: bool,
    as_json: bool,
    show_bad: int,
) -> None:
    """Import each source in turn, with a progress bar, then print one report row per source."""
    rows: list[dict[str, object]] = []
    undelivered = []
    delivered = 0
    async with open_runtime(ctx.settings, ctx.database, console=ctx.console) as rt:
        first_alert = await rt.store.alerts.max_id()
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            MofNCompleteColumn(),
            TextColumn("{task.fields[posts]} posts"),
            TimeRemainingColumn(),
            console=ctx.err_console,
            disable=as_json or not ctx.err_console.is_terminal,
            transient=True,
        ) as progress:
            stored = 0
            for source in sources:
                label = names.get(source.path, source.path.name)
                task = progress.add_task(label, total=source.size_hint(), posts=0)

                def advance(report: ImportReport, task_id: TaskID = task, src: Source = source) -> None:
                    progress.update(task_id, completed=src.bytes_read, posts=report.result.stored)

                report = ImportReport()
                try:
                    await import_items(source, rt.pipeline, alert=alert, on_batch=advance, report=report)
                except asyncio.CancelledError:  # Ctrl-C: every counted batch is committed, none half
                    raise Interrupted(
                        f"interrupted; {stored + report.result.stored:,} posts stored, "
                        "run the same import again to resume"
                    ) from None
                stored += report.result.stored
                progress.update(task, completed=source.size_hint(), posts=report.result.stored)
                rows.append(
                    report_dict(Path(names.get(source.path, str(source.path))), source.format, report)
                )
            if alert:
                delivered = (await rt.dispatcher.run_once()).sent
                undelivered = await undelivered_lines(rt.store, rt.dispatcher.sinks, first_alert)
        media = await link_export_files(rt, alert=alert)
    if as_json:
        for row in rows:
            row["media"] = media
        print_json(rows if len(rows) > 1 else rows[0])
    else:
        print_report(ctx, rows, show_bad)
        if media["linked"] or media["skipped"] or media["failed"]:
            ctx.console.print(
                f"media: {media['linked']} files the export ships archived ({media['bytes_stored']:,} bytes new, "
                f"{media['deduplicated']} already there), {media['skipped']} skipped, {media['failed']} failed"
            )
            for problem in media["problems"][:5]:
                ctx.warn(f"media: {problem}")
    report_undelivered(ctx, undelivered, delivered=delivered)


async def link_export_files(rt: Any, *, alert: bool = False) -> dict[str, Any]:
    """Archive the files an imported export ships (content-addressed, as `run` stores downloads)."""
    from bot.media.archiver import MediaArchiver

    settings = rt.settings.media
    if not settings.download:
        return {"linked": 0, "deduplicated": 0, "skipped": 0, "failed": 0, "bytes_stored": 0, "problems": []}
    archiver = MediaArchiver(
        rt.store.media,
        lambda: settings,
        on_ocr=lambda post_id, text: rt.pipeline.ocr_text(post_id, text, alert=alert),
    )
    report = await archiver.drain()
    return {
        "linked": report.stored,
        "deduplicated": report.deduplicated,
        "skipped": report.skipped,
        "failed": report.failed,
        "bytes_stored": report.bytes_stored,
        "problems": report.problems,
    }


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=FORMAT_CHOICE, help="Skip detection and read FILE as this format.")
@click.option(
    "--speed",
    default=1.0,
    type=BoundedFloat(0),
    show_default=True,
    help="Replay this many times faster than the pauses; 0 = no pauses.",
)
@pass_ctx
@stoppable
async def replay(ctx: CliContext, file: Path, fmt: str | None, speed: float) -> None:
    """Replay FILE as if its posts arrived live: store, match, and alert through the configured routes."""
    source = open_source(file, format=fmt)
    async with open_runtime(ctx.settings, ctx.database, console=ctx.console) as rt:
        first_alert = await rt.store.alerts.max_id()
        report = await replay_items(
            source,
            rt.pipeline,
            rt.dispatcher,
            speed=speed,
            on_bad=lambda b: ctx.err_console.print(f"[yellow]bad record[/yellow] {escape(str(b))}"),
        )
        undelivered = await undelivered_lines(rt.store, rt.dispatcher.sinks, first_alert)
    r = report.result
    ctx.console.print(
        f"replayed {r.stored} posts ({r.new} new, {r.edited} edited, {r.deleted} deleted), "
        f"{r.matches} matches, {report.alerts_sent} alerts delivered, {report.bad_count} bad records"
    )
    report_undelivered(ctx, undelivered, delivered=report.alerts_sent)
