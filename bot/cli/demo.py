"""`telewatch demo`: the whole pipeline on a bundled replay, into a fresh SQLite database."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

import config
from bot.alerts.summary import undelivered_lines
from bot.app.runtime import open_runtime
from bot.cli.params import BoundedFloat
from bot.cli.root import CliContext, cli, pass_ctx, stoppable
from bot.cli.undelivered import report_undelivered
from bot.domain.errors import TelewatchError
from bot.ingest.importer import replay_items
from bot.sources import open_source
from storage.demo_mark import mark_demo_database, read_demo_mark, seal_demo_database
from storage.store import Store

DEMO_DIR = Path(config.__file__).resolve().parent / "demo"
DEFAULT_DEMO_DB = Path("data/demo.db")


class NotADemoDatabase(TelewatchError):
    """The demo was pointed at a database it did not create (a usage error): it refuses to empty it."""

    exit_code = 2


def fresh_database(path: Path) -> None:
    """Remove an earlier demo database (and its WAL files) so every demo starts clean.

    Only a database the demo created itself (its mark in `meta`) and nothing else wrote posts to is
    removed (its content fingerprint still the one the demo recorded); anything else is refused with NotADemoDatabase and left untouched.
    """
    side = [Path(f"{path}{suffix}") for suffix in ("-wal", "-shm")]
    hint = (
        "give the demo a file of its own: leave --db / TELEWATCH_DB unset (data/demo.db) or name a new file"
    )
    if not path.exists():
        if side[0].exists():
            raise NotADemoDatabase(
                f"refusing to use {path} for the demo: a write-ahead log {side[0]} of another database is there",
                hint=hint,
            )
        return
    if path.is_file() and path.stat().st_size == 0 and not side[0].exists():
        return  # an empty file holds nothing to lose
    mark = read_demo_mark(path)
    if mark is None or not mark.created_by_demo:
        what = "not a telewatch database" if mark is None else f"a telewatch database with {mark.posts} posts"
        raise NotADemoDatabase(
            f"refusing to use {path} for the demo: it was not created by `telewatch demo` ({what}), "
            "and the demo starts by emptying its database; use another --db",
            hint=hint,
        )
    if mark.changed or (mark.demo_posts is not None and mark.posts != mark.demo_posts):
        raise NotADemoDatabase(
            f"refusing to empty {path}: it was created by `telewatch demo` but changed since "
            "(something else wrote to it); use another --db",
            hint=hint,
        )
    for candidate in (path, *side):
        candidate.unlink(missing_ok=True)


def _selects_postgresql(config_path: Path) -> bool:
    """Whether the user's config file sets [storage] url (read leniently: the demo never loads it)."""
    import tomllib

    try:
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    storage = data.get("storage")
    return isinstance(storage, dict) and bool(storage.get("url"))


@cli.command()
@click.option(
    "--speed",
    default=1.0,
    show_default=True,
    type=BoundedFloat(0),
    help="Replay speed factor; 0 = no pauses at all.",
)
@click.option(
    "--scenario",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEMO_DIR / "scenario.jsonl",
    show_default="bundled cross-border incursion scenario",
    help="Replay this file instead of the bundled scenario.",
)
@pass_ctx
@stoppable
async def demo(ctx: CliContext, speed: float, scenario: Path) -> None:
    """Replay a bundled day of posts (ru/uk/en) through telewatch and print the alerts as they fire.

    Uses the bundled config (config/demo/demo.toml) and a fresh SQLite database (data/demo.db, or --db),
    also when --config selects PostgreSQL ([storage] url; its first line says so).
    It only ever replaces a database an earlier demo created; any other file is refused (exit 2).
    No Telegram account or network is needed.
    """
    from bot.rules import compile_rules
    from config.loader import load

    settings = load(DEMO_DIR / "demo.toml", ctx.environ, check_rules=compile_rules)
    db_path = ctx.db_override or DEFAULT_DEMO_DB
    if _selects_postgresql(ctx.config_path):
        # A self-contained walkthrough: it never touches the configured archive, and says so first.
        ctx.console.print(
            f"demo: uses its own SQLite file {escape(str(db_path))} and the bundled config, "
            f"not {escape('[storage]')} url of {escape(str(ctx.config_path))} (the demo does not run on "
            "PostgreSQL)",
            highlight=False,
            soft_wrap=True,
        )
    settings = dataclasses.replace(settings, storage=dataclasses.replace(settings.storage, path=db_path))
    fresh_database(db_path)
    async with await Store.open(db_path) as store:
        await mark_demo_database(store)  # before any post: this file is the demo's to empty next time
    out = ctx.console
    out.rule("[bold]telewatch demo[/bold]")
    out.print(
        f"Replaying [bold]{scenario.name}[/bold] at {speed:g}× into [bold]{db_path}[/bold] "
        f"with {len(settings.rules)} rules over {len(settings.channels)} channels.\n"
    )
    async with open_runtime(settings, db_path, console=out) as rt:
        report = await replay_items(
            open_source(scenario),
            rt.pipeline,
            rt.dispatcher,
            speed=speed,
            on_bad=lambda b: ctx.err_console.print(f"[yellow]bad record[/yellow] {escape(str(b))}"),
        )
        channels = len(await rt.store.channels.all())
        merged = (await rt.store.alerts.counts()).get("suppressed", 0)
        undelivered = await undelivered_lines(rt.store, rt.dispatcher.sinks)
    seal_demo_database(db_path)  # after the runtime closed: nothing of the demo writes after this
    r = report.result
    summary = Table(title="demo summary", show_header=False)
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    for name, value in (
        ("channels", channels),
        ("posts stored", r.new),
        ("edits kept as versions", r.edited),
        ("deletions marked", r.deleted),
        ("rule matches", r.matches),
        ("alerts delivered", report.alerts_sent),
        ("reposts merged into an earlier alert", merged),
        ("bad records", report.bad_count),
        ("elapsed", f"{report.seconds:.1f} s"),
    ):
        summary.add_row(name, str(value))
    out.print()
    out.print(summary)
    db = str(db_path)
    out.print(
        "\nNow look around the archive:\n"
        f"  telewatch --db {db} posts search Суджа\n"
        f"  telewatch --db {db} posts recent --label official\n"
        f"  telewatch --db {db} posts show 1\n"
        f"  telewatch --db {db} alerts list\n"
        "(inside the checkout without an activated venv, prefix with .venv/bin/)"
    )
    report_undelivered(ctx, undelivered, delivered=report.alerts_sent)
