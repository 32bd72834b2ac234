"""The PostgreSQL implementation of bot.domain.storage.Storage: a pool and the repositories on it."""

from __future__ import annotations

from typing import Any, cast

from bot.domain.archive import ArchiveStorage
from bot.domain.storage import Storage
from storage.db import Database
from storage.postgres.db import PgDatabase
from storage.postgres.repositories import (
    PgAlertRepository,
    PgArchiveQueries,
    PgChannelRepository,
    PgLeaseRepository,
    PgNoticeRepository,
    PgPostRepository,
)
from storage.store import Store


class PgStore(Store):
    """Everything persistent, on PostgreSQL. Open with `await PgStore.open(url, password)`."""

    channel_repository = PgChannelRepository
    post_repository = PgPostRepository
    alert_repository = PgAlertRepository
    archive_queries = PgArchiveQueries
    notice_repository = PgNoticeRepository
    lease_repository = PgLeaseRepository

    def __init__(self, pg: PgDatabase) -> None:
        # The repositories speak the portable SQL of storage/*.py; PgDatabase runs it (storage/postgres/compat.py).
        super().__init__(cast(Database, pg))
        self.pg = pg

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
