"""Printing what a command left undelivered; an error when alerts could not be delivered."""

from __future__ import annotations

from rich.markup import escape

from bot.alerts.summary import UndeliveredLine
from bot.cli.root import CliContext
from bot.domain.errors import TelewatchError


class AlertsUndelivered(TelewatchError):
    """Some alerts of this run failed or could not be written (exit code 1); they are listed above."""


def report_undelivered(ctx: CliContext, lines: list[UndeliveredLine], *, delivered: int) -> None:
    """Print the summary of undelivered alerts; raise AlertsUndelivered when some failed for an error."""
    if not lines:
        return
    ctx.err_console.print(f"[bold]alerts not delivered[/bold] ({delivered} delivered):")
    for line in lines:
        style = "red" if line.error else "yellow"
        ctx.err_console.print(f"  [{style}]{escape(line.text)}[/{style}]")
    failed = sum(line.count for line in lines if line.error)
    if failed:
        raise AlertsUndelivered(
            f"{failed} alert(s) could not be delivered (listed above); they stay in the outbox",
            hint="fix the cause, then `telewatch run` (or the same command again) delivers the pending ones",
        )
