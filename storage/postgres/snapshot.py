"""The service snapshot (storage/snapshot.py) read from PostgreSQL: `telewatch health` on a server."""

from __future__ import annotations

from datetime import datetime

from storage.postgres.db import PgDatabase
from storage.snapshot import (
    HEARTBEAT_KEY,
    STOPPED_KEY,
    ChannelSnapshot,
    Snapshot,
    _age,
    _json,
    _stopped_age,
)


async def take_pg(url: str, password: str | None, now: datetime) -> Snapshot:
    """Read the snapshot through a short-lived pool; StorageError (one line) when it cannot be read."""
    db = await PgDatabase.open(url, password, migrate=False, max_size=1)
    try:
        return await _take(db, now)
    finally:
        await db.close()


async def _take(db: PgDatabase, now: datetime) -> Snapshot:
    async def one(sql: str) -> object:
        row = await db.fetchone(sql)
        return row[0] if row else None

    meta = {
        str(r[0]): str(r[1])
        for r in await db.fetchall(
            "SELECT key, value FROM meta WHERE key LIKE 'watch.channel.%' OR key IN (?, ?)",
            (HEARTBEAT_KEY, STOPPED_KEY),
        )
    }
    channels = []
    for r in await db.fetchall(
        "SELECT c.id, c.tg_id, c.username, k.last_post_at, k.last_checked_at, k.errors FROM channels c "
        "LEFT JOIN cursors k ON k.channel_id = c.id WHERE c.tg_id IS NOT NULL AND c.resolved_at IS NOT NULL "
        "ORDER BY c.username, c.id"
    ):
        behind = _json(meta.get(f"watch.channel.{r['id']}")).get("behind")
        channels.append(
            ChannelSnapshot(
                name=f"@{r['username']}" if r["username"] else str(r["tg_id"]),
                behind=int(behind) if isinstance(behind, int) else None,
                last_post_age=_age(now, r["last_post_at"]),
                last_check_age=_age(now, r["last_checked_at"]),
                errors=int(r["errors"] or 0),
            )
        )
    oldest = await one("SELECT min(created_at) FROM alerts WHERE status = 'pending'")
    return Snapshot(
        posts=int(str(await one("SELECT count(*) FROM posts"))),
        deleted_posts=int(str(await one("SELECT count(*) FROM posts WHERE deleted_at IS NOT NULL"))),
        matches_by_rule={
            str(r[0]): int(r[1])
            for r in await db.fetchall("SELECT rule, count(*) FROM matches GROUP BY rule")
        },
        alerts_by_state={
            str(r[0]): int(r[1])
            for r in await db.fetchall("SELECT status, count(*) FROM alerts GROUP BY status")
        },
        oldest_pending_age=_age(now, str(oldest) if oldest else None),
        channels=tuple(channels),
        heartbeat_age=_age(now, meta.get(HEARTBEAT_KEY)),
        stopped_age=_stopped_age(now, meta.get(HEARTBEAT_KEY), meta.get(STOPPED_KEY)),
        media_by_state={
            str(r[0]): int(r[1])
            for r in await db.fetchall("SELECT state, count(*) FROM media GROUP BY state")
        },
        media_bytes=int(
            str(
                await one(
                    "SELECT coalesce(sum(size), 0) FROM (SELECT DISTINCT sha256, size FROM media "
                    "WHERE state = 'stored') AS stored"
                )
            )
        ),
        db_bytes=int(str(await one("SELECT pg_database_size(current_database())"))),
        conditions=tuple(
            (str(r[0]), str(r[1])) for r in await db.fetchall("SELECT key, kind FROM conditions ORDER BY key")
        ),
    )
