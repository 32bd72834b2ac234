"""The live side of trends: feeds stored posts to the detector, alerts each spike or surge once per
cooldown through the outbox, and keeps the current top for `telewatch trends` and /trends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.alerts.notices import ConditionLedger, Raised
from bot.alerts.trends import BUCKET, WEEK, Trend, TrendDetector
from bot.domain.storage import Storage
from config.settings import Settings

log = logging.getLogger(__name__)
NAME_DAYS = 8  # names need the window plus the week before it
PAGE = 2000


class TrendWatch:
    """One detector over the store; `run_once` catches up on new posts, evaluates and alerts."""

    def __init__(
        self,
        store: Storage,
        settings: Callable[[], Settings],
        now: Callable[[], datetime],
        *,
        as_of: bool = False,
    ) -> None:
        self.store = store
        self.as_of = as_of  # a look at a past moment: posts stored after it are left out
        self.settings = settings
        self.now = now
        self.detector = TrendDetector(settings().trends)
        self.ledger = ConditionLedger(store, settings)
        self.last_id = 0
        self.warmed = False
        self.current: list[Trend] = []

    async def warm_up(self) -> None:
        """Load the rule baselines (counts only) and the last days of posts (for names)."""
        now = self.now()
        trends = self.settings().trends
        names_since = now - timedelta(days=NAME_DAYS)
        rules_since = now - timedelta(seconds=trends.baseline_weeks * WEEK + 2 * 3600)
        for rule, bucket, count in await self.store.notices.rule_counts(
            rules_since, min(names_since, now), BUCKET
        ):
            buckets = self.detector.rule_buckets[rule]
            buckets[bucket] = buckets.get(bucket, 0) + count
        await self._feed(names_since)
        self.warmed = True

    async def _feed(self, since: datetime) -> int:
        fed = 0
        while True:
            until = self.now() if self.as_of else None
            page = await self.store.notices.trend_posts(self.last_id, since, PAGE, until)
            for post in page:
                self.detector.add(post.date, post.channel_id, post.text, post.rules)
            fed += len(page)
            if page:
                self.last_id = page[-1].post_id
            if len(page) < PAGE:
                return fed
            await asyncio.sleep(0)  # a long warm-up leaves the loop free between pages

    async def evaluate(self) -> list[Trend]:
        """Catch up on stored posts and return the spikes and surges now."""
        if not self.warmed:
            await self.warm_up()
        now = self.now()
        await self._feed(now - timedelta(days=NAME_DAYS))
        self.current = self.detector.evaluate(now)
        self.detector.prune(now)
        return self.current

    async def run_once(self) -> int:
        """Evaluate and alert the new spikes and surges; returns how many were raised."""
        trends = await self.evaluate()
        settings = self.settings().trends
        now = self.now()
        cooldown = timedelta(hours=settings.cooldown_hours)
        raised_at = {c.key: c.raised_at for c in (await self.store.notices.conditions()).values()}
        count = 0
        for kind in ("spike", "surge"):
            holding = [
                Raised(t.key, kind, t.title(settings.surge_minutes), _detail(t))
                for t in trends
                if t.kind == kind
            ]
            changes = await self.ledger.update(
                kind,
                holding,
                now,
                known=lambda key: now - raised_at.get(key, now) >= cooldown,
                recovered=False,
            )
            for r in changes.raised:
                log.info("trend: %s", r.title)
            count += len(changes.raised)
        return count


def _detail(t: Trend) -> str:
    if t.kind == "spike":
        return f"robust z-score {t.score:.1f} against the same hour of earlier weeks"
    return f"{t.count} posts mention it in the window"


def trend_rows(trends: list[Trend], surge_minutes: float) -> list[tuple[str, str]]:
    """(kind, text) of each trend, for `telewatch trends` and /trends."""
    return [(t.kind, t.title(surge_minutes)) for t in trends]
