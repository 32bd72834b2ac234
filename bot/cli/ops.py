"""`telewatch health` (for container healthchecks and monitors) and `telewatch service install`."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from bot.cli.output import print_json
from bot.cli.root import CliContext, cli, pass_ctx
from bot.domain.errors import TelewatchError
from storage.snapshot import take

HEALTH_MAX_AGE = 120  # seconds: four missed heartbeats (run writes one every 30 s)


@cli.command()
@click.option(
    "--max-age",
    type=click.IntRange(min=1),
    default=HEALTH_MAX_AGE,
    show_default=True,
    help="Seconds since run's last heartbeat after which it counts as down.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_ctx
def health(ctx: CliContext, max_age: int, as_json: bool) -> None:
    """Exit 0 when `telewatch run` is alive (its heartbeat in the database is recent), 1 when not.

    \b
    The container's HEALTHCHECK and monitors call this. It only reads the database.
    Exit codes: 0 healthy, 1 unhealthy (the line says why), 4 database unreadable.
    """
    snap = take(ctx.db_path, datetime.now(UTC))
    age = snap.heartbeat_age
    healthy = age is not None and age <= max_age
    if age is None:
        reason = "telewatch run has never written a heartbeat to this database"
    elif not healthy:
        reason = f"telewatch run's last heartbeat was {age:.0f} s ago (limit {max_age} s): it is not running"
    else:
        reason = f"telewatch run is alive (heartbeat {age:.0f} s ago)"
    pending = snap.alerts_by_state.get("pending", 0)
    if as_json:
        print_json(
            {
                "healthy": healthy,
                "reason": reason,
                "heartbeat_age_s": age,
                "posts": snap.posts,
                "alerts_pending": pending,
                "oldest_pending_s": snap.oldest_pending_age,
            }
        )
    elif healthy:
        oldest = f", oldest {snap.oldest_pending_age:.0f} s" if snap.oldest_pending_age else ""
        click.echo(f"ok: {reason}; {snap.posts:,} posts, {pending:,} alerts pending{oldest}")
    if not healthy:
        raise TelewatchError(
            f"unhealthy: {reason}",
            hint="see its logs (journalctl -u telewatch, docker compose logs) and start it again",
        )
