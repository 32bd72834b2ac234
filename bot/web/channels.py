"""The channels page: watched channels with their state and activity; add, enable and disable through the
same round-trip TOML editor as `telewatch channels` and the chat's /watch."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.domain.errors import TelewatchError
from bot.domain.models import Channel
from bot.web.pages import render, state
from bot.web.security import checked_form

WINDOW_DAYS = 7
SILENT_AFTER = timedelta(hours=24)


async def _find(request: Request, ref: str) -> Channel | None:
    from bot.domain.refs import RefKind, parse_channel_ref

    store = state(request).store
    try:
        found = await store.channels.find(ref)
    except ValueError:
        found = None
    if found is not None:
        return found
    try:
        parsed = parse_channel_ref(ref)
    except TelewatchError:
        return None
    if parsed.kind is RefKind.INVITE:
        row_id = await store.overview.channel_by_reference(parsed.key)
        return await store.channels.get(row_id) if row_id is not None else None
    return None


async def channels_page(request: Request, problem: str | None = None, notice: str | None = None) -> Response:
    """Configured channels first (file order), then channels only in the archive."""
    web = state(request)
    store = web.store
    notice = notice or request.session.pop("flash", None)
    newest = await store.archive.newest_post_date()
    now = web.now()
    anchor = min(now, newest) if newest else now
    activity = await store.archive.channel_activity(anchor - timedelta(days=WINDOW_DAYS))
    rows: list[dict[str, Any]] = []
    seen: set[int] = set()
    for setting in web.settings().channels:
        channel = await _find(request, setting.ref)
        info = activity.get(channel.id) if channel is not None else None
        if channel is not None:
            seen.add(channel.id)
        rows.append(_row(setting.ref, setting.label, setting.tags, setting.enabled, True, channel, info, now))
    for channel in await store.channels.all():
        if channel.id not in seen:
            ref = f"@{channel.username}" if channel.username else str(channel.tg_id or channel.id)
            rows.append(
                _row(ref, channel.label, channel.tags, None, False, channel, activity.get(channel.id), now)
            )
    return render(
        request,
        "channels.html",
        {
            "rows": rows,
            "window": WINDOW_DAYS,
            "editable": web.config.path is not None and not web.read_only,
            "config_path": web.config.path,
            "problem": problem,
            "notice": notice,
        },
        status=400 if problem else 200,
    )


def _row(
    ref: str,
    label: str | None,
    tags: tuple[str, ...],
    enabled: bool | None,
    configured: bool,
    channel: Channel | None,
    info: Any,
    now: datetime,
) -> dict[str, Any]:
    last = info.last_post_at if info else None
    return {
        "ref": ref,
        "label": label,
        "tags": tags,
        "enabled": enabled,
        "configured": configured,
        "channel": channel,
        "state": info.state if info else "not stored yet",
        "last": last,
        "per_day": (info.posts_in_window / WINDOW_DAYS) if info else None,
        "total": info.total_posts if info else 0,
        "silent": bool(configured and enabled and last and now - last > SILENT_AFTER),
        "silent_for": _ago(now - last) if last else None,
    }


def _ago(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} days"


async def change(request: Request) -> Response:
    """Add a channel, or enable / disable one, in the config file."""
    web = state(request)
    form = await checked_form(request)
    editor = web.config.editor()
    action = request.path_params["action"]
    ref = str(form.get("ref", "")).strip()
    if editor is None:
        return await channels_page(
            request, problem="telewatch web was started without a config file (--config)"
        )
    if not ref:
        return await channels_page(request, problem="give a channel: @name, a t.me link or a numeric id")
    try:
        if action == "add":
            label = str(form.get("label", "")).strip() or None
            added = editor.add_channel(ref, label=label)
            notice = f"Now watching {added.ref}" + (f" with label {added.label}" if added.label else "")
        elif action in ("enable", "disable"):
            done = editor.set_channel_enabled(ref, action == "enable")
            notice = f"{done.ref} {'enabled' if done.enabled else 'disabled'}"
        else:
            return await channels_page(request, problem=f"unknown action {action!r}")
    except TelewatchError as e:
        return await channels_page(request, problem=e.message + (f" ({e.hint})" if e.hint else ""))
    web.config.settings()  # re-read now: the page below shows the change
    request.session["flash"] = notice
    return RedirectResponse("/channels", status_code=303)
