"""The PostgreSQL implementation of bot.domain.storage.Storage: a pool and the repositories on it."""

from __future__ import annotations

from typing import Any, cast

from bot.domain.archive import ArchiveStorage
from bot.domain.storage import Storage
from storage.control import ControlRepository
from storage.cursors import CursorRepository
from storage.db import Database
from storage.dedup_index import DedupRepository
from storage.digests import DigestRepository
from storage.matches import MatchRepository
from storage.media import MediaRepository
from storage.mutes import MuteRepository
from storage.overview import OverviewRepository
from storage.postgres.db import PgDatabase
from storage.postgres.repositories import (
    PgAlertRepository,
    PgArchiveQueries,
    PgChannelRepository,
    PgLeaseRepository,
    PgNoticeRepository,
    PgPostRepository,
)
from storage.relevance import RelevanceRepository
from storage.reviews import ReviewRepository
from storage.store import Store
from storage.watch_state import WatchState


class PgStore(Store):
    """Everything persistent, on PostgreSQL. Open with `await PgStore.open(url, password)`."""

    def __init__(self, pg: PgDatabase) -> None:
        # The repositories speak the portable SQL of storage/*.py; PgDatabase runs it (storage/postgres/compat.py).
        db = cast(Database, pg)
        self.db = db
        self.pg = pg
        self.channels = PgChannelRepository(db)
        self.posts = PgPostRepository(db, self.channels)
        self.matches = MatchRepository(db)
        self.alerts = PgAlertRepository(db)
        self.cursors = CursorRepository(db)
        self.archive = PgArchiveQueries(db)
        self.mutes = MuteRepository(db)
        self.dedup = DedupRepository(db)
        self.media = MediaRepository(db)
        self.reviews = ReviewRepository(db)
        self.digests = DigestRepository(db)
        self.overview = OverviewRepository(db)
        self.watch = WatchState(db, self.channels)
        self.control = ControlRepository(db)
        self.relevance = RelevanceRepository(db)
        self.notices = PgNoticeRepository(db)
        self.leases = PgLeaseRepository(db)

    @classmethod
    async def open_url(cls, url: str, password: str | None = None, **kwargs: Any) -> PgStore:
        """Connect to `url` and migrate its schema (StorageError with one line when that fails)."""
        return cls(await PgDatabase.open(url, password, **kwargs))

    @property
    def backend(self) -> str:
        return "postgresql"


def _conforms(store: PgStore) -> Storage:
    return store  # mypy checks here that PgStore implements the storage port


def _serves_the_web(store: PgStore) -> ArchiveStorage:
    return store


__all__ = ["PgStore"]
