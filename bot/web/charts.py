"""The charts page: matches per rule per hour (stacked), posts per channel per day, and one event's
timeline across channels (the posts a search finds, one lane per channel)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, timedelta
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from bot.domain.archive import PostQuery
from bot.domain.numbers import parse_int
from bot.web.pages import BadParam, one, render, state
from bot.web.svg import PALETTE, Dot, stacked_bars, timeline
from bot.web.text import short

TOP_CHANNELS = 9  # more channels than this are summed as "other"
TIMELINE_POSTS = 300


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    value = one(request, name) or str(default)
    number = parse_int(value, low, high)
    if number is None:
        raise BadParam(f"{name}={value!r}: a whole number from {low} to {high}")
    return number


async def charts_page(request: Request) -> Response:
    web = state(request)
    store = web.store
    hours = _int(request, "hours", 48, 6, 24 * 14)
    days = _int(request, "days", 14, 2, 180)
    newest = await store.archive.newest_post_date()
    now = web.now()
    # An archive of last year is charted where its posts are, not as an empty window ending today.
    end = min(now, newest) if newest else now
    end_hour = end.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)

    hour_keys = [(end_hour - timedelta(hours=hours - i)) for i in range(hours)]
    hour_index = {h.strftime("%Y-%m-%dT%H"): i for i, h in enumerate(hour_keys)}
    per_rule: dict[str, list[int]] = defaultdict(lambda: [0] * hours)
    for b in await store.archive.matches_per_hour(hour_keys[0], end_hour):
        if b.bucket in hour_index:
            per_rule[b.series][hour_index[b.bucket]] += b.count
    rule_chart = stacked_bars(
        [h.isoformat() for h in hour_keys],
        dict(sorted(per_rule.items())),
        tick_label=[web.local(h, "%d.%m %H:00") for h in hour_keys],
        tick_every=max(1, hours // 8),
        title=f"Matches per rule per hour, last {hours} hours",
    )

    end_day = end_hour.replace(hour=0) + timedelta(days=1)
    day_keys = [end_day - timedelta(days=days - i) for i in range(days)]
    day_index = {d.strftime("%Y-%m-%d"): i for i, d in enumerate(day_keys)}
    per_channel: dict[str, list[int]] = defaultdict(lambda: [0] * days)
    for b in await store.archive.posts_per_day(day_keys[0], end_day):
        if b.bucket in day_index:
            per_channel[b.series][day_index[b.bucket]] += b.count
    names = {str(c.id): c.display for c in await store.channels.all()}
    ranked = sorted(per_channel.items(), key=lambda kv: -sum(kv[1]))
    series = {names.get(k, k): v for k, v in ranked[:TOP_CHANNELS]}
    if len(ranked) > TOP_CHANNELS:
        series["other"] = [sum(v[i] for _, v in ranked[TOP_CHANNELS:]) for i in range(days)]
    channel_chart = stacked_bars(
        [d.strftime("%Y-%m-%d") for d in day_keys],
        series,
        tick_label=[d.strftime("%d.%m") for d in day_keys],
        tick_every=max(1, days // 10),
        title=f"Posts per channel per day, last {days} days",
    )

    q = one(request, "q")[:300]
    event = None
    if q:
        event = await _event(request, q)
    return render(
        request,
        "charts.html",
        {
            "hours": hours,
            "days": days,
            "rule_chart": rule_chart,
            "rule_legend": [(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(sorted(per_rule))],
            "channel_chart": channel_chart,
            "channel_legend": [(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(series)],
            "q": q,
            "event": event,
        },
    )


async def _event(request: Request, q: str) -> dict[str, object]:
    """The posts a search finds, placed in time on one lane per channel."""
    web = state(request)
    page = await web.store.archive.search_page(PostQuery(text=q, sort="oldest", limit=TIMELINE_POSTS))
    posts = [h.stored for h in page.hits]
    if not posts:
        return {"chart": None, "count": 0, "more": False}
    first, last = posts[0].post.date, posts[-1].post.date
    span = max((last - first).total_seconds(), 3600.0)
    start = first - timedelta(seconds=span * 0.03)
    total = span * 1.06
    lanes: dict[str, list[Dot]] = {}
    for stored in posts:
        at = (stored.post.date - start).total_seconds() / total
        lanes.setdefault(stored.channel.display, []).append(
            Dot(
                at,
                f"{web.local(stored.post.date)} {stored.channel.display}: {short(stored.post.text, 120)}",
                f"/posts/{stored.id}?q={quote(q)}",
            )
        )
    ticks = [(i / 6, web.local(start + timedelta(seconds=total * i / 6), "%d.%m %H:%M")) for i in range(7)]
    chart = timeline(sorted(lanes.items(), key=lambda kv: kv[1][0].at), ticks, title=f"Timeline: {q}")
    return {"chart": chart, "count": len(posts), "more": page.has_more, "first": first, "last": last}
