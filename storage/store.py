"""The SQLite implementation of bot.domain.storage.Storage: one Database and the repositories on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.domain.archive import ArchiveStorage
from bot.domain.storage import Storage, Transaction
from storage.alerts import AlertRepository
from storage.archive import ArchiveQueries
from storage.channels import ChannelRepository
from storage.control import ControlRepository
from storage.cursors import CursorRepository
from storage.db import Database
from storage.dedup_index import DedupRepository
from storage.digests import DigestRepository
from storage.leases import LeaseRepository
from storage.matches import MatchRepository
from storage.media import MediaRepository
from storage.mutes import MuteRepository
from storage.notices import NoticeRepository
from storage.overview import OverviewRepository
from storage.posts import PostRepository
from storage.relevance import RelevanceRepository
from storage.reviews import ReviewRepository
from storage.watch_state import WatchState


class Store:
    """Everything persistent. Open with `await Store.open(path)`; close with `await store.close()`."""

    # The repositories whose SQL differs by backend; another backend's store names its subclasses here.
    channel_repository: type[ChannelRepository] = ChannelRepository
    post_repository: type[PostRepository] = PostRepository
    alert_repository: type[AlertRepository] = AlertRepository
    archive_queries: type[ArchiveQueries] = ArchiveQueries
    notice_repository: type[NoticeRepository] = NoticeRepository
    lease_repository: type[LeaseRepository] = LeaseRepository

    def __init__(self, db: Database) -> None:
        self.db = db
        self.channels = self.channel_repository(db)
        self.posts = self.post_repository(db, self.channels)
        self.matches = MatchRepository(db)
        self.alerts = self.alert_repository(db)
        self.cursors = CursorRepository(db)
        self.archive = self.archive_queries(db)
        self.mutes = MuteRepository(db)
        self.dedup = DedupRepository(db)
        self.media = MediaRepository(db)
        self.reviews = ReviewRepository(db)
        self.digests = DigestRepository(db)
        self.overview = OverviewRepository(db)
        self.watch = WatchState(db, self.channels)
        self.control = ControlRepository(db)
        self.relevance = RelevanceRepository(db)
        self.notices = self.notice_repository(db)
        self.leases = self.lease_repository(db)

    @property
    def writing(self) -> bool:
        return self.db.writing

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """One serialised write transaction (bot.domain.storage.Storage.transaction)."""
        try:
            async with self.db.transaction() as tx:
                yield tx
        except BaseException:
            # Rows created in the rolled-back transaction are gone: so must their cached copies be.
            self.channels.forget()
            raise

    @classmethod
    async def open(cls, path: Path | str, *, read_only: bool = False, create: bool = True) -> Store:
        """Open for writing (created and migrated as needed; with `create=False` only an existing
        telewatch database), or an existing database read-only."""
        return cls(await Database.open(path, read_only=read_only, create=create))

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def meta(self, key: str) -> str | None:
        row = await self.db.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        return str(row[0]) if row else None

    async def set_meta(self, key: str, value: str) -> None:
        await self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def _conforms(store: Store) -> Storage:
    return store  # mypy checks here that Store implements the storage port


def _serves_the_web(store: Store) -> ArchiveStorage:
    return store  # ... and the review pages' port (bot.domain.archive)


__all__ = ["Store"]
