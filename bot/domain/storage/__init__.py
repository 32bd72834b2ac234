"""The storage port: a unit of work (transaction handle) and one Protocol per repository.

storage/ holds the SQLite implementation (a PostgreSQL one plugs in beside it); nothing outside storage/
sees a driver or SQL. Methods that take a `Transaction` write inside the caller's unit of work
(`async with storage.transaction() as tx:`), so a batch of posts, matches and alerts is committed
together or not at all. tests/storage/contract/ states the behaviour every implementation must have.
"""

from __future__ import annotations

from bot.domain.storage.aggregate import Storage
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

__all__ = [
    "AlertStore",
    "ChannelStore",
    "ControlStore",
    "CursorStore",
    "DedupStore",
    "DigestStore",
    "LeaseStore",
    "MatchStore",
    "MuteStore",
    "NoticeStore",
    "OverviewStore",
    "PostStore",
    "RelevanceStore",
    "ReviewStore",
    "Storage",
    "Transaction",
    "WatchStateStore",
]
