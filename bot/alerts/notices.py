"""Notices: alerts about telewatch itself or about trends, not about one post. Raised once per condition
(and once more when it clears), routed to the routes that take their kind, rendered for every sink."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.alerts.digest import quiet_until
from bot.alerts.sinks import sink_key
from bot.domain.ports import OutgoingAlert
from bot.domain.records import Condition, NewNotice, Notice
from bot.domain.storage import Storage
from config.settings import RouteSettings, Settings

ICONS = {("health", "raised"): "🩺", ("health", "recovered"): "✅", "spike": "📈", "surge": "📍"}


@dataclass(frozen=True, slots=True)
class Raised:
    """A condition that holds now: its key, kind, one-line title and detail."""

    key: str
    kind: str  # health | spike | surge
    title: str
    detail: str = ""


def notices_for(
    routes: Sequence[RouteSettings],
    kind: str,
    key: str,
    stamp: str,
    state: str,
    title: str,
    body: str,
    *,
    held_until: Callable[[RouteSettings], datetime | None] = lambda route: None,
) -> list[NewNotice]:
    """One notice per route that takes `kind`; the dedup key makes raising the same one twice a no-op.
    `held_until(route)` delays a route's notice (its quiet hours)."""
    return [
        NewNotice(
            dedup_key=f"{kind}/{key}/{stamp}/{state}/{route.name}",
            kind=kind,
            subject=key,
            state=state,
            title=title,
            body=body,
            route=route.name,
            sink=sink_key(route),
            target=route.target,
            not_before=held_until(route),
        )
        for route in routes
        if kind in route.notices
    ]


@dataclass(slots=True)
class Changes:
    raised: list[Raised]
    cleared: list[Condition]


class ConditionLedger:
    """Turns "these conditions hold now" into notices: each raised once, and a recovery once when it clears.

    The conditions raised are kept in storage, so a restart neither repeats nor forgets them; raising,
    clearing and enqueueing happen in one transaction."""

    def __init__(self, store: Storage, settings: Callable[[], Settings]) -> None:
        self.store = store
        self.settings = settings

    async def update(
        self,
        kind: str,
        holding: Sequence[Raised],
        now: datetime,
        *,
        known: Callable[[str], bool] | None = None,
        recovered: bool = True,
    ) -> Changes:
        """Record the conditions of `kind` that hold now. A raised one that no longer holds clears, unless
        `known(key)` says it could not be judged this time (a check that needs a connection)."""
        current = {c.key: c for c in (await self.store.notices.conditions()).values() if c.kind == kind}
        now_holding = {r.key: r for r in holding}
        raised = [r for k, r in now_holding.items() if k not in current]
        cleared = [c for k, c in current.items() if k not in now_holding and (known is None or known(k))]
        if not raised and not cleared:
            return Changes([], [])
        settings = self.settings()
        routes, zone = settings.routes, ZoneInfo(settings.timezone)

        def held_until(route: RouteSettings) -> datetime | None:
            # Trends wait for the end of a route's quiet hours; health notices never do: a monitor that
            # stopped at night is what the desk must hear of first, not hours later.
            if kind == "health" or not route.quiet_hours:
                return None
            return quiet_until(now, route.quiet_hours, zone)

        async with self.store.transaction() as tx:
            out: list[NewNotice] = []
            for r in raised:
                condition = Condition(r.key, kind, now, r.title)
                await self.store.notices.raise_condition(tx, condition)
                out += notices_for(
                    routes, kind, r.key, now.isoformat(), "raised", r.title, r.detail, held_until=held_until
                )
            for c in cleared:
                await self.store.notices.clear_condition(tx, c.key)
                if not recovered:
                    continue
                lasted = _duration(now - c.raised_at)
                title = f"recovered: {c.detail}"
                body = f"after {lasted} (since {c.raised_at:%Y-%m-%d %H:%M} UTC)"
                stamp = c.raised_at.isoformat()
                out += notices_for(
                    routes, kind, c.key, stamp, "recovered", title, body, held_until=held_until
                )
            await self.store.notices.enqueue(tx, out, now)
        return Changes(raised, cleared)


def _duration(delta: object) -> str:
    seconds = int(getattr(delta, "total_seconds", lambda: 0)())
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes = rest // 60
    if hours >= 48:
        return f"{hours // 24} d {hours % 24} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def render_notice(notice: Notice) -> OutgoingAlert:
    """A notice as every sink takes it: plain text, HTML, and fields for JSON."""
    icon = ICONS.get((notice.kind, notice.state)) or ICONS.get(notice.kind, "ℹ️")
    label = {"health": "health", "spike": "spike", "surge": "surge"}.get(notice.kind, notice.kind)
    plain = f"{icon} [{label}] {notice.title}" + (f"\n{notice.body}" if notice.body else "")
    body = f"\n{html.escape(notice.body)}" if notice.body else ""
    markup = f"{icon} <b>{html.escape(label)}</b>: {html.escape(notice.title)}{body}"
    data: dict[str, object] = {
        "notice": notice.kind,
        "state": notice.state,
        "title": notice.title,
        "text": notice.body,
        "subject": notice.subject,
        "severity": "health" if notice.kind == "health" else "warning",
        "date": notice.created_at.isoformat(),
    }
    return OutgoingAlert(notice.dedup_key, plain, markup, data, target=notice.target)
