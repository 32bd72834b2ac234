"""Health and trend notices and their delivery."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from bot.domain.records import (
    ChannelActivity,
    Condition,
    NewNotice,
    Notice,
    TrendPost,
)
from bot.domain.storage.base import Transaction


class NoticeStore(Protocol):
    """Notices in the outbox (health conditions, rule spikes, name surges) and the conditions raised."""

    async def enqueue(self, tx: Transaction, notices: Sequence[NewNotice], at: datetime) -> int:
        """Insert notices, ignoring any whose dedup key exists already; returns how many were new."""
        ...

    async def due(
        self,
        now: datetime,
        limit: int = 100,
        *,
        sinks: Collection[str] | None = None,
        claimer: str | None = None,
    ) -> list[Notice]:
        """Pending notices due now that nobody but `claimer` holds a live claim on, oldest first."""
        ...

    async def mark_sent(self, notice_id: int, at: datetime) -> None: ...

    async def mark_retry(
        self, notice_id: int, next_try: datetime, error: str, *, count: bool = True, waiting: bool = False
    ) -> None: ...

    async def mark_failed(self, notice_id: int, error: str) -> None: ...

    async def claim(self, notice_id: int, claimer: str, now: datetime, until: datetime) -> bool:
        """Claim a pending notice for delivery (see AlertStore.claim); False when another holds it."""
        ...

    async def recent(self, limit: int = 50) -> list[Notice]: ...

    async def counts(self) -> dict[str, int]: ...

    async def conditions(self) -> dict[str, Condition]: ...

    async def raise_condition(self, tx: Transaction, condition: Condition) -> None: ...

    async def clear_condition(self, tx: Transaction, key: str) -> None: ...

    async def activity(self, since: datetime) -> dict[int, ChannelActivity]:
        """Per channel: its newest post time and the gaps between its posts since `since`."""
        ...

    async def stale_pending(self, before: datetime) -> tuple[int, datetime | None]:
        """Alerts and notices still pending that were created before `before`: how many, the oldest."""
        ...

    async def trend_posts(
        self, after_id: int, since: datetime, limit: int = 2000, until: datetime | None = None
    ) -> list[TrendPost]:
        """Posts with id > `after_id` dated `since` or later (and not after `until`), by id, with their rules."""
        ...

    async def rule_counts(self, since: datetime, until: datetime, bucket: int) -> list[tuple[str, int, int]]:
        """(rule, bucket number, matches) of posts dated in [since, until), buckets of `bucket` seconds."""
        ...
