"""`telewatch init`, `telewatch channels ...` and `telewatch config check|show`: the config file from the CLI."""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from bot.cli.params import config_float, config_int
from bot.cli.root import CliContext, cli, pass_ctx
from bot.cli.tables import Col, fitted_table
from bot.domain.errors import ConfigError
from config.settings import ChannelSettings, Settings

SECRET_FIELDS = ("api_hash", "bot_token")


def example_text() -> str:
    """The commented example configuration shipped in the `config` package."""
    return resources.files("config").joinpath("example.toml").read_text(encoding="utf-8")


@cli.command()
@click.option(
    "--force", is_flag=True, help="Replace an existing file (the old one is kept as FILE.bak-TIME)."
)
@pass_ctx
def init(ctx: CliContext, force: bool) -> None:
    """Write a commented starter config (to --config, default config/telewatch.toml).

    Secrets are not written: put TELEWATCH_API_HASH (and TELEWATCH_BOT_TOKEN) in a .env file
    beside the config, or in the environment.
    """
    path = ctx.config_path
    if path.exists() and not force:
        raise ConfigError(
            "already exists; not overwritten", file=path, hint="use --force to replace it, or edit it"
        )
    from config.files import atomic_write, keep_copy

    path.parent.mkdir(parents=True, exist_ok=True)
    kept = keep_copy(path) if path.exists() else None  # --force replaces the file, never loses it
    atomic_write(path, example_text())
    out = ctx.console
    out.print(f"[green]wrote[/green] {escape(str(path))}")
    if kept is not None:
        out.print(f"the previous file is kept as {escape(str(kept))}")
    out.print("next:")
    out.print(escape(f"  1. edit it: api_id, [[channels]], [[rules]], [[routes]]  ({path})"))
    out.print(
        f"  2. put TELEWATCH_API_HASH=... (and TELEWATCH_BOT_TOKEN=...) in {escape(str(path.parent / '.env'))}"
    )
    out.print("  3. telewatch config check, then telewatch login and telewatch run")


# -- channels ---------------------------------------------------------------------------------------------


@cli.group()
def channels() -> None:
    """List, add and remove watched channels (edits the config file, keeping its comments)."""


def _editor(ctx: CliContext) -> Any:
    from bot.rules import compile_rules
    from config.edit import ConfigEditor

    if not ctx.config_path.exists():
        raise ConfigError(
            "config file not found", file=ctx.config_path, hint="create it with: telewatch init"
        )
    return ConfigEditor(ctx.config_path, ctx.environ, check_rules=compile_rules)


def channel_dict(ch: ChannelSettings) -> dict[str, Any]:
    """A configured channel as plain JSON-able data."""
    return {"ref": ch.ref, "label": ch.label, "tags": list(ch.tags), "enabled": ch.enabled, **_options(ch)}


def _options(ch: ChannelSettings) -> dict[str, Any]:
    """The channel's options that differ from the defaults."""
    default = ChannelSettings(ref=ch.ref)
    names = ("auto_join", "backfill_days", "backfill_count", "alert_on_backfill", "poll_minutes")
    return {n: getattr(ch, n) for n in names if getattr(ch, n) != getattr(default, n)}


@channels.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_ctx
def channels_list(ctx: CliContext, as_json: bool) -> None:
    """Show the configured channels: ref, label, tags, enabled, options."""
    items = _editor(ctx).channels()
    if as_json:
        click.echo(json.dumps([channel_dict(c) for c in items], ensure_ascii=False, indent=2))
        return
    if not items:
        ctx.console.print("no channels configured; add one with: telewatch channels add @name")
        return
    rows = [
        [
            escape(ch.ref),
            escape(ch.label or ""),
            escape(", ".join(ch.tags)),
            "yes" if ch.enabled else "[dim]no[/dim]",
            escape(", ".join(f"{k}={v}" for k, v in _options(ch).items())),
        ]
        for ch in items
    ]
    columns = (
        Col("ref", "key"),  # kept whole so it can be copied into other commands
        Col("label"),
        Col("tags", "text"),
        Col("enabled", "key"),
        Col("options", "text"),
    )
    title = f"{len(items)} channels in {ctx.config_path}"
    ctx.console.print(fitted_table(ctx.console, columns, rows, title=title))


@channels.command("add")
@click.argument("ref")
@click.option("--label", "-l", help="Group name used by rules and routes (official, milblogger, media...).")
@click.option("--tag", "-t", "tags", multiple=True, help="A free-form tag (repeatable).")
@click.option("--disabled", is_flag=True, help="List it but do not watch it yet.")
@click.option("--auto-join", is_flag=True, default=None, help="Join the channel instead of polling it.")
@click.option(
    "--backfill-days",
    type=config_int("channels.backfill_days"),
    help="Fetch this many days of history first.",
)
@click.option(
    "--backfill-count",
    type=config_int("channels.backfill_count"),
    help="Fetch at most this many old posts first.",
)
@click.option("--alert-on-backfill", is_flag=True, default=None, help="Alert on matches in fetched history.")
@click.option(
    "--poll-minutes", type=config_float("channels.poll_minutes"), help="Poll interval if not joined."
)
@pass_ctx
def channels_add(
    ctx: CliContext,
    /,
    ref: str,
    label: str | None,
    tags: tuple[str, ...],
    disabled: bool,
    **options: Any,
) -> None:
    """Add a channel by @username, t.me link, invite link or numeric id."""
    if disabled:
        options["enabled"] = False
    ch = _editor(ctx).add_channel(ref, label=label, tags=tags, **options)
    ctx.console.print(f"[green]added[/green] {escape(ch.ref)} to {escape(str(ctx.config_path))}")


