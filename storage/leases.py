"""Channel leases between watchers sharing one database (bot.domain.storage.LeaseStore).

Every renewal is one transaction. On SQLite it is BEGIN IMMEDIATE: one writer at a time, so two
watchers can never both see a channel as free and both take it. On PostgreSQL (storage/postgres) the
free channels are read `FOR UPDATE SKIP LOCKED` (LOCK_ROWS): a channel another watcher is taking is
skipped, not waited for. Times are Unix seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.domain.records import LeaseGrant, LeaseInfo, WatcherBeat, WatcherInfo
from storage.db import Database


def stamp(value: datetime) -> float:
    """A datetime as Unix seconds (naive ones are UTC)."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def moment(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


class LeaseRepository:
    """Leases, watchers and the leader roles."""

    # Appended to the read of free channels: nothing on SQLite (the transaction holds the write lock),
    # row locks skipping rows another transaction holds on PostgreSQL.
    LOCK_ROWS = ""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def sync(
        self, me: WatcherBeat, candidates: Sequence[int], now: datetime, lease_seconds: float
    ) -> LeaseGrant:
        t = stamp(now)
        until = t + lease_seconds
        alive_since = t - lease_seconds
        seen = sorted(set(candidates))
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO watchers (name, account, host, pid, max_channels, started_at, last_renewal, "
                "lag_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "account = excluded.account, host = excluded.host, max_channels = excluded.max_channels, "
                "last_renewal = excluded.last_renewal, lag_seconds = excluded.lag_seconds, "
                "started_at = CASE WHEN watchers.stopped_at IS NOT NULL OR watchers.pid != excluded.pid "
                "THEN excluded.started_at ELSE watchers.started_at END, pid = excluded.pid, stopped_at = NULL",
                (me.name, me.account, me.host, me.pid, me.max_channels, t, t, me.lag_seconds),
            )
            await conn.execute("DELETE FROM lease_candidates WHERE watcher = ?", (me.name,))
            await conn.executemany(
                "INSERT INTO lease_candidates (channel_id, watcher, seen_at) VALUES (?, ?, ?)",
                [(c, me.name, t) for c in seen],
            )
            await conn.executemany(
                "INSERT OR IGNORE INTO leases (channel_id, owner, expires_at, since) VALUES (?, NULL, ?, ?)",
                [(c, t, t) for c in seen],
            )
            # Channels it no longer sees (left, or removed from its config) are given up at once.
            await conn.execute(
                "UPDATE leases SET owner = NULL, expires_at = ?, renewed_at = NULL, since = ? "
                "WHERE owner = ? AND channel_id NOT IN "
                "(SELECT channel_id FROM lease_candidates WHERE watcher = ?)",
                (t, t, me.name, me.name),
            )
            held = [
                int(r[0])
                for r in await conn.execute_fetchall(
                    "SELECT channel_id FROM leases WHERE owner = ? AND expires_at > ? ORDER BY channel_id",
                    (me.name, t),
                )
            ]
            await conn.execute(
                "UPDATE leases SET expires_at = ?, renewed_at = ? WHERE owner = ? AND expires_at > ?",
                (until, t, me.name, t),
            )
            fair = await self._fair_share(conn, alive_since)
            want = min(me.max_channels, fair) - len(held)
            claimed: list[int] = []
            if want > 0:
                # Its own leases that lapsed (a long pause) first, then those free the longest.
                rows = await conn.execute_fetchall(
                    "SELECT l.channel_id FROM leases l JOIN lease_candidates c "
                    "ON c.channel_id = l.channel_id AND c.watcher = ? "
                    "WHERE l.owner IS NULL OR l.expires_at <= ? "
                    "ORDER BY CASE WHEN l.owner = ? THEN 0 ELSE 1 END, l.expires_at, l.channel_id LIMIT ?"
                    + self.LOCK_ROWS,
                    (me.name, t, me.name, want),
                )
                claimed = [int(r[0]) for r in rows]
                await conn.executemany(
                    "UPDATE leases SET since = CASE WHEN owner = ? THEN since ELSE ? END, owner = ?, "
                    "expires_at = ?, renewed_at = ? WHERE channel_id = ?",
                    [(me.name, t, me.name, until, t, c) for c in claimed],
                )
            total = len(held) + len(claimed)
            next_free: float | None = None
            if total < min(me.max_channels, fair):
                row = list(
                    await conn.execute_fetchall(
                        "SELECT MIN(l.expires_at) FROM leases l JOIN lease_candidates c "
                        "ON c.channel_id = l.channel_id AND c.watcher = ? "
                        "WHERE l.owner IS NOT NULL AND l.owner != ? AND l.expires_at > ?",
                        (me.name, me.name, t),
                    )
                )
                next_free = float(row[0][0]) if row and row[0][0] is not None else None
            surplus = await self._surplus(conn, me, total, fair, alive_since)
            await conn.execute(
                "UPDATE watchers SET channels_held = ? WHERE name = ?", (total - len(surplus), me.name)
            )
        return LeaseGrant(
            held=tuple(sorted(held + claimed)),
            claimed=tuple(claimed),
            surplus=tuple(surplus),
            next_free_at=moment(next_free) if next_free is not None else None,
        )

    async def _fair_share(self, conn: Any, alive_since: float) -> int:
        """Channels seen by live watchers, divided among them (rounded up)."""
        row = next(
            iter(
                await conn.execute_fetchall(
                    "SELECT COUNT(*) FROM watchers WHERE stopped_at IS NULL AND last_renewal > ?",
                    (alive_since,),
                )
            )
        )
        live = max(1, int(row[0]))
        row = next(
            iter(
                await conn.execute_fetchall(
                    "SELECT COUNT(DISTINCT c.channel_id) FROM lease_candidates c JOIN watchers w "
                    "ON w.name = c.watcher WHERE w.stopped_at IS NULL AND w.last_renewal > ?",
                    (alive_since,),
                )
            )
        )
        return math.ceil(int(row[0]) / live)

    async def _surplus(
        self, conn: Any, me: WatcherBeat, total: int, fair: int, alive_since: float
    ) -> list[int]:
        """Held channels to hand over: beyond capacity always; beyond the fair share only those another
        live watcher with room can see (so nothing is released that nobody would take)."""
        over_capacity = max(0, total - me.max_channels)
        excess = max(over_capacity, total - fair)
        if excess <= 0:
            return []
        rows = await conn.execute_fetchall(
            "SELECT l.channel_id FROM leases l WHERE l.owner = ? AND EXISTS (SELECT 1 FROM lease_candidates c "
            "JOIN watchers w ON w.name = c.watcher WHERE c.channel_id = l.channel_id AND w.name != ? "
            "AND w.stopped_at IS NULL AND w.last_renewal > ? "
            "AND w.channels_held < CASE WHEN w.max_channels < ? THEN w.max_channels ELSE ? END) "
            "ORDER BY l.channel_id DESC LIMIT ?",
            (me.name, me.name, alive_since, fair, fair, excess),
        )
        chosen = [int(r[0]) for r in rows]
        if len(chosen) < over_capacity:
            more = await conn.execute_fetchall(
                "SELECT channel_id FROM leases WHERE owner = ? ORDER BY channel_id DESC", (me.name,)
            )
            rest = [int(r[0]) for r in more if int(r[0]) not in chosen]
            chosen += rest[: over_capacity - len(chosen)]
        return chosen

    async def release(self, watcher: str, channel_ids: Sequence[int] | None, now: datetime) -> int:
        t = stamp(now)
        async with self.db.transaction() as conn:
            if channel_ids is None:
                cur = await conn.execute(
                    "UPDATE leases SET owner = NULL, expires_at = ?, renewed_at = NULL, since = ? "
                    "WHERE owner = ?",
                    (t, t, watcher),
                )
                changed = cur.rowcount
            else:
                changed = 0
                for c in channel_ids:
                    cur = await conn.execute(
                        "UPDATE leases SET owner = NULL, expires_at = ?, renewed_at = NULL, since = ? "
                        "WHERE owner = ? AND channel_id = ?",
                        (t, t, watcher, c),
                    )
                    changed += cur.rowcount
            await conn.execute(
                "UPDATE watchers SET channels_held = "
                "(SELECT COUNT(*) FROM leases WHERE owner = ? AND expires_at > ?) WHERE name = ?",
                (watcher, t, watcher),
            )
        return int(changed)

    async def stop(self, watcher: str, now: datetime) -> None:
        t = stamp(now)
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE leases SET owner = NULL, expires_at = ?, renewed_at = NULL, since = ? WHERE owner = ?",
                (t, t, watcher),
            )
            await conn.execute("DELETE FROM lease_candidates WHERE watcher = ?", (watcher,))
            await conn.execute("DELETE FROM leader WHERE owner = ?", (watcher,))
            await conn.execute(
                "UPDATE watchers SET stopped_at = ?, channels_held = 0, lag_seconds = 0 WHERE name = ?",
                (t, watcher),
            )

    async def lead(self, role: str, watcher: str, now: datetime, lease_seconds: float) -> bool:
        t = stamp(now)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO leader (role, owner, expires_at) VALUES (?, ?, ?) ON CONFLICT (role) DO UPDATE "
                "SET owner = excluded.owner, expires_at = excluded.expires_at "
                "WHERE leader.owner = excluded.owner OR leader.expires_at <= ?",
                (role, watcher, t + lease_seconds, t),
            )
            rows = list(await conn.execute_fetchall("SELECT owner FROM leader WHERE role = ?", (role,)))
        return bool(rows) and rows[0][0] == watcher

    async def watchers(self) -> list[WatcherInfo]:
        rows = await self.db.fetchall(
            "SELECT name, account, host, pid, max_channels, started_at, last_renewal, channels_held, "
            "lag_seconds, stopped_at FROM watchers ORDER BY name"
        )
        return [
            WatcherInfo(
                name=r[0],
                account=r[1],
                host=r[2],
                pid=int(r[3]),
                max_channels=int(r[4]),
                started_at=moment(r[5]),
                last_renewal=moment(r[6]),
                channels_held=int(r[7]),
                lag_seconds=float(r[8]),
                stopped_at=moment(r[9]) if r[9] is not None else None,
            )
            for r in rows
        ]

    async def leases(self) -> list[LeaseInfo]:
        rows = await self.db.fetchall(
            "SELECT channel_id, owner, expires_at, renewed_at, since FROM leases ORDER BY channel_id"
        )
        return [
            LeaseInfo(
                channel_id=int(r[0]),
                owner=r[1],
                expires_at=moment(r[2]),
                renewed_at=moment(r[3]) if r[3] is not None else None,
                since=moment(r[4]),
            )
            for r in rows
        ]
