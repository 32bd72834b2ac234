"""Commands about telewatch's own state and the news flow: /status (health checks), /trends."""

from __future__ import annotations

from bot.alerts.health import status_lines
from bot.alerts.trend_watch import trend_rows
from bot.alerts.watchers import cluster, cluster_lines
from bot.chat.context import ChatContext, esc
from bot.chat.models import Command, Reply, Usage
from bot.chat.router import Router

router = Router()


@router.command("status", summary="health checks: session, connection, channels, outbox, routes, disk")
async def status(ctx: ChatContext, cmd: Command, args: str) -> list[Reply]:
    """The same checks as `telewatch status`: failing ones first."""
    if args:
        raise Usage("/status takes no arguments")
    if ctx.health is None:
        return [Reply("Health checks run inside `telewatch run`.")]
    results = await ctx.health.checks()
    lines = status_lines(results)
    failing = [text for mark, text in lines if mark == "✗"]
    rest = [f"{mark} {esc(text)}" for mark, text in lines if mark != "✗"]
    head = f"🩺 <b>{len(failing)} problem(s)</b>" if failing else "✅ <b>All health checks pass.</b>"
    now = ctx.health.now()
    watchers = cluster_lines(await cluster(ctx.store, ctx.settings(), now), now)
    body = [head, *(f"✗ {esc(t)}" for t in failing), *rest, *(f"👁 {esc(t)}" for t in watchers)]
    return [ctx.pages.paginate("", body)]


@router.command("trends", summary="rule spikes and place/name surges now")
async def trends(ctx: ChatContext, cmd: Command, args: str) -> list[Reply]:
    """The current top spikes and surges, as `telewatch trends` shows them."""
    if args:
        raise Usage("/trends takes no arguments")
    if ctx.trends is None:
        return [Reply("Trends are followed inside `telewatch run`; `telewatch trends` reads the archive.")]
    found = await ctx.trends.evaluate()
    rows = trend_rows(found[:15], ctx.settings().trends.surge_minutes)
    if not rows:
        return [Reply("No rule spikes or name surges right now.")]
    icons = {"spike": "📈", "surge": "📍"}
    return [ctx.pages.paginate("<b>Trends now</b>", [f"{icons[k]} {esc(text)}" for k, text in rows])]
