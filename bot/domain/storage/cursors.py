"""Per-channel cursors: the newest stored id and the last check."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.domain.records import (
    Cursor,
)
from bot.domain.storage.base import Transaction


class CursorStore(Protocol):
    """Per-channel read positions and check times."""

    async def get(self, channel_id: int) -> Cursor: ...

    async def advance(
        self, tx: Transaction, channel_id: int, message_id: int, post_date: datetime | None
    ) -> None: ...

    async def advance_many(self, tx: Transaction, marks: Sequence[tuple[int, int, datetime | None]]) -> None:
        """`advance` for several (channel id, newest message id, its date) at once."""
        ...

    async def checked(self, channel_id: int, at: datetime, error: str | None = None) -> None:
        """Record a check of the channel (a gap check, a poll); an error increments the error count."""
        ...

    async def all(self) -> list[Cursor]: ...
