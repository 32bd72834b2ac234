"""Notices in the outbox (health, spikes, surges), raised conditions, and the reads the health checks need."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from bot.domain.records import ChannelActivity, Condition, NewNotice, Notice, TrendPost
from bot.domain.storage import Transaction
from storage.codec import from_iso, must_iso, to_iso
from storage.db import Database, connection
from storage.leases import stamp

COLUMNS = (
    "id, dedup_key, kind, subject, state, title, body, route, sink, target, status, attempts, created_at"
)


def _notice(row: Any) -> Notice:
    return Notice(
        id=int(row["id"]),
        dedup_key=row["dedup_key"],
        kind=row["kind"],
        subject=row["subject"],
        state=row["state"],
        title=row["title"],
        body=row["body"],
        route=row["route"],
        sink=row["sink"],
        target=row["target"],
        status=row["status"],
        attempts=int(row["attempts"]),
        created_at=must_iso(row["created_at"]),
    )


class NoticeRepository:
    """Notice rows and condition rows."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def enqueue(self, tx: Transaction, notices: Sequence[NewNotice], at: datetime) -> int:
        """Insert notices, ignoring any whose dedup key exists already; returns how many were new."""
        conn = connection(tx)
        before = conn.total_changes
        stamp = to_iso(at)
        await conn.executemany(
            "INSERT OR IGNORE INTO notices (dedup_key, kind, subject, state, title, body, route, sink, target, "
            "created_at, next_try_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    n.dedup_key,
                    n.kind,
                    n.subject,
                    n.state,
                    n.title,
                    n.body,
                    n.route,
                    n.sink,
                    n.target,
                    stamp,
                    to_iso(n.not_before) if n.not_before else stamp,
                )
                for n in notices
            ],
        )
        return conn.total_changes - before

    async def due(
        self,
        now: datetime,
        limit: int = 100,
        *,
        sinks: Collection[str] | None = None,
        claimer: str | None = None,
    ) -> list[Notice]:
        """Pending notices whose next try has come, oldest first; only for `sinks` when given."""
        only = ""
        params: list[Any] = [to_iso(now), stamp(now), claimer]
        if sinks is not None:
            names = sorted(sinks)
            only = f" AND sink IN ({','.join('?' * len(names))})" if names else " AND 0"
            params.extend(names)
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM notices WHERE status = 'pending' AND (next_try_at IS NULL OR next_try_at <= ?)"
            f" AND (claimed_until IS NULL OR claimed_until <= ? OR claimed_by = ?){only} ORDER BY id LIMIT ?",
            (*params, limit),
        )
        return [_notice(r) for r in rows]

    async def mark_sent(self, notice_id: int, at: datetime) -> None:
        await self.db.execute(
            "UPDATE notices SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL, "
            "waiting_for = NULL, claimed_by = NULL, claimed_until = NULL WHERE id = ?",
            (to_iso(at), notice_id),
        )

    async def mark_retry(
        self, notice_id: int, next_try: datetime, error: str, *, count: bool = True, waiting: bool = False
    ) -> None:
        """Schedule another try; a flood wait (`count=False`) uses up no attempt; `waiting`: for the target."""
        await self.db.execute(
            "UPDATE notices SET attempts = attempts + ?, next_try_at = ?, last_error = ?, waiting_for = ?, "
            "claimed_by = NULL, claimed_until = NULL WHERE id = ?",
            (1 if count else 0, to_iso(next_try), error, error if waiting else None, notice_id),
        )

    async def mark_failed(self, notice_id: int, error: str) -> None:
        await self.db.execute(
            "UPDATE notices SET status = 'failed', attempts = attempts + 1, last_error = ?, waiting_for = NULL, "
            "claimed_by = NULL, claimed_until = NULL WHERE id = ?",
            (error, notice_id),
        )

    async def claim(self, notice_id: int, claimer: str, now: datetime, until: datetime) -> bool:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE notices SET claimed_by = ?, claimed_until = ? WHERE id = ? AND status = 'pending' "
                "AND (claimed_until IS NULL OR claimed_until <= ? OR claimed_by = ?)",
                (claimer, stamp(until), notice_id, stamp(now), claimer),
            )
            return bool(cur.rowcount)

    async def recent(self, limit: int = 50) -> list[Notice]:
        rows = await self.db.fetchall(f"SELECT {COLUMNS} FROM notices ORDER BY id DESC LIMIT ?", (limit,))
        return [_notice(r) for r in rows]

    async def counts(self) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT status, count(*) FROM notices GROUP BY status")
        return {r[0]: r[1] for r in rows}

    # -- conditions --------------------------------------------------------------------------------------

    async def conditions(self) -> dict[str, Condition]:
        rows = await self.db.fetchall("SELECT key, kind, raised_at, detail FROM conditions")
        return {r["key"]: Condition(r["key"], r["kind"], must_iso(r["raised_at"]), r["detail"]) for r in rows}

    async def raise_condition(self, tx: Transaction, condition: Condition) -> None:
        await connection(tx).execute(
            "INSERT OR IGNORE INTO conditions (key, kind, raised_at, detail) VALUES (?, ?, ?, ?)",
            (condition.key, condition.kind, to_iso(condition.raised_at), condition.detail),
        )

    async def clear_condition(self, tx: Transaction, key: str) -> None:
        await connection(tx).execute("DELETE FROM conditions WHERE key = ?", (key,))

    # -- reads of the health checks ---------------------------------------------------------------------

    async def activity(self, since: datetime) -> dict[int, ChannelActivity]:
        """Per channel with posts since `since`: its newest post time and the gaps between its posts."""
        rows = await self.db.fetchall(
            "SELECT channel_id, date, (julianday(date) - julianday(lag(date) OVER "
            "(PARTITION BY channel_id ORDER BY date))) * 24.0 AS gap FROM posts WHERE date >= ? "
            "ORDER BY channel_id, date",
            (to_iso(since),),
        )
        gaps: dict[int, list[float]] = {}
        last: dict[int, str] = {}
        for r in rows:
            cid = int(r[0])
            last[cid] = r[1]
            if r[2] is not None:
                gaps.setdefault(cid, []).append(float(r[2]))
        newest = await self.db.fetchall("SELECT channel_id, max(date) FROM posts GROUP BY channel_id")
        out: dict[int, ChannelActivity] = {}
        for r in newest:
            cid = int(r[0])
            out[cid] = ChannelActivity(cid, from_iso(r[1]), tuple(gaps.get(cid, ())))
        return out

    async def stale_pending(self, before: datetime) -> tuple[int, datetime | None]:
        """How many alerts and notices are still pending that were created before `before`, and the oldest."""
        row = await self.db.fetchone(
            "SELECT sum(n), min(oldest) FROM (SELECT count(*) AS n, min(created_at) AS oldest FROM alerts "
            "WHERE status = 'pending' AND created_at < ? UNION ALL SELECT count(*), min(created_at) FROM notices "
            "WHERE status = 'pending' AND created_at < ?)",
            (to_iso(before), to_iso(before)),
        )
        if row is None or not row[0]:
            return 0, None
        return int(row[0]), from_iso(row[1])

    # -- reads of the trend detector --------------------------------------------------------------------

    async def trend_posts(
        self, after_id: int, since: datetime, limit: int = 2000, until: datetime | None = None
    ) -> list[TrendPost]:
        """Posts with id > `after_id` dated `since` or later (and not after `until`), by id, with their rules."""
        bound = " AND p.date <= ?" if until is not None else ""
        rows = await self.db.fetchall(
            "SELECT p.id, p.channel_id, p.date, p.text, (SELECT group_concat(m.rule, char(31)) FROM matches m "
            f"WHERE m.post_id = p.id) AS rules FROM posts p WHERE p.id > ? AND p.date >= ?{bound} "
            "ORDER BY p.id LIMIT ?",
            (after_id, to_iso(since), *((to_iso(until),) if until is not None else ()), limit),
        )
        return [
            TrendPost(
                int(r[0]),
                int(r[1]),
                must_iso(r[2]),
                r[3] or "",
                tuple((r[4] or "").split("\x1f")) if r[4] else (),
            )
            for r in rows
        ]

    async def rule_counts(self, since: datetime, until: datetime, bucket: int) -> list[tuple[str, int, int]]:
        """(rule, bucket number, matches) of posts dated in [since, until), buckets of `bucket` seconds."""
        rows = await self.db.fetchall(
            "SELECT m.rule, CAST(strftime('%s', p.date) AS INTEGER) / ? AS b, count(*) FROM matches m "
            "JOIN posts p ON p.id = m.post_id WHERE p.date >= ? AND p.date < ? GROUP BY m.rule, b",
            (bucket, to_iso(since), to_iso(until)),
        )
        return [(str(r[0]), int(r[1]), int(r[2])) for r in rows]