@channels.command("remove")
@click.argument("ref")
@pass_ctx
def channels_remove(ctx: CliContext, ref: str) -> None:
    """Remove a channel (any spelling of its ref: @Name, name, https://t.me/name)."""
    ch = _editor(ctx).remove_channel(ref)
    ctx.console.print(f"[green]removed[/green] {escape(ch.ref)} from {escape(str(ctx.config_path))}")


@channels.command("enable")
@click.argument("ref")
@pass_ctx
def channels_enable(ctx: CliContext, ref: str) -> None:
    """Watch a listed channel again."""
    ch = _editor(ctx).set_channel_enabled(ref, True)
    ctx.console.print(f"[green]enabled[/green] {escape(ch.ref)}")


@channels.command("disable")
@click.argument("ref")
@pass_ctx
def channels_disable(ctx: CliContext, ref: str) -> None:
    """Stop watching a channel but keep it in the file."""
    ch = _editor(ctx).set_channel_enabled(ref, False)
    ctx.console.print(f"[yellow]disabled[/yellow] {escape(ch.ref)}")


# -- config -----------------------------------------------------------------------------------------------


@cli.group("config")
def config_group() -> None:
    """Check or show the configuration."""


@config_group.command("check")
@pass_ctx
def config_check(ctx: CliContext) -> None:
    """Validate the config file (and .env, rule packs, rule terms, sinks, writable jsonl targets, apprise
    URLs); exit 2 with the first error."""
    from bot.alerts.sinks import check_routes
    from bot.rules import compile_rules
    from config.env import env_warnings
    from config.loader import load, read_text
    from config.targets import check_route_targets

    s = load(ctx.config_path, ctx.environ, check_rules=compile_rules)
    check_routes(s)  # each route names a registered sink, with the target it needs
    for warning in env_warnings(ctx.config_path, ctx.environ):
        ctx.warn(warning)
    from bot.alerts.sinks.apprise import probe, target_url

    for route in s.routes:
        if route.sink == "apprise" and (problem := probe(target_url(route))) is not None:
            ctx.warn(f"route '{route.name}': {problem}; its alerts wait in the outbox until it answers")
    check_route_targets(s, read_text(ctx.config_path))
    for warning in _suspicious(s):
        ctx.warn(warning)
    enabled = sum(1 for c in s.channels if c.enabled)
    tg = s.telegram
    creds = (
        "api_id "
        + ("set" if tg.api_id else "missing")
        + ", api_hash "
        + ("set" if tg.api_hash else "missing")
    )
    creds += ", bot token " + ("set" if tg.bot_token else "missing")
    ctx.console.print(f"[green]ok[/green] {escape(str(ctx.config_path))}")
    ctx.console.print(
        f"  {len(s.channels)} channels ({enabled} enabled), {len(s.rules)} rules"
        f"{' incl. packs ' + escape(', '.join(s.rule_packs)) if s.rule_packs else ''}, {len(s.routes)} routes"
    )
    ctx.console.print(f"  storage {escape(str(ctx.database))}, timezone {s.timezone}; {creds}")


def _suspicious(s: Settings) -> list[str]:
    """Settings that are valid but do nothing: said at `config check`, naming where they are."""
    import difflib

    out = []
    for i, route in enumerate(s.routes):
        if route.forward_original and route.sink != "telegram":
            out.append(
                f"routes[{i}] ('{route.name}'): forward_original = true does nothing on a {route.sink} "
                "route (only a telegram route can forward the original post)"
            )
    labels = sorted({c.label for c in s.channels if c.label})
    for label, _days in s.storage.keep_days_by_label:
        if label not in labels:
            close = difflib.get_close_matches(label, labels, n=1)
            known = (
                f"did you mean '{close[0]}'?" if close else f"labels in use: {', '.join(labels) or 'none'}"
            )
            out.append(f"[storage.keep_days_by_label] '{label}': no channel has this label ({known})")
    return out


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the default is a TOML config file).")
@pass_ctx
def config_show(ctx: CliContext, as_json: bool) -> None:
    """Print the effective settings as a config file (defaults filled in, packs' rules written out,
    no secrets): saved and passed as --config it means the same."""
    from bot.rules import compile_rules
    from config.loader import load

    settings = load(ctx.config_path, ctx.environ, check_rules=compile_rules)
    if ctx.db_override is not None:
        # --db / TELEWATCH_DB is the database every command opens: show that one, not the file's path.
        settings = dataclasses.replace(
            settings, storage=dataclasses.replace(settings.storage, path=ctx.db_override, url=None)
        )
    if as_json:
        click.echo(json.dumps(settings_dict(settings), ensure_ascii=False, indent=2))
    else:
        import tomlkit

        from config.show import settings_toml

        # a config file: fed back as --config it loads to these settings (secrets stay in .env)
        click.echo(tomlkit.dumps(settings_toml(settings)))


def settings_dict(settings: Settings) -> dict[str, Any]:
    """Settings as JSON-able data with the secrets replaced by '***'."""
    data: dict[str, Any] = _plain(settings)
    # A label -> days table in the file, as written there (not a list of pairs).
    data["storage"]["keep_days_by_label"] = dict(settings.storage.keep_days_by_label)
    for key in SECRET_FIELDS:
        if data["telegram"].get(key):
            data["telegram"][key] = "***"
    return data


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name.rstrip("_"): _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.name.lower()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat(timespec="minutes")
    return value
