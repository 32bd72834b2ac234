"""Chat control: mutes, cross-channel dedup, review marks, digests and the archive overview."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from bot.domain.models import (
    Alert,
)
from bot.domain.records import (
    AlertInfo,
    ChannelOverview,
    Digest,
    HeldRoute,
    Mute,
    Pause,
    RecentText,
    RememberedText,
)
from bot.domain.storage.base import Transaction


class MuteStore(Protocol):
    """Mutes of rules and channels, and the delivery pause."""

    async def add_mute(
        self, kind: str, value: str, label: str, until: datetime, by: str | None, at: datetime
    ) -> None:
        """Mute (or re-mute, replacing the end time) a rule or channel."""
        ...

    async def remove_mute(self, kind: str, value: str) -> bool: ...

    async def active_mutes(self, now: datetime, tx: Transaction | None = None) -> list[Mute]:
        """Mutes still in force at `now` (read inside `tx` when given)."""
        ...

    async def expire_mutes(self, now: datetime) -> list[Mute]:
        """Delete mutes that ended at or before `now`; returns them."""
        ...

    async def paused(self) -> Pause | None: ...

    async def paused_in(self, tx: Transaction) -> bool: ...

    async def set_paused(self, by: str, at: datetime) -> None: ...

    async def clear_paused(self) -> bool: ...


class DedupStore(Protocol):
    """Remembered texts and their fingerprint index, duplicate groups, in-place edit requests."""

    async def remember_texts(self, tx: Transaction, texts: Sequence[RememberedText], at: datetime) -> None:
        """Remember the texts, shingle hashes and index keys (bot.alerts.fingerprint) of alerted posts not"""
        ...

    async def known_groups(self, tx: Transaction, post_ids: Sequence[int]) -> dict[int, str]:
        """The duplicate groups of the posts already remembered, by post id."""
        ...

    async def indexed_texts(
        self,
        tx: Transaction,
        keys: Sequence[int],
        since: datetime,
        channels: Sequence[int],
        max_per_key: int,
    ) -> list[tuple[int, RecentText]]:
        """(index key, text) for every text remembered since `since` under one of `keys`, from a channel"""
        ...

    async def unindexed_texts(self, tx: Transaction, since: datetime) -> list[tuple[int, str]]:
        """(post id, norm) of texts remembered since `since` without a fingerprint (older databases)."""
        ...

    async def index_text(self, tx: Transaction, post_id: int, shingles: bytes, keys: Sequence[int]) -> None:
        """Store the fingerprint of a text remembered before fingerprints existed."""
        ...

    async def prune_index(self, tx: Transaction, before: datetime) -> int:
        """Drop the index keys and shingles of texts remembered before `before`; returns texts dropped."""
        ...

    async def group_primaries(
        self, tx: Transaction, group_keys: Sequence[str], since: datetime
    ) -> dict[tuple[str, str], list[tuple[int, str]]]:
        """Per (group, route): (post id, dedup key) of the live alerts of the group created since"""
        ...

    async def set_merged(self, tx: Transaction, pairs: Sequence[tuple[str, str]]) -> None:
        """Record (copy dedup key, primary dedup key) merges."""
        ...

    async def request_edit(self, tx: Transaction, dedup_key: str, at: datetime) -> None: ...

    async def edit_requests(self) -> list[tuple[str, int]]: ...

    async def drop_edit(self, dedup_key: str) -> None: ...

    async def bump_edit(self, dedup_key: str) -> None: ...

    async def copies(self, primary_key: str) -> list[int]:
        """Post ids merged into the alert with this dedup key, in arrival order."""
        ...

    async def copies_many(self, primary_keys: Collection[str]) -> dict[str, list[int]]:
        """`copies` for several dedup keys; keys without copies are left out."""
        ...


class ReviewStore(Protocol):
    """Alerts with chat-control details, and review marks."""

    async def alert_info(self, alert_id: int) -> AlertInfo | None: ...

    async def alert_info_by_key(self, dedup_key: str) -> AlertInfo | None: ...

    async def message_group(self, alert: AlertInfo) -> list[AlertInfo]:
        """The alerts one message carries: same post, kind and route, not merged elsewhere."""
        ...

    async def review_many(self, alert_ids: Sequence[int], mark: str, by: str, at: datetime) -> None: ...


class DigestStore(Protocol):
    """Alerts held for digests, and the digests sent of them."""

    async def held_routes(self) -> list[HeldRoute]:
        """Routes with alerts waiting for a digest."""
        ...

    async def create_digest(self, route: str, sink: str, target: str | None, at: datetime) -> int | None:
        """Gather a route's held alerts into a new digest; None when there were none."""
        ...

    async def due_digests(self, now: datetime) -> list[Digest]: ...

    async def digest(self, digest_id: int) -> Digest | None: ...

    async def digest_alerts(self, digest_id: int) -> list[Alert]: ...

    async def digest_part_sent(self, digest_id: int, parts_sent: int) -> None: ...

    async def finish_digest(self, digest_id: int, at: datetime) -> None:
        """Mark a digest and every alert in it sent."""
        ...

    async def retry_digest(self, digest_id: int, next_try: datetime, error: str, *, count: bool) -> int:
        """Schedule another try; returns the attempts made so far."""
        ...

    async def fail_digest(self, digest_id: int, error: str) -> None: ...


class OverviewStore(Protocol):
    """Read-only counts for overviews."""

    async def channel_overview(self, since: datetime) -> dict[int, ChannelOverview]:
        """Per channel row id: watch state, newest post time, posts since `since`."""
        ...

    async def channel_by_reference(self, reference_key: str) -> int | None: ...

    async def count_posts_since(self, since: datetime) -> int: ...

    async def count_alerts_since(self, since: datetime) -> int: ...


class ControlStore(MuteStore, DedupStore, ReviewStore, DigestStore, OverviewStore, Protocol):
    """Every chat-control store at once (for the parts that use several)."""
