"""The storage facade: one Database and the repositories built on it."""

from __future__ import annotations

from pathlib import Path

from storage.alerts import AlertRepository
from storage.archive import ArchiveQueries
from storage.channels import ChannelRepository
from storage.cursors import CursorRepository
from storage.db import Database
from storage.matches import MatchRepository
from storage.posts import PostRepository


class Store:
    """Everything persistent. Open with `await Store.open(path)`; close with `await store.close()`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.channels = ChannelRepository(db)
        self.posts = PostRepository(db, self.channels)
        self.matches = MatchRepository(db)
        self.alerts = AlertRepository(db)
        self.cursors = CursorRepository(db)
        self.archive = ArchiveQueries(db)

    @classmethod
    async def open(cls, path: Path | str, *, read_only: bool = False) -> Store:
        """Open for writing (created and migrated as needed), or an existing database read-only."""
        return cls(await Database.open(path, read_only=read_only))

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
