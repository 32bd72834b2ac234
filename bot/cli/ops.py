"""`telewatch health` (for container healthchecks and monitors) and `telewatch service install`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from bot.app.backend import snapshot
from bot.cli.output import print_json
from bot.cli.params import BoundedInt
from bot.cli.root import CliContext, cli, pass_ctx
from bot.domain.errors import ConfigError, TelewatchError

HEALTH_MAX_AGE = 120  # seconds: four missed heartbeats (run writes one every 30 s)


@cli.command()
@click.option(
    "--max-age",
    type=BoundedInt(1),
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
    ctx.delivers = False
    snap = snapshot(ctx.database, datetime.now(UTC))
    age = snap.heartbeat_age
    stopped = snap.stopped_age
    healthy = age is not None and age <= max_age and stopped is None
    if stopped is not None:
        reason = f"telewatch run stopped {stopped:.0f} s ago (a clean stop): it is not running"
    elif age is None:
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


@cli.group()
def service() -> None:
    """Run telewatch as a systemd service (restarts on failure, logs to journald)."""


@service.command("install")
@click.option("--system", "system", is_flag=True, help="A system unit in /etc/systemd/system (needs root).")
@click.option("--run-as", help="System unit: the account to run as (default: the one installing it).")
@click.option("--print", "print_only", is_flag=True, help="Print the unit instead of writing it.")
@click.option("--force", is_flag=True, help="Replace a different unit already installed.")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the unit here instead of the standard place.",
)
@click.option(
    "--executable",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The telewatch to run (default: this one).",
)
@pass_ctx
def service_install(
    ctx: CliContext,
    system: bool,
    run_as: str | None,
    print_only: bool,
    force: bool,
    output: Path | None,
    executable: Path | None,
) -> None:
    """Write the systemd unit of `telewatch run`: a user unit by default, --system for a system one.

    \b
    The unit runs this telewatch with this config (absolute paths), restarts it on
    failure (not after a bad config, a missing sign-in or a second instance:
    exit codes 2, 7, 8), logs to journald and, as a system unit, may write only
    to the database, session and alert-file folders. An existing different unit
    is never replaced without --force. Prints the commands that start it.
    """
    from bot.app.service import (
        UnitSpec,
        default_user,
        find_executable,
        install,
        next_steps,
        unit_path,
        user_exists,
        written_folders,
    )

    config = ctx.config_path.resolve()
    if not config.is_file():
        raise ConfigError(
            "config file not found", file=config, hint=f"create it first: telewatch --config {config} init"
        )
    settings = ctx.settings
    writable = written_folders(settings, config)
    user = (run_as or default_user()) if system else None
    if system and user is not None and not user_exists(user):
        message = f"--run-as {user}: no such user on this machine"
        if not print_only:
            raise ConfigError(
                message, hint=f"create it first (useradd --system {user}) or name an existing account"
            )
        ctx.warn(message + " (the unit would not start here)")
    spec = UnitSpec(
        executable=(executable or find_executable()).resolve(),
        config=config,
        working_dir=Path.cwd().resolve(),
        writable=writable,
        system=system,
        user=user,
        log_format="text",
    )
    if print_only:
        from bot.app.service import unit_text

        click.echo(unit_text(spec), nl=False)
        return
    target = output or unit_path(system)
    outcome = install(spec, target, force=force)
    click.echo(f"{'unit unchanged' if outcome == 'unchanged' else 'unit written'}: {target}")
    if output is None:
        click.echo("start it with:")
        for step in next_steps(spec):
            click.echo(f"  {step}")
