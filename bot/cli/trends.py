"""`telewatch trends`: the rule spikes and place/name surges in the archive now (or at a given time)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from rich.markup import escape
from rich.table import Table

from bot.app.backend import open_store
from bot.cli.output import When, print_json
from bot.cli.params import BoundedInt
from bot.cli.root import CliContext, cli, pass_ctx, run_async


@cli.command()
@click.option(
    "--at",
    "at",
    type=When(),
    metavar="TIME",
    help="Look at this moment instead of now: 2024-08-07T12:00 (UTC unless it has an offset), "
    "yesterday, 3d...",
)
@click.option("--limit", type=BoundedInt(1), default=20, show_default=True, help="Show at most this many.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_ctx
@run_async
async def trends(ctx: CliContext, at: datetime | None, limit: int, as_json: bool) -> None:
    """Show the rule spikes and the place/name surges in the archive: what `run` would alert on now.

    \b
    A spike: a rule's matches in the last hour far above the same hour of earlier weeks.
    A surge: a place or person named by many channels within minutes, rare the week before.
    Thresholds are in the [trends] section of the config; the README explains the statistic.
    """
    ctx.delivers = False  # sends nothing: a route's unset ${SECRET} is no reason to refuse
    from bot.alerts.trend_watch import TrendWatch, trend_rows

    settings = ctx.settings
    moment = (at or datetime.now(UTC)).astimezone(UTC)  # shown and compared in UTC
    async with await open_store(ctx.database, read_only=True) as store:
        watch = TrendWatch(store, lambda: settings, lambda: moment, as_of=at is not None)
        found = (await watch.evaluate())[:limit]
    if as_json:
        print_json(
            {
                "at": moment.isoformat(),
                "trends": [
                    {
                        "kind": t.kind,
                        "subject": t.subject,
                        "count": t.count,
                        "channels": t.channels,
                        "usual": t.usual,
                        "score": round(t.score, 2),
                    }
                    for t in found
                ],
            }
        )
        return
    if not found:
        ctx.console.print(f"no rule spikes or name surges at {moment:%Y-%m-%d %H:%M} UTC")
        return
    table = Table("kind", "what", title=f"trends at {moment:%Y-%m-%d %H:%M} UTC")
    for kind, text in trend_rows(found, settings.trends.surge_minutes):
        table.add_row(kind, escape(text))
    ctx.console.print(table)
