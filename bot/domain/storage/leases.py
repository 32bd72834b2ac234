"""Several watchers on one database: channel leases and the leader role."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.domain.records import (
    LeaseGrant,
    LeaseInfo,
    WatcherBeat,
    WatcherInfo,
)


class LeaseStore(Protocol):
    """Several watchers on one database: each channel held by one watcher at a time through a lease."""

    async def sync(
        self, me: WatcherBeat, candidates: Sequence[int], now: datetime, lease_seconds: float
    ) -> LeaseGrant:
        """One renewal, atomic across processes: record `me` as alive, renew the leases it holds on
        `candidates` (channel row ids it can see), claim unowned or expired ones up to its fair share
        and capacity, and name held channels it should hand over to a watcher with room."""
        ...

    async def release(self, watcher: str, channel_ids: Sequence[int] | None, now: datetime) -> int:
        """Give up leases (all of the watcher's when `channel_ids` is None); returns how many."""
        ...

    async def stop(self, watcher: str, now: datetime) -> None:
        """A clean stop: every lease and leadership released, the watcher marked stopped."""
        ...

    async def lead(self, role: str, watcher: str, now: datetime, lease_seconds: float) -> bool:
        """Take or renew the lease of a job only one watcher runs; True when `watcher` holds it."""
        ...

    async def watchers(self) -> list[WatcherInfo]: ...

    async def leases(self) -> list[LeaseInfo]: ...
