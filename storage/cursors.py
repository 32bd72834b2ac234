"""Per-channel cursors: the newest stored message id and when the channel was last checked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.records import (  # re-exported: the port's records, once defined here
    Cursor as Cursor,
)
from bot.domain.storage import Transaction
from storage.codec import from_iso, to_iso
from storage.db import Database, connection


class CursorRepository:
    """Cursor rows. `advance` never moves a cursor backwards."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, channel_id: int) -> Cursor:
        row = await self.db.fetchone("SELECT * FROM cursors WHERE channel_id = ?", (channel_id,))
        if row is None:
            return Cursor(channel_id)
        return Cursor(
            channel_id=row["channel_id"],
            last_message_id=row["last_message_id"],
            last_post_at=from_iso(row["last_post_at"]),
            last_checked_at=from_iso(row["last_checked_at"]),
            errors=row["errors"],
            last_error=row["last_error"],
        )

    async def advance(
        self, tx: Transaction, channel_id: int, message_id: int, post_date: datetime | None
    ) -> None:
        await self.advance_many(tx, [(channel_id, message_id, post_date)])

    async def advance_many(self, tx: Transaction, marks: Sequence[tuple[int, int, datetime | None]]) -> None:
        """`advance` for several channels (channel id, newest message id, its date) in one statement."""
        conn = connection(tx)
        await conn.executemany(
            "INSERT INTO cursors (channel_id, last_message_id, last_post_at) VALUES (?, ?, ?) "
            "ON CONFLICT (channel_id) DO UPDATE SET "
            "last_post_at = CASE WHEN excluded.last_message_id > cursors.last_message_id "
            "THEN excluded.last_post_at ELSE cursors.last_post_at END, "
            "last_message_id = max(cursors.last_message_id, excluded.last_message_id)",
            [(channel_id, message_id, to_iso(post_date)) for channel_id, message_id, post_date in marks],
        )

    async def checked(self, channel_id: int, at: datetime, error: str | None = None) -> None:
        """Record a check of the channel (a gap check, a poll); an error increments the error count."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO cursors (channel_id, last_checked_at, errors, last_error) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (channel_id) DO UPDATE SET last_checked_at = excluded.last_checked_at, "
                "errors = cursors.errors + excluded.errors, "
                "last_error = COALESCE(excluded.last_error, cursors.last_error)",
                (channel_id, to_iso(at), 1 if error else 0, error),
            )

    async def all(self) -> list[Cursor]:
        rows = await self.db.fetchall("SELECT channel_id FROM cursors ORDER BY channel_id")
        return [await self.get(r[0]) for r in rows]
