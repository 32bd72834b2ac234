"""The alert review queue: the chat buttons' marks and mutes (same table, same semantics), with filters."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.alerts.mutes import Mutes, format_duration, parse_duration
from bot.domain.archive import REVIEWS, QueueFilter
from bot.domain.models import AlertStatus
from bot.web.pages import BadParam, is_htmx, one, page_number, render, state
from bot.web.security import checked_form
from bot.web.text import short

PAGE_SIZE = 50
MARKS = {"relevant": "✓ relevant", "false_positive": "✗ false positive"}
STATUSES = tuple(s.value for s in AlertStatus)


def queue_filter(request: Request) -> QueueFilter:
    status = one(request, "status")
    if status and status not in STATUSES:
        raise BadParam(f"status={status!r}: use one of {', '.join(STATUSES)}")
    review = one(request, "review")
    if review and review not in REVIEWS:
        raise BadParam(f"review={review!r}: use one of {', '.join(REVIEWS)}")
    return QueueFilter(
        rule=one(request, "rule") or None,
        route=one(request, "route") or None,
        statuses=(status,) if status else (),
        review=review or None,
        offset=(page_number(request) - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )


async def queue(request: Request) -> Response:
    """Alerts newest first, filterable by rule, route, delivery state and review mark."""
    web = state(request)
    f = queue_filter(request)
    rows, has_more = await web.store.archive.review_queue(f)
    mutes = await Mutes(web.store.control).active(web.now())
    return render(
        request,
        "alerts.html",
        {
            "rows": rows,
            "has_more": has_more,
            "page": page_number(request),
            "filters": {k: one(request, k) for k in ("rule", "route", "status", "review")},
            "rules": await web.store.archive.rule_names(),
            "routes": await web.store.archive.routes(),
            "statuses": STATUSES,
            "marks": MARKS,
            "mutes": mutes,
            "format_duration": format_duration,
            "short": short,
        },
    )


async def _row(request: Request, alert_id: int, notice: str) -> Response:
    found = await _rows_for(request, alert_id)
    if not found:
        return render(request, "error.html", {"title": "Not found", "message": f"No alert #{alert_id}."}, 404)
    return render(
        request, "_alert_row.html", {"a": found[0], "marks": MARKS, "short": short, "notice": notice}
    )


async def _rows_for(request: Request, alert_id: int) -> list[dict[str, Any]]:
    store = state(request).store
    info = await store.reviews.alert_info(alert_id)
    if info is None:
        return []
    rows, _ = await store.archive.review_queue(QueueFilter(post_id=info.alert.post_id, limit=200))
    return [r for r in rows if r["id"] == alert_id]


def _back(request: Request) -> str:
    referer = request.headers.get("referer", "")
    base = str(request.base_url)
    return referer[len(base) - 1 :] if referer.startswith(base) else "/alerts"


async def review(request: Request) -> Response:
    """Mark an alert relevant or false positive; every alert its chat message carries gets the mark."""
    web = state(request)
    form = await checked_form(request)
    alert_id = int(request.path_params["alert_id"])
    mark = str(form.get("mark", ""))
    if mark not in MARKS:
        raise BadParam(f"mark={mark!r}: use relevant or false_positive")
    repo = web.store.reviews
    info = await repo.alert_info(alert_id)
    if info is None:
        return render(request, "error.html", {"title": "Not found", "message": f"No alert #{alert_id}."}, 404)
    group = await repo.message_group(info)
    await repo.review_and_refresh(
        [g.alert.id for g in group],
        mark,
        web.options.reviewer,
        web.now(),
        [g.alert.dedup_key for g in group if g.alert.status is AlertStatus.SENT],
    )
    if is_htmx(request):
        return await _row(request, alert_id, f"marked {MARKS[mark]}")
    return RedirectResponse(_back(request), status_code=303)


async def mute(request: Request) -> Response:
    """Mute the alert's rule or channel for a while (as the 🔕/🔇 buttons do)."""
    web = state(request)
    form = await checked_form(request)
    alert_id = int(request.path_params["alert_id"])
    what = str(form.get("what", ""))
    if what not in ("rule", "channel"):
        raise BadParam(f"what={what!r}: mute the rule or the channel")
    try:
        duration = parse_duration(str(form.get("duration", "1h")))
    except ValueError as e:
        raise BadParam(str(e)) from None
    info = await web.store.reviews.alert_info(alert_id)
    if info is None:
        return render(request, "error.html", {"title": "Not found", "message": f"No alert #{alert_id}."}, 404)
    mutes = Mutes(web.store.control)
    now = web.now()
    if what == "rule":
        await mutes.mute_rule(info.alert.rule, duration, web.options.reviewer, now)
        notice = f"rule {info.alert.rule} muted for {format_duration(duration)}"
    else:
        stored = await web.store.posts.get(info.alert.post_id)
        if stored is None:
            raise BadParam("the post of this alert is gone")
        await mutes.mute_channel(stored.channel, duration, web.options.reviewer, now)
        notice = f"{stored.channel.display} muted for {format_duration(duration)}"
    if is_htmx(request):
        return await _row(request, alert_id, notice)
    return RedirectResponse(_back(request), status_code=303)


async def unmute(request: Request) -> Response:
    """End a mute early."""
    web = state(request)
    form = await checked_form(request)
    kind, value = str(form.get("kind", "")), str(form.get("value", ""))
    if kind not in ("rule", "channel") or not value:
        raise BadParam("say which rule or channel to unmute")
    await web.store.mutes.remove_mute(kind, value)
    return RedirectResponse(_back(request), status_code=303)
