"""`telewatch alerts`: list the outbox, review alerts, precision per rule."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from rich.markup import escape
from rich.table import Table

from bot.app.backend import open_store
from bot.cli.output import When, fmt_time, print_json, shorten
from bot.cli.params import BoundedInt, row_id
from bot.cli.root import CliContext, cli, pass_ctx, run_async
from bot.cli.tables import Col, fitted_table
from bot.domain.errors import NotFound
from bot.domain.models import AlertStatus, Severity
from bot.domain.records import AlertFilter

STATES = [s.value for s in AlertStatus]
REVIEWS = ["relevant", "false_positive", "unreviewed"]


@cli.group()
def alerts() -> None:
    """The alert outbox: what fired, what was delivered, and how reviewers marked it."""


ALERT_COLUMNS = (
    Col("id", "key", "right", "cyan"),
    Col("created (UTC)", "key", drop=1),
    Col("rule"),
    Col("sev", drop=3),
    Col("kind", drop=5),
    Col("state"),
    Col("route"),  # kept at any width: a post alerted on two routes is two rows that differ only here
    Col("channel", drop=2),
    Col("post", "key", "right", drop=4),
    Col("text", "text"),
)


@alerts.command("list")
@click.option(
    "--state", "states", multiple=True, type=click.Choice(STATES), help="Only alerts in this state."
)
@click.option("--review", type=click.Choice(REVIEWS), help="Only alerts with this review mark.")
@click.option("--rule", help="Only alerts of this rule.")
@click.option("--since", type=When(), help="Created from this time: 2024-08-06, 3d, 12h, today...")
@click.option(
    "--limit",
    "-n",
    default=30,
    show_default=True,
    type=BoundedInt(1),
    help="How many alerts at most.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_ctx
@run_async
async def list_alerts(
    ctx: CliContext,
    states: tuple[str, ...],
    review: str | None,
    rule: str | None,
    since: datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """Alerts newest first, with per-rule precision from review marks."""
    ctx.delivers = False  # sends nothing: a route's unset ${SECRET} is no reason to refuse
    where = AlertFilter(statuses=tuple(AlertStatus(s) for s in states), rule=rule, review=review, since=since)
    async with await open_store(ctx.database, read_only=True) as store:
        rows = await store.alerts.listing(where, limit)
        precision = await store.alerts.precision_by_rule()
        scored = await store.relevance.precision()
    if as_json:
        for row in rows:
            row["severity"] = Severity(row["severity"]).label
        print_json(
            {
                "alerts": rows,
                "precision": [
                    {
                        "rule": p.rule,
                        "alerts": p.alerts,
                        "relevant": p.relevant,
                        "false_positive": p.false_positive,
                        "precision": p.precision,
                        "precision_after_scoring": scored[p.rule].after if p.rule in scored else p.precision,
                        "demoted": scored[p.rule].demoted if p.rule in scored else 0,
                    }
                    for p in precision
                ],
            }
        )
        return
    if not rows:
        ctx.console.print("[dim]no alerts[/dim]")
    else:
        cells = []
        for row in rows:
            state = row["status"] + (f" ({row['review']})" if row["review"] else "")
            if row["score"] is not None:
                state += f"\nrelevance {row['score']:.2f}" + (
                    " [yellow]↓digest[/yellow]" if row["demoted"] else ""
                )
            if row["waiting_for"]:  # kept pending on purpose: say for what
                state += f"\n[yellow]waiting: {escape(shorten(row['waiting_for'], 40))}[/yellow]"
            elif row["status"] == "failed" and row["last_error"]:
                state += f"\n[red]{escape(shorten(row['last_error'], 40))}[/red]"
            cells.append(
                [
                    str(row["id"]),
                    fmt_time(row["created_at"]),
                    escape(row["rule"]),
                    Severity(row["severity"]).label,
                    row["kind"],
                    state,
                    escape(row["route"] or row["sink"] or ""),
                    escape((row["username"] and f"@{row['username']}") or row["title"] or str(row["tg_id"])),
                    str(row["post_id"]),
                    escape(shorten(row["text"], 120)),
                ]
            )
        ctx.console.print(fitted_table(ctx.console, ALERT_COLUMNS, cells, title="alerts"))
    reviewed = [p for p in precision if p.relevant + p.false_positive]
    if reviewed:
        table = Table(title="precision by rule (from review marks; after scoring: alerts sent at once)")
        for column in (
            "rule",
            "alerts",
            "relevant",
            "false positive",
            "precision",
            "after scoring",
            "to digest",
        ):
            table.add_column(column)
        for p in reviewed:
            s = scored.get(p.rule)
            after = s.after if s is not None else p.precision
            table.add_row(
                escape(p.rule),
                str(p.alerts),
                str(p.relevant),
                str(p.false_positive),
                f"{p.precision:.0%}" if p.precision is not None else "",
                f"{after:.0%}" if after is not None else "—",
                str(s.demoted if s is not None else 0),
            )
        ctx.console.print(table)


@alerts.command()
@click.argument("alert_id", type=row_id())
@click.argument("mark", type=click.Choice(["relevant", "false_positive", "false-positive", "fp"]))
@click.option("--by", default="cli", show_default=True, help="Who reviewed it.")
@pass_ctx
@run_async
async def review(ctx: CliContext, alert_id: int, mark: str, by: str) -> None:
    """Mark an alert relevant or a false positive (the same marks as the chat's review buttons)."""
    normalised = "relevant" if mark == "relevant" else "false_positive"
    async with await open_store(ctx.database) as store:
        if not await store.alerts.review(alert_id, normalised, by, datetime.now(UTC)):
            raise NotFound(f"no alert with id {alert_id}", hint="telewatch alerts list shows alert ids")
    ctx.console.print(f"alert {alert_id} marked {normalised}")
