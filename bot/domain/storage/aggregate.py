"""Everything persistent at once: the repositories and the unit of work."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from bot.domain.media import MediaStore
from bot.domain.storage.alerts import AlertStore
from bot.domain.storage.base import Transaction
from bot.domain.storage.channels import ChannelStore
from bot.domain.storage.control import (
    ControlStore,
    DedupStore,
    DigestStore,
    MuteStore,
    OverviewStore,
    ReviewStore,
)
from bot.domain.storage.cursors import CursorStore
from bot.domain.storage.leases import LeaseStore
from bot.domain.storage.matches import MatchStore
from bot.domain.storage.notices import NoticeStore
from bot.domain.storage.posts import PostStore
from bot.domain.storage.relevance import RelevanceStore
from bot.domain.storage.watch import WatchStateStore


class Storage(Protocol):
    """Everything persistent: the repositories, a unit of work, and small settings kept in the database."""

    @property
    def channels(self) -> ChannelStore: ...
    @property
    def posts(self) -> PostStore: ...
    @property
    def matches(self) -> MatchStore: ...
    @property
    def alerts(self) -> AlertStore: ...
    @property
    def cursors(self) -> CursorStore: ...
    @property
    def mutes(self) -> MuteStore: ...
    @property
    def dedup(self) -> DedupStore: ...
    @property
    def reviews(self) -> ReviewStore: ...
    @property
    def digests(self) -> DigestStore: ...
    @property
    def overview(self) -> OverviewStore: ...
    @property
    def watch(self) -> WatchStateStore: ...
    @property
    def control(self) -> ControlStore: ...
    @property
    def notices(self) -> NoticeStore: ...
    @property
    def relevance(self) -> RelevanceStore: ...
    @property
    def leases(self) -> LeaseStore: ...
    @property
    def media(self) -> MediaStore: ...

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """One serialised write transaction: committed on exit, rolled back on an exception."""
        ...

    @property
    def writing(self) -> bool:
        """Whether a write is running or queued: a caller with writes that can wait batches them."""
        ...

    async def meta(self, key: str) -> str | None: ...

    async def set_meta(self, key: str, value: str) -> None: ...

    async def close(self) -> None: ...
