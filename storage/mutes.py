"""Mutes of rules and channels, and the pause of alert delivery (chat control)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.domain.records import Mute, Pause
from bot.domain.storage import Transaction
from storage.codec import must_iso, to_iso
from storage.db import Database, connection

PAUSE_KEY = "control.paused"


class MuteRepository:
    """Mute rows and the pause flag: bot.domain.storage.MuteStore."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- mutes ----------------------------------------------------------------------------------------

    async def add_mute(
        self, kind: str, value: str, label: str, until: datetime, by: str | None, at: datetime
    ) -> None:
        """Mute (or re-mute, replacing the end time) a rule or channel."""
        await self.db.execute(
            "INSERT INTO mutes (kind, value, label, until, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (kind, value) DO UPDATE SET until = excluded.until, label = excluded.label, "
            "created_by = excluded.created_by, created_at = excluded.created_at",
            (kind, value, label, to_iso(until), by, to_iso(at)),
        )

    async def remove_mute(self, kind: str, value: str) -> bool:
        async with self.db.transaction() as tx:
            cur = await tx.execute("DELETE FROM mutes WHERE kind = ? AND value = ?", (kind, value))
            return cur.rowcount > 0

    async def active_mutes(self, now: datetime, tx: Transaction | None = None) -> list[Mute]:
        """Mutes still in force at `now` (read inside `tx` when given)."""
        conn = connection(tx) if tx is not None else None
        sql = "SELECT * FROM mutes WHERE until > ? ORDER BY until"
        if conn is not None:
            rows = list(await conn.execute_fetchall(sql, (to_iso(now),)))
        else:
            rows = await self.db.fetchall(sql, (to_iso(now),))
        return [_mute(r) for r in rows]

    async def expire_mutes(self, now: datetime) -> list[Mute]:
        """Delete mutes that ended at or before `now`; returns them."""
        async with (
            self.db.transaction() as tx,
            tx.execute("DELETE FROM mutes WHERE until <= ? RETURNING *", (to_iso(now),)) as cur,
        ):
            rows = list(await cur.fetchall())
        return [_mute(r) for r in rows]

    # -- pause ----------------------------------------------------------------------------------------

    async def paused(self) -> Pause | None:
        row = await self.db.fetchone("SELECT value FROM meta WHERE key = ?", (PAUSE_KEY,))
        if row is None:
            return None
        data = json.loads(row[0])
        return Pause(by=str(data["by"]), at=must_iso(data["at"]))

    async def paused_in(self, tx: Transaction) -> bool:
        conn = connection(tx)
        return bool(await conn.execute_fetchall("SELECT 1 FROM meta WHERE key = ?", (PAUSE_KEY,)))

    async def set_paused(self, by: str, at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (PAUSE_KEY, json.dumps({"by": by, "at": to_iso(at)})),
        )

    async def clear_paused(self) -> bool:
        async with self.db.transaction() as tx:
            cur = await tx.execute("DELETE FROM meta WHERE key = ?", (PAUSE_KEY,))
            return cur.rowcount > 0


def _mute(row: Any) -> Mute:
    return Mute(
        id=row["id"],
        kind=row["kind"],
        value=row["value"],
        label=row["label"],
        until=must_iso(row["until"]),
        created_by=row["created_by"],
        created_at=must_iso(row["created_at"]),
    )
