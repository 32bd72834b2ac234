"""`telewatch login`, `check`, `run` and `status`: the live watcher from the command line."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from bot.app.backend import open_store, sqlite_file
from bot.cli.output import fmt_time, print_json
from bot.cli.root import CliContext, cli, pass_ctx, run_async
from bot.cli.tables import Col, fitted_table
from bot.domain.errors import AuthError, Interrupted
from bot.watch.lock import InstanceLock
from config.settings import Settings
from storage.store import Store

STATE_STYLE = {"ok": "green", "renamed": "yellow", "not joined": "yellow"}


async def _ask(text: str) -> str:
    return str(click.prompt(text))


async def _ask_secret(text: str) -> str:
    return str(click.prompt(text, hide_input=True))


def _require(settings: Settings, *, bot: bool = False) -> None:
    from config.loader import require_telegram

    require_telegram(settings, need_bot_token=bot)


@cli.command()
@click.option("--bot", "as_bot", is_flag=True, help="Sign in the alert bot (token from TELEWATCH_BOT_TOKEN).")
@pass_ctx
@run_async
async def login(ctx: CliContext, as_bot: bool) -> None:
    """Sign in the watcher account (phone, code, 2FA password) or, with --bot, the alert bot.

    The session is written to [telegram] session_dir (outside the repository), readable only by you.
    """
    from bot.telegram.client import build_client, login_bot, login_user, session_path

    settings = ctx.settings
    _require(settings, bot=as_bot)
    client = build_client(settings.telegram, bot=as_bot)
    path = session_path(settings.telegram, bot=as_bot)
    try:
        if as_bot:
            assert settings.telegram.bot_token is not None
            who = await login_bot(client, token=settings.telegram.bot_token, path=path)
        else:
            who = await login_user(client, phone=_ask, code=_ask, password=_ask_secret, path=path)
    finally:
        await client.disconnect()
    ctx.console.print(
        f"[green]signed in[/] as {escape(who.name)} (id {who.user_id}); session {escape(str(path))}.session (0600)"
    )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_ctx
@run_async
async def check(ctx: CliContext, as_json: bool) -> None:
    """Verify credentials and sessions, resolve every configured channel and report its state.

    States: ok, not found, private, not joined, banned, renamed. Nothing is joined or watched.
    Every route target is checked too: telegram chats (can the sender write there now?) and jsonl
    files (writable?).
    """
    settings = ctx.settings
    _require(settings)
    report = await _check_report(ctx, settings)
    if as_json:
        print_json(report)
    else:
        _print_check(ctx, report)


async def _check_report(ctx: CliContext, settings: Settings) -> dict[str, Any]:
    from bot.alerts.targets import check_route_targets
    from bot.app.checkup import channel_states
    from bot.telegram.client import build_client, whoami
    from bot.telegram.gateway import TelethonGateway

    client = build_client(settings.telegram)
    report: dict[str, Any] = {}
    try:
        me = await whoami(client)
        if me is None:
            raise AuthError("the watcher session is not signed in", hint="run `telewatch login`")
        report["account"] = me.name
        gateway = TelethonGateway(client)
        by_bot = settings.telegram.send_alerts_as == "bot"
        if settings.telegram.bot_token:
            bot_client = build_client(settings.telegram, bot=True)
            try:
                bot = await whoami(bot_client)
                if bot and by_bot:  # every route target, as the bot that will send to it
                    sender = TelethonGateway(bot_client, is_bot=True)
                    report["routes"] = [asdict(r) for r in await check_route_targets(settings, sender)]
            finally:
                await bot_client.disconnect()
            report["bot"] = bot.name if bot else "not signed in (run `telewatch login --bot`)"
        if "routes" not in report:
            sender_or_none = None if by_bot else gateway
            report["routes"] = [asdict(r) for r in await check_route_targets(settings, sender_or_none)]
        report["channels"] = await channel_states(settings, ctx.database, gateway)
    finally:
        await client.disconnect()
    return report


def _print_check(ctx: CliContext, report: dict[str, Any]) -> None:
    ctx.console.print(f"watcher account: [bold]{escape(str(report['account']))}[/]")
    if "bot" in report:
        ctx.console.print(f"alert bot: [bold]{escape(str(report['bot']))}[/]")
    table = Table("channel", "state", "id", "title", "detail")
    for c in report["channels"]:
        style = STATE_STYLE.get(c["state"], "red")
        table.add_row(
            c["reference"], f"[{style}]{c['state']}[/]", str(c["id"] or ""), c["title"] or "", c["detail"]
        )
    ctx.console.print(table)
    if report["routes"]:
        routes = Table("route", "sink", "target", "state", "detail")
        for r in report["routes"]:
            style = "green" if r["state"] == "ok" else "red"
            routes.add_row(
                r["route"], r["sink"], escape(r["target"]), f"[{style}]{r['state']}[/]", r["detail"]
            )
        ctx.console.print(routes)


@cli.command()
@pass_ctx
@run_async
async def run(ctx: CliContext) -> None:
    """Watch the configured channels live, catch up on anything missed, and send alerts. Ctrl-C stops."""
    from bot.app.run import connect_with_retry, install_signal_handlers, run_live
    from bot.telegram.chat import TelegramChat
    from bot.telegram.client import build_client, lock_path
    from bot.telegram.gateway import TelethonGateway

    settings = ctx.settings
    _require(settings)
    with InstanceLock(lock_path(settings.telegram)):
        gateway = TelethonGateway(build_client(settings.telegram))
        bot_gateway: TelethonGateway | None = None
        chat: TelegramChat | None = None
        stop = asyncio.Event()
        received = install_signal_handlers(stop)
        if settings.telegram.send_alerts_as == "bot" and settings.telegram.bot_token:
            # The bot sends alerts and serves the alert chat: commands and review buttons.
            bot_gateway = TelethonGateway(build_client(settings.telegram, bot=True), is_bot=True)
            if not await connect_with_retry(bot_gateway, stop, what="alert bot"):
                ctx.console.print("stopped")
                _interrupted(received)
                return
            chat = TelegramChat(bot_gateway.client)
        ctx.console.print(f"watching {len(settings.channels)} channel(s); Ctrl-C to stop")
        config_path = ctx.config_path if ctx.config_path.exists() else None
        try:
            undelivered = await run_live(
                settings,
                ctx.database,
                gateway=gateway,
                sender=bot_gateway,  # None: the watching account sends the alerts itself
                editor=chat,
                stop=stop,
                chat=chat,
                config_path=config_path,
                environ=ctx.environ,
            )
        finally:
            if bot_gateway is not None:
                await bot_gateway.disconnect()
    ctx.console.print("stopped")
    for line in undelivered:
        ctx.err_console.print(f"[{'red' if line.error else 'yellow'}]not delivered:[/] {escape(line.text)}")
    _interrupted(received)


def _interrupted(received: list[signal.Signals]) -> None:
    """Ctrl-C ends `run` with exit code 130 like every command; SIGTERM (a service stop) with 0."""
    if signal.SIGINT in received:
        raise Interrupted("interrupted; run stopped cleanly (every post it received is stored)")


def _lock_time(path: Path) -> datetime | None:
    """When the running `telewatch run` took its lock (it writes its pid there at start)."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


