"""Alerts as chat control sees them (route, target, group, sent message, review) and review marks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.records import AlertInfo
from storage.alerts import COLUMNS as ALERT_COLUMNS
from storage.alerts import MARK_WITH_TWINS, alert_from_row
from storage.codec import to_iso
from storage.db import Database


def _info(row: Any) -> AlertInfo:
    return AlertInfo(
        alert=alert_from_row(row),
        route=row["route"],
        target=row["target"],
        group_key=row["group_key"],
        merged_into=row["merged_into"],
        sent_message_id=row["sent_message_id"],
        review=row["review"],
        reviewed_by=row["reviewed_by"],
    )


INFO_COLUMNS = ALERT_COLUMNS + ", merged_into"


class ReviewRepository:
    """Alert details and review marks: bot.domain.storage.ReviewStore."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- alerts ---------------------------------------------------------------------------------------

    async def alert_info(self, alert_id: int) -> AlertInfo | None:
        row = await self.db.fetchone(f"SELECT {INFO_COLUMNS} FROM alerts WHERE id = ?", (alert_id,))
        return _info(row) if row else None

    async def alert_info_by_key(self, dedup_key: str) -> AlertInfo | None:
        row = await self.db.fetchone(f"SELECT {INFO_COLUMNS} FROM alerts WHERE dedup_key = ?", (dedup_key,))
        return _info(row) if row else None

    async def message_group(self, alert: AlertInfo) -> list[AlertInfo]:
        """The alerts one message carries: same post, kind and route, not merged elsewhere."""
        rows = await self.db.fetchall(
            f"SELECT {INFO_COLUMNS} FROM alerts WHERE post_id = ? AND kind = ? AND route = ? "
            "AND merged_into IS NULL AND status = ? ORDER BY id",
            (alert.alert.post_id, alert.alert.kind.value, alert.route, alert.alert.status.value),
        )
        return [_info(r) for r in rows] or [alert]

    async def review_many(self, alert_ids: Sequence[int], mark: str, by: str, at: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.executemany(
                MARK_WITH_TWINS,  # and the same post's alerts of that rule on other routes
                [(mark, by, to_iso(at), i) for i in alert_ids],
            )

    async def review_and_refresh(
        self, alert_ids: Sequence[int], mark: str, by: str, at: datetime, refresh_keys: Sequence[str]
    ) -> None:
        """Mark alerts (as review_many) and ask for the sent messages of `refresh_keys` to be re-rendered
        in place, so a mark made outside the chat (the web page) shows on the alert message too."""
        async with self.db.transaction() as tx:
            await tx.executemany(
                MARK_WITH_TWINS,  # and the same post's alerts of that rule on other routes
                [(mark, by, to_iso(at), i) for i in alert_ids],
            )
            await tx.executemany(
                "INSERT INTO alert_edits (dedup_key, requested_at) VALUES (?, ?) "
                "ON CONFLICT (dedup_key) DO NOTHING",
                [(key, to_iso(at)) for key in refresh_keys],
            )
