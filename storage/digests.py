"""Digests: alerts held for a route, and the digest messages made of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.models import Alert, AlertStatus
from bot.domain.records import Digest, HeldRoute
from storage.alerts import COLUMNS as ALERT_COLUMNS
from storage.alerts import alert_from_row
from storage.codec import must_iso, to_iso
from storage.db import Database


class DigestRepository:
    """Held alerts and digest rows: bot.domain.storage.DigestStore."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- digests --------------------------------------------------------------------------------------

    async def held_routes(self) -> list[HeldRoute]:
        """Routes with alerts waiting for a digest."""
        rows = await self.db.fetchall(
            "SELECT route, count(*), min(created_at), coalesce(max(CASE WHEN demoted = 0 THEN severity END), 0), "
            "min(sink), min(target), sum(demoted) FROM alerts "
            "WHERE status = 'held' AND digest_id IS NULL GROUP BY route ORDER BY route"
        )
        return [
            HeldRoute(r[0], int(r[1]), must_iso(r[2]), int(r[3]), r[4], r[5], int(r[6] or 0)) for r in rows
        ]

    async def create_digest(self, route: str, sink: str, target: str | None, at: datetime) -> int | None:
        """Gather a route's held alerts into a new digest; None when there were none."""
        async with self.db.transaction() as tx:
            async with tx.execute(
                "INSERT INTO digests (route, sink, target, created_at, next_try_at) VALUES (?, ?, ?, ?, ?) "
                "RETURNING id",
                (route, sink, target, to_iso(at), to_iso(at)),
            ) as cur:
                row = await cur.fetchone()
            assert row is not None
            digest_id = int(row[0])
            cur2 = await tx.execute(
                "UPDATE alerts SET digest_id = ? WHERE status = 'held' AND digest_id IS NULL AND route = ?",
                (digest_id, route),
            )
            if cur2.rowcount == 0:
                await tx.execute("DELETE FROM digests WHERE id = ?", (digest_id,))
                return None
        return digest_id

    async def due_digests(self, now: datetime) -> list[Digest]:
        rows = await self.db.fetchall(
            "SELECT * FROM digests WHERE status = 'pending' AND (next_try_at IS NULL OR next_try_at <= ?) "
            "ORDER BY id",
            (to_iso(now),),
        )
        return [_digest(r) for r in rows]

    async def digest(self, digest_id: int) -> Digest | None:
        row = await self.db.fetchone("SELECT * FROM digests WHERE id = ?", (digest_id,))
        return _digest(row) if row else None

    async def digest_alerts(self, digest_id: int) -> list[Alert]:
        rows = await self.db.fetchall(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE digest_id = ? ORDER BY id", (digest_id,)
        )
        return [alert_from_row(r) for r in rows]

    async def digest_part_sent(self, digest_id: int, parts_sent: int) -> None:
        await self.db.execute("UPDATE digests SET parts_sent = ? WHERE id = ?", (parts_sent, digest_id))

    async def finish_digest(self, digest_id: int, at: datetime) -> None:
        """Mark a digest and every alert in it sent."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE digests SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
                (to_iso(at), digest_id),
            )
            await tx.execute(
                "UPDATE alerts SET status = ?, sent_at = ?, attempts = attempts + 1 WHERE digest_id = ?",
                (AlertStatus.SENT.value, to_iso(at), digest_id),
            )

    async def retry_digest(self, digest_id: int, next_try: datetime, error: str, *, count: bool) -> int:
        """Schedule another try; returns the attempts made so far."""
        async with (
            self.db.transaction() as tx,
            tx.execute(
                "UPDATE digests SET attempts = attempts + ?, next_try_at = ?, last_error = ? WHERE id = ? "
                "RETURNING attempts",
                (1 if count else 0, to_iso(next_try), error, digest_id),
            ) as cur,
        ):
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def fail_digest(self, digest_id: int, error: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE digests SET status = 'failed', last_error = ? WHERE id = ?", (error, digest_id)
            )
            await tx.execute(
                "UPDATE alerts SET status = 'failed', last_error = ? WHERE digest_id = ?", (error, digest_id)
            )


def _digest(row: Any) -> Digest:
    return Digest(
        id=row["id"],
        route=row["route"],
        sink=row["sink"],
        target=row["target"],
        status=row["status"],
        parts_sent=row["parts_sent"],
        attempts=row["attempts"],
        created_at=must_iso(row["created_at"]),
    )