async def collect_status(store: Store, now: datetime) -> dict[str, Any]:
    """Per channel: state, last post, last check, lag, errors; plus the last long flood wait."""
    from bot.alerts.summary import describe

    state = store.watch
    marks = await state.safe_marks()
    channels = []
    for c in await store.overview.channel_statuses():
        extra = await state.status(f"channel.{c.id}") or {}
        lag = (now - c.last_post_at).total_seconds() if c.last_post_at else None
        channels.append(
            {
                "channel": f"@{c.username}" if c.username else str(c.tg_id),
                "title": c.title,
                "state": c.state,
                "joined": c.joined,
                "last_message_id": c.last_message_id,
                "complete_to": marks.get(c.id, 0),
                "behind": extra.get("behind"),
                "last_post_at": _iso(c.last_post_at),
                "last_checked_at": _iso(c.last_checked_at),
                "since_last_post_s": lag,
                "errors": c.errors,
                "last_error": c.last_error,
            }
        )
    pending = await store.alerts.undelivered(await store.alerts.max_id(), all_pending=True)
    waiting = [describe(g, {g.sink}).text for g in pending if g.waiting_for or g.last_error]
    return {"channels": channels, "last_flood": await state.status("last_flood"), "alerts_waiting": waiting}


async def describe_archive(store: Store) -> dict[str, Any]:
    """What a database holds: posts, channels with posts, alerts, the newest post's date."""
    summary = await store.overview.archive_summary()
    return {
        "posts": summary.posts,
        "channels": summary.channels,
        "alerts": summary.alerts,
        "newest_post": _iso(summary.newest_post),
    }


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_ctx
@run_async
async def status(ctx: CliContext, as_json: bool) -> None:
    """Show whether the watcher runs and, per channel: last post, last check, lag, errors, flood waits."""
    from bot.telegram.client import lock_path

    running = InstanceLock(lock_path(ctx.settings.telegram)).holder()
    from bot.alerts.health import HealthMonitor, all_checks, status_lines
    from bot.alerts.watchers import cluster

    settings = ctx.settings
    async with await open_store(ctx.database, read_only=True) as store:
        now = datetime.now(UTC)
        data = await collect_status(store, now)
        watchers = await cluster(store, settings, now)
        archive = await describe_archive(store)
        monitor = HealthMonitor(
            store, lambda: settings, lambda: datetime.now(UTC), db_path=sqlite_file(store)
        )
        fresh = timedelta(minutes=2 * settings.schedule.health_check_minutes)
        started = _lock_time(lock_path(settings.telegram)) if running is not None else None
        checks = await all_checks(
            monitor, fresh if running is not None else timedelta(0), run_started=started
        )
    data["health"] = [asdict(c) for c in checks]
    data.update(watchers.as_json(now))
    data["running"] = running is not None
    data["database"] = {"path": str(ctx.database), **archive}
    if as_json:
        print_json(data)
        return
    ctx.console.print(f"[green]running[/] (pid {running})" if running else "[yellow]not running[/]")
    newest = f", newest {fmt_time(archive['newest_post'])} UTC" if archive["newest_post"] else ""
    ctx.console.print(
        f"{escape(str(ctx.database))}: {archive['posts']} posts in {archive['channels']} channels{newest}, "
        f"{archive['alerts']} alerts"
    )
    rows = [
        [
            escape(c["channel"]),
            f"[{STATE_STYLE.get(c['state'], 'red')}]{c['state']}[/]",
            fmt_time(c["last_post_at"]),
            fmt_time(c["last_checked_at"]),
            "" if c["behind"] is None else str(c["behind"]),
            str(c["errors"]),
            escape((c["last_error"] or "")[:60]),
        ]
        for c in data["channels"]
    ]
    columns = (
        Col("channel", "key"),
        Col("state"),
        Col("last post", "key", drop=2),
        Col("last check", "key", drop=3),
        Col("behind", "key", "right"),
        Col("errors", "key", "right", drop=1),
        Col("last error", "text"),
    )
    if data["channels"]:
        ctx.console.print(fitted_table(ctx.console, columns, rows))
    else:
        ctx.console.print(
            "no channel resolved by a live run yet (posts came from imports or replays); "
            "`telewatch check` or `telewatch run` resolves them"
        )
    if watchers.watchers:
        wt = Table("watcher", "account", "state", "channels", "last renewal", "lag")
        for w in watchers.watchers:
            style = {"live": "green", "lapsed": "red"}.get(w.state, "dim")
            wt.add_row(
                escape(w.name),
                escape(w.account),
                f"[{style}]{w.state}[/]",
                f"{w.channels}/{w.max_channels}",
                f"{(now - w.last_renewal).total_seconds():.0f}s ago",
                f"{w.lag_seconds:.0f}s" if w.lag_seconds >= 1 else "",
            )
        ctx.console.print(wt)
    for u in watchers.unowned:
        spell = (now - u.since).total_seconds()
        ctx.console.print(f"[yellow]unowned:[/] {escape(u.name)} for {spell:.0f}s (no watcher holds it)")
    for line in data["alerts_waiting"]:  # alerts kept pending: a chat not reachable yet, a failing file...
        ctx.console.print(f"[yellow]alerts:[/] {escape(line)}")
    lines = status_lines(checks)
    problems = sum(1 for mark, _ in lines if mark == "✗")
    unknown = sum(1 for mark, _ in lines if mark == "·")
    if problems:
        ctx.console.print(f"health: {problems} problem(s)")
    else:  # a check not judged yet (not connected to Telegram yet) is no pass
        ctx.console.print(
            f"health: no problems; {unknown} not checked yet" if unknown else "health: all checks pass"
        )
    for mark, text in lines:
        colour = {"✗": "red", "✓": "green"}.get(mark, "dim")
        ctx.console.print(f"  [{colour}]{mark}[/] {escape(text)}")
    flood = data["last_flood"]
    if flood:
        ctx.console.print(
            f"last long flood wait: {flood['seconds']:.0f}s on {flood['request']} ({flood['target']}) at {flood['at']}"
        )
