"""Digests and quiet hours: when held alerts are due, and delivering them as one (paged) message."""

from __future__ import annotations

import html
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.alerts.format import SEVERITY_MARK, pack_lines
from bot.domain.errors import DeliveryFailed, RateLimited, TargetUnreachable
from bot.domain.models import Alert, Severity, StoredPost
from bot.domain.ports import AlertSink, OutgoingAlert
from bot.domain.records import Digest, HeldRoute
from bot.domain.storage import ControlStore, Storage
from config.settings import RouteSettings, Settings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
UNREACHABLE_RETRY = 600.0  # seconds between tries of a digest whose chat is not reachable yet
EXCERPT = 160
UNLIKELY = "Probably not relevant"


def in_quiet_hours(now: datetime, quiet: tuple[time, time], zone: ZoneInfo) -> bool:
    """Whether `now` falls in the local range start-end (which may wrap past midnight; end excluded)."""
    start, end = quiet
    local = now.astimezone(zone).time().replace(tzinfo=None)
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_until(now: datetime, quiet: tuple[time, time], zone: ZoneInfo) -> datetime | None:
    """When the quiet hours holding at `now` end (UTC), or None when `now` is not in them."""
    if not in_quiet_hours(now, quiet, zone):
        return None
    local = now.astimezone(zone)
    end = local.replace(hour=quiet[1].hour, minute=quiet[1].minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(UTC)


def last_boundary(now: datetime, digest: str, digest_hour: int, zone: ZoneInfo) -> datetime:
    """The most recent scheduled digest time at or before `now` (top of the hour, or daily at digest_hour)."""
    local = now.astimezone(zone)
    if digest == "hourly":
        boundary = local.replace(minute=0, second=0, microsecond=0)
    else:
        boundary = local.replace(hour=digest_hour, minute=0, second=0, microsecond=0)
        if boundary > local:
            boundary -= timedelta(days=1)
    return boundary.astimezone(UTC)


def digest_due(
    held: HeldRoute, route: RouteSettings | None, settings: Settings, now: datetime, *, paused: bool
) -> bool:
    """Whether a route's held alerts should go out now as a digest.

    Never while paused or in quiet hours. A route without a digest schedule (its alerts were held by
    quiet hours or a pause) flushes as soon as that ends, and so does anything above info level; info
    alerts of a digest route wait for the next scheduled time after they were held.
    """
    if paused:
        return False
    zone = ZoneInfo(settings.timezone)
    if route is not None and route.quiet_hours and in_quiet_hours(now, route.quiet_hours, zone):
        return False
    if route is not None and held.only_demoted:  # probably not relevant: the route's digest, else daily
        return held.oldest < last_boundary(now, route.digest or "daily", settings.schedule.digest_hour, zone)
    if route is None or not route.digest or held.max_severity > Severity.INFO:
        return True
    return held.oldest < last_boundary(now, route.digest, settings.schedule.digest_hour, zone)


@dataclass(frozen=True, slots=True)
class DigestReport:
    created: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0


def digest_pages(
    digest: Digest, alerts: Sequence[Alert], posts: Mapping[int, StoredPost], zone: ZoneInfo
) -> list[OutgoingAlert]:
    """A digest's alerts, one line per post, packed into messages within Telegram's limit."""
    by_post: dict[int, list[Alert]] = {}
    for alert in alerts:
        by_post.setdefault(alert.post_id, []).append(alert)
    lines: list[str] = []
    plain: list[str] = []
    unlikely: list[tuple[str, str]] = []  # every alert of the post scored below its route's min_score
    for post_id, group in by_post.items():
        stored = posts.get(post_id)
        if stored is None:
            continue
        severity = max(a.severity for a in group)
        rules = ", ".join(dict.fromkeys(a.rule for a in group))
        when = stored.post.date.astimezone(zone).strftime("%d.%m %H:%M")
        text = " ".join(stored.post.text.split())
        text = text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"
        name = html.escape(stored.channel.display)
        channel = f'<a href="{html.escape(stored.link)}">{name}</a>' if stored.link else name
        scores = [a.score for a in group if a.score is not None]
        score = f" · relevance {max(scores):.2f}" if scores else ""
        line = (
            f"{SEVERITY_MARK[severity]} <b>{html.escape(rules)}</b> · {channel} · {when}{score} "
            f"<i>#{group[0].id}</i>\n{html.escape(text)}"
        )
        flat = f"{severity.label.upper()} {rules} · {stored.channel.display} · {when}{score}: {text}"
        if all(a.demoted for a in group):
            unlikely.append((line, flat))
        else:
            lines.append(line)
            plain.append(flat)
    if unlikely:
        lines.append(f"<b>{UNLIKELY}</b> (scored below the route's min_score)")
        plain.append(f"{UNLIKELY}:")
        lines.extend(line for line, _ in unlikely)
        plain.extend(flat for _, flat in unlikely)
    title = f"🗞 <b>Digest · {html.escape(digest.route)}</b> · {len(by_post)} post(s)"
    chunks = pack_lines(lines, 3800)
    pages: list[OutgoingAlert] = []
    for i, chunk in enumerate(chunks):
        part = f" ({i + 1}/{len(chunks)})" if len(chunks) > 1 else ""
        pages.append(
            OutgoingAlert(
                dedup_key=f"digest:{digest.id}:{i}",
                plain=f"Digest {digest.route}{part}\n" + "\n".join(plain),
                html=f"{title}{part}\n\n{chunk}",
                data={
                    "digest": digest.id,
                    "route": digest.route,
                    "part": i,
                    "alert_ids": [a.id for a in alerts],
                },
                target=digest.target,
            )
        )
    return pages


class DigestService:
    """Gathers held alerts into digests when they are due and delivers them exactly once per part."""

    def __init__(
        self,
        store: Storage,
        repo: ControlStore,
        sinks: Mapping[str, AlertSink],
        settings: Callable[[], Settings],
    ) -> None:
        self.store = store
        self.repo = repo
        self.sinks = sinks
        self.settings = settings

    async def run_once(self, now: datetime, *, force: bool = False) -> DigestReport:
        """Create the digests that are due (all of them with `force`) and deliver every pending one."""
        settings = self.settings()
        routes = {r.name: r for r in settings.routes}
        paused = await self.repo.paused() is not None
        created = 0
        for held in await self.repo.held_routes():
            due = force or digest_due(held, routes.get(held.route), settings, now, paused=paused)
            if due and await self.repo.create_digest(held.route, held.sink, held.target, now) is not None:
                created += 1
        sent = retried = failed = 0
        zone = ZoneInfo(settings.timezone)
        for digest in await self.repo.due_digests(now):
            outcome = await self._deliver(digest, now, zone)
            sent += outcome == "sent"
            retried += outcome == "retry"
            failed += outcome == "failed"
        return DigestReport(created, sent, retried, failed)

    async def _deliver(self, digest: Digest, now: datetime, zone: ZoneInfo) -> str:
        sink = self.sinks.get(digest.sink)
        if sink is None:  # not in this mode (or its route is gone): it waits, it is not given up
            await self.repo.retry_digest(
                digest.id,
                now + timedelta(seconds=UNREACHABLE_RETRY),
                f"no {digest.sink} sink here",
                count=False,
            )
            return "retry"
        alerts = await self.repo.digest_alerts(digest.id)
        posts = {}
        for post_id in dict.fromkeys(a.post_id for a in alerts):
            stored = await self.store.posts.get(post_id)
            if stored is not None:
                posts[post_id] = stored
        pages = digest_pages(digest, alerts, posts, zone)
        for index in range(digest.parts_sent, len(pages)):
            try:
                await sink.deliver(pages[index])
            except RateLimited as e:
                wait = e.retry_after + random.uniform(0.5, 2.0)
                await self.repo.retry_digest(digest.id, now + timedelta(seconds=wait), str(e), count=False)
                return "retry"
            except TargetUnreachable as e:  # the chat cannot be written to yet: wait, do not give up
                log.warning("digest %s of route %s waits: %s", digest.id, digest.route, e)
                await self.repo.retry_digest(
                    digest.id, now + timedelta(seconds=UNREACHABLE_RETRY), str(e), count=False
                )
                return "retry"
            except DeliveryFailed as e:
                attempts = digest.attempts + 1
                if e.permanent or attempts >= MAX_ATTEMPTS:
                    log.error("giving up on digest %s of route %s: %s", digest.id, digest.route, e)
                    await self.repo.fail_digest(digest.id, str(e))
                    return "failed"
                delay = min(900.0, 2.0 * 2 ** (attempts - 1))
                await self.repo.retry_digest(digest.id, now + timedelta(seconds=delay), str(e), count=True)
                return "retry"
            await self.repo.digest_part_sent(digest.id, index + 1)
        await self.repo.finish_digest(digest.id, now)
        return "sent"
