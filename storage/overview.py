"""Read-only counts over channels, posts and alerts (chat `/channels`, `/status`)."""

from __future__ import annotations

from datetime import datetime

from bot.domain.records import ChannelOverview
from storage.codec import from_iso, to_iso
from storage.db import Database


class OverviewRepository:
    """Counts for overviews: bot.domain.storage.OverviewStore."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- overview -------------------------------------------------------------------------------------

    async def channel_overview(self, since: datetime) -> dict[int, ChannelOverview]:
        """Per channel row id: watch state, newest post time, posts since `since`."""
        rows = await self.db.fetchall(
            "SELECT c.id, c.state, cu.last_post_at, "
            "(SELECT count(*) FROM posts p WHERE p.channel_id = c.id AND p.date >= ?) AS n "
            "FROM channels c LEFT JOIN cursors cu ON cu.channel_id = c.id",
            (to_iso(since),),
        )
        return {int(r[0]): ChannelOverview(int(r[0]), str(r[1]), from_iso(r[2]), int(r[3])) for r in rows}

    async def channel_by_reference(self, reference_key: str) -> int | None:
        row = await self.db.fetchone("SELECT id FROM channels WHERE reference = ?", (reference_key,))
        return int(row[0]) if row else None

    async def count_posts_since(self, since: datetime) -> int:
        row = await self.db.fetchone("SELECT count(*) FROM posts WHERE date >= ?", (to_iso(since),))
        return int(row[0]) if row else 0

    async def count_alerts_since(self, since: datetime) -> int:
        row = await self.db.fetchone("SELECT count(*) FROM alerts WHERE created_at >= ?", (to_iso(since),))
        return int(row[0]) if row else 0
