"""Commands about telewatch's own state: /status (the health checks)."""

from __future__ import annotations

from bot.alerts.health import status_lines
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
    body = [head, *(f"✗ {esc(t)}" for t in failing), *rest]
    return [ctx.pages.paginate("", body)]
