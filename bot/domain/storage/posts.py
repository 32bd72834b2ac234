"""Posts: idempotent batched saves, versions, deletions, reads and search."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from datetime import datetime
from typing import Protocol

from bot.domain.models import (
    Post,
    PostVersion,
    StoredPost,
)
from bot.domain.records import (
    SaveOutcome,
    SearchFilter,
)
from bot.domain.storage.base import Transaction


class PostStore(Protocol):
    """Posts with their versions and deletion marks; search and reads."""

    async def save(self, tx: Transaction, posts: Sequence[Post], captured_at: datetime) -> list[SaveOutcome]:
        """Store a batch idempotently: new posts inserted, text edits versioned, repeats left alone."""
        ...

    async def mark_deleted(
        self, tx: Transaction, channel_id: int, message_ids: Sequence[int], at: datetime
    ) -> list[tuple[int, int]]:
        """Mark posts deleted (never erase them); returns (post id, message id) of posts newly marked."""
        ...

    async def get(self, post_id: int) -> StoredPost | None: ...

    async def get_many(self, post_ids: Collection[int]) -> dict[int, StoredPost]:
        """The posts of these ids that exist, by id (one look-up for a batch)."""
        ...

    async def get_by_message(self, channel_id: int, message_id: int) -> StoredPost | None: ...

    async def versions(self, post_id: int) -> list[PostVersion]:
        """Every text the post has had, oldest first; the last one is the current text."""
        ...

    async def search(
        self, query: str, where: SearchFilter = SearchFilter(), limit: int = 20
    ) -> list[StoredPost]:
        """Full-text search (FTS5 syntax: words, "phrases", prefix*, OR, NOT), newest first."""
        ...

    async def recent(self, where: SearchFilter = SearchFilter(), limit: int = 20) -> list[StoredPost]: ...

    def iterate(self, where: SearchFilter = SearchFilter(), batch: int = 2000) -> AsyncIterator[StoredPost]:
        """Every post matching `where`, oldest first, read in batches (for re-scans)."""
        ...

    async def count(self) -> int: ...

    async def max_message_id(self, channel_id: int) -> int: ...
