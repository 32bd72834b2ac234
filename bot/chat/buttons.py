"""Inline buttons: review marks and mutes under alerts, next/previous under paged replies."""

from __future__ import annotations

import logging

from bot.alerts.dedup import render_message
from bot.alerts.mutes import format_duration, parse_duration
from bot.chat.cmd_control import mute_now
from bot.chat.context import ChatContext
from bot.chat.models import ButtonAnswer, ButtonPress, Reply
from bot.chat.pages import NAV_PREFIX
from bot.domain.numbers import parse_id, parse_int

log = logging.getLogger(__name__)
MARKS = {"relevant": "✅ marked relevant", "false_positive": "❌ marked false positive"}


async def press(ctx: ChatContext, p: ButtonPress) -> ButtonAnswer:
    """Act on an (authorised) button press."""
    kind, _, rest = p.data.partition(":")
    first, _, second = rest.partition(":")
    page_id, page_no, alert_id = parse_int(first, 0), parse_int(second, 0), parse_id(first)
    if kind == NAV_PREFIX and page_id is not None and page_no is not None:
        page = ctx.pages.page(page_id, page_no)
        if page is None:
            return ButtonAnswer("This listing has expired; run the command again.", alert=True)
        return ButtonAnswer("", edit=page)
    if kind in ("rv", "mr", "mc") and alert_id is not None:
        info = await ctx.repo.alert_info(alert_id)
        if info is None:
            return ButtonAnswer("This alert no longer exists.", alert=True)
        if kind == "rv":
            return await _review(ctx, p, alert_id, second)
        return await _mute(ctx, p, kind, alert_id, second)
    log.warning("unknown button data %r from user %s", p.data, p.user_id)
    return ButtonAnswer("Unknown button.")


async def _review(ctx: ChatContext, p: ButtonPress, alert_id: int, mark: str) -> ButtonAnswer:
    if mark not in MARKS:
        return ButtonAnswer("Unknown review mark.")
    info = await ctx.repo.alert_info(alert_id)
    assert info is not None
    group = await ctx.repo.message_group(info)
    await ctx.repo.review_many([g.alert.id for g in group], mark, p.who, ctx.now())
    info = await ctx.repo.alert_info(alert_id)
    assert info is not None
    outgoing = await render_message(ctx.store, ctx.repo, info)
    edit = Reply(outgoing.html, outgoing.buttons) if outgoing is not None else None
    return ButtonAnswer(MARKS[mark], edit=edit)


async def _mute(
    ctx: ChatContext, p: ButtonPress, kind: str, alert_id: int, duration_text: str
) -> ButtonAnswer:
    try:
        duration = parse_duration(duration_text)
    except ValueError:
        return ButtonAnswer("Unknown mute duration.")
    info = await ctx.repo.alert_info(alert_id)
    assert info is not None
    now = ctx.now()
    until = ctx.fmt_time(now + duration)
    if kind == "mr":
        await mute_now(ctx, "rule", info.alert.rule, None, duration, p.who, now)
        return ButtonAnswer(
            f"🔕 Rule {info.alert.rule} muted for {format_duration(duration)} (until {until})."
        )
    stored = await ctx.store.posts.get(info.alert.post_id)
    if stored is None:
        return ButtonAnswer("The post of this alert is gone.", alert=True)
    await mute_now(ctx, "channel", stored.channel.display, stored.channel, duration, p.who, now)
    return ButtonAnswer(f"🔇 {stored.channel.display} muted for {format_duration(duration)} (until {until}).")
