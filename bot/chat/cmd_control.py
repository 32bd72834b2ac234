"""Commands that steer alerting: /mute /unmute /pause /resume."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.alerts.mutes import format_duration, parse_duration
from bot.chat.context import ChatContext, esc
from bot.chat.models import Command, Reply, Usage
from bot.chat.router import Router
from bot.domain.models import Channel

router = Router()


async def _target(ctx: ChatContext, name: str) -> tuple[str, Channel | None]:
    """What /mute names: ('rule', None) or ('channel', channel); Usage if it is neither."""
    if any(r.name == name for r in ctx.settings().rules):
        return "rule", None
    channel = await ctx.find_channel(name)
    if channel is not None:
        return "channel", channel
    raise Usage(f"no rule or stored channel named {name!r}; /rules and /channels list them")


@router.command(
    "mute",
    summary="mute a rule or channel for a while",
    usage="/mute <rule|channel> <duration>   (e.g. /mute shelling 2h, /mute @rybar 30m; /mute alone lists mutes)",
)
async def mute(ctx: ChatContext, cmd: Command, args: str) -> list[Reply]:
    """Mute a rule or a channel for a while; alerts it would raise are kept but not sent."""
    parts = args.split()
    now = ctx.now()
    if not parts:
        mutes = await ctx.mutes.active(now)
        if not mutes:
            return [Reply("Nothing is muted.")]
        lines = [
            f"🔕 {m.kind} <b>{esc(m.label)}</b> until {ctx.fmt_time(m.until)} "
            f"({format_duration(m.until - now)} left, by {esc(m.created_by or '?')})"
            for m in mutes
        ]
        return [Reply("\n".join(lines))]
    if len(parts) != 2:
        raise Usage("give a rule or channel and a duration")
    name, duration_text = parts
    if duration_text.lower() == "off":
        return await unmute(ctx, cmd, name)
    try:
        duration = parse_duration(duration_text)
    except ValueError as e:
        raise Usage(str(e)) from None
    kind, channel = await _target(ctx, name)
    return [Reply(await mute_now(ctx, kind, name, channel, duration, cmd.who, now))]


async def mute_now(
    ctx: ChatContext,
    kind: str,
    name: str,
    channel: Channel | None,
    duration: timedelta,
    who: str,
    now: datetime,
) -> str:
    """Apply a mute and describe it (shared by /mute and the alert buttons)."""
    if channel is not None:
        until = await ctx.mutes.mute_channel(channel, duration, who, now)
        label = channel.display
    else:
        until = await ctx.mutes.mute_rule(name, duration, who, now)
        label = name
    return (
        f"🔕 {kind} <b>{esc(label)}</b> muted for {format_duration(duration)} (until {ctx.fmt_time(until)})."
    )


@router.command("unmute", summary="end a mute", usage="/unmute <rule|channel>")
async def unmute(ctx: ChatContext, cmd: Command, args: str) -> list[Reply]:
    """End a mute early."""
    parts = args.split()
    if len(parts) != 1:
        raise Usage("give one rule or channel")
    kind, channel = await _target(ctx, parts[0])
    if channel is not None:
        done = await ctx.mutes.unmute_channel(channel)
    else:
        done = await ctx.mutes.unmute_rule(parts[0])
    if not done:
        return [Reply(f"{kind} <b>{esc(parts[0])}</b> was not muted.")]
    return [Reply(f"🔔 {kind} <b>{esc(parts[0])}</b> unmuted.")]


@router.command("pause", summary="hold all alerts")
async def pause(ctx: ChatContext, cmd: Command, args: str) -> list[Reply]:
    """Stop sending alerts; new ones are kept and go out as one digest on /resume."""
    if args:
        raise Usage("/pause takes no arguments")
    current = await ctx.repo.paused()
    if current is not None:
        return [Reply(f"Already paused by {esc(current.by)} since {ctx.fmt_time(current.at)}.")]
    await ctx.repo.set_paused(cmd.who, ctx.now())
    return [
        Reply(
            "⏸ <b>Alerts paused.</b> Posts are still captured and matched; new alerts wait and go out "
            "as one digest per route on /resume."
        )
    ]


@router.command("resume", summary="send alerts again (held ones as a digest)")
async def resume(ctx: ChatContext, cmd: Command, args: str) -> list[Reply]:
    """Send alerts again, starting with a digest of what was held while paused."""
    if args:
        raise Usage("/resume takes no arguments")
    if not await ctx.repo.clear_paused():
        return [Reply("Alerts were not paused.")]
    held = sum(h.count for h in await ctx.repo.held_routes())
    text = "▶️ <b>Alerts resumed.</b>"
    if held and ctx.digests is not None:
        await ctx.digests.run_once(ctx.now())
        text += f" {held} held alert(s) go out as digests (routes in quiet hours or on a schedule wait)."
    elif held:
        text += f" {held} held alert(s) go out with the next digest run."
    return [Reply(text)]
