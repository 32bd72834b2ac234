"""Read-only counts over channels, posts and alerts (chat `/channels`, `/status`)."""

from __future__ import annotations

from datetime import datetime

from bot.domain.records import ArchiveSummary, ChannelOverview, ChannelStatus
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

    async def channel_statuses(self) -> list[ChannelStatus]:
        """Channels a live run resolved, with their cursors, by username."""
        rows = await self.db.fetchall(
            "SELECT c.id, c.tg_id, c.username, c.title, c.state, c.joined, k.last_message_id, k.last_post_at, "
            "k.last_checked_at, k.errors, k.last_error FROM channels c LEFT JOIN cursors k ON k.channel_id = c.id "
            "WHERE c.tg_id IS NOT NULL AND c.resolved_at IS NOT NULL ORDER BY c.username, c.id"
        )
        return [
            ChannelStatus(
                id=r["id"],
                tg_id=r["tg_id"],
                username=r["username"],
                title=r["title"],
                state=r["state"],
                joined=bool(r["joined"]),
                last_message_id=r["last_message_id"] or 0,
                last_post_at=from_iso(r["last_post_at"]),
                last_checked_at=from_iso(r["last_checked_at"]),
                errors=r["errors"] or 0,
                last_error=r["last_error"],
            )
            for r in rows
        ]

    async def archive_summary(self) -> ArchiveSummary:
        """Posts, channels with posts, alerts, and the newest post's date."""
        row = await self.db.fetchone(
            "SELECT (SELECT COUNT(*) FROM posts), (SELECT COUNT(DISTINCT channel_id) FROM posts), "
            "(SELECT COUNT(*) FROM alerts), (SELECT MAX(date) FROM posts)"
        )
        assert row is not None
        return ArchiveSummary(posts=row[0], channels=row[1], alerts=row[2], newest_post=from_iso(row[3]))
