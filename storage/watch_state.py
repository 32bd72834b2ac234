"""The watcher's durable state: cached channel resolutions, safe catch-up marks, status in `meta`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.domain.models import ChannelRef
from bot.domain.ports import ResolvedChannel
from bot.domain.records import (  # re-exported: the port's records, once defined here
    AlbumRow as AlbumRow,
)
from bot.domain.records import (
    CachedChannel as CachedChannel,
)
from bot.domain.records import (
    WindowRow as WindowRow,
)
from storage.channels import ChannelRepository
from storage.codec import from_iso, media_from, to_iso
from storage.db import Database

SAFE_PREFIX = "watch.safe."  # meta key prefix: every message id <= the value has been fetched


class WatchState:
    """Reads and writes of the columns and meta keys only the watcher uses."""

    def __init__(self, db: Database, channels: ChannelRepository) -> None:
        self.db = db
        self.channels = channels

    async def cached(self, reference_key: str, watcher: str | None = None) -> CachedChannel | None:
        """The resolution cached for a canonical reference key (ParsedRef.key); with `watcher`, with that
        watcher's access hash (None when only other watchers resolved it)."""
        row = await self.db.fetchone(
            "SELECT id, tg_id, username, title, access_hash, joined, state, reference, resolved_at "
            "FROM channels WHERE reference = ? AND tg_id IS NOT NULL",
            (reference_key,),
        )
        if row is None or watcher is None:
            return _cached(row) if row else None
        access = await self.db.fetchall(
            "SELECT watcher, access_hash, joined FROM channel_access WHERE channel_id = ?", (row["id"],)
        )
        mine = [a for a in access if a[0] == watcher]
        if mine:
            found = _cached(row)
            own = replace(found.resolved, access_hash=mine[0][1], joined=bool(mine[0][2]))
            return replace(found, resolved=own)
        # Resolved before watchers kept their own (one watcher): it is that watcher's.
        return None if access else _cached(row)

    async def by_tg_id(self, tg_id: int) -> CachedChannel | None:
        row = await self.db.fetchone(
            "SELECT id, tg_id, username, title, access_hash, joined, state, reference, resolved_at "
            "FROM channels WHERE tg_id = ?",
            (tg_id,),
        )
        return _cached(row) if row else None

    async def remember(
        self,
        reference_key: str | None,
        resolved: ResolvedChannel,
        state: str,
        at: datetime,
        watcher: str | None = None,
    ) -> tuple[int, str | None]:
        """Store a resolution; returns (channel row id, previous username if the channel was renamed)."""
        before = await self.by_tg_id(resolved.tg_id)
        async with self.db.transaction() as tx:
            ref = ChannelRef(tg_id=resolved.tg_id, username=resolved.username, title=resolved.title or None)
            channel = await self.channels.ensure(tx, ref)  # records a rename in channel_names
            # Another row may still claim this reference (a channel that now resolves elsewhere).
            if reference_key is not None:
                await tx.execute(
                    "UPDATE channels SET reference = NULL WHERE reference = ? AND id != ?",
                    (reference_key, channel.id),
                )
            await tx.execute(
                "UPDATE channels SET access_hash = ?, joined = ?, state = ?, "
                "reference = COALESCE(?, reference), resolved_at = ? WHERE id = ?",
                (resolved.access_hash, int(resolved.joined), state, reference_key, to_iso(at), channel.id),
            )
            if watcher is not None:
                await tx.execute(
                    "INSERT INTO channel_access (channel_id, watcher, access_hash, joined) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (channel_id, watcher) DO UPDATE SET access_hash = excluded.access_hash, "
                    "joined = excluded.joined",
                    (channel.id, watcher, resolved.access_hash, int(resolved.joined)),
                )
        old = before.resolved.username if before else None
        renamed = old if old and resolved.username and old.lower() != resolved.username.lower() else None
        return channel.id, renamed

    async def set_state(self, channel_id: int, state: str) -> None:
        await self.db.execute("UPDATE channels SET state = ? WHERE id = ?", (state, channel_id))

    async def states(self) -> dict[int, str]:
        rows = await self.db.fetchall("SELECT id, state FROM channels")
        return {int(r[0]): str(r[1]) for r in rows}

    # -- safe marks -------------------------------------------------------------------------------

    async def safe_marks(self) -> dict[int, int]:
        """Per channel row id: the id up to which history is known to be complete."""
        rows = await self.db.fetchall("SELECT key, value FROM meta WHERE key LIKE ?", (SAFE_PREFIX + "%",))
        return {int(str(r[0])[len(SAFE_PREFIX) :]): int(r[1]) for r in rows}

    async def save_safe_marks(self, marks: Mapping[int, int]) -> None:
        """Persist several marks in one transaction; a mark never moves backwards."""
        if not marks:
            return
        async with self.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
                "CAST(max(CAST(meta.value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT)",
                [(f"{SAFE_PREFIX}{cid}", str(mark)) for cid, mark in marks.items()],
            )

    async def max_stored_id(self, channel_id: int, excluding: set[int]) -> int:
        """The newest stored message id of a channel, leaving out `excluding` (posts stored live)."""
        skip = sorted(excluding)[:900]  # SQLite binds at most 999 parameters; a start has few live posts
        marks = ",".join("?" * len(skip))
        row = await self.db.fetchone(
            f"SELECT max(message_id) FROM posts WHERE channel_id = ? AND message_id NOT IN ({marks})",
            (channel_id, *skip),
        )
        return int(row[0]) if row and row[0] is not None else 0

    async def window(self, channel_id: int, low: int, high: int) -> list[WindowRow]:
        """Stored posts of a channel with low <= message_id <= high (a re-check's window)."""
        rows = await self.db.fetchall(
            "SELECT message_id, text, edit_date, grouped_id, deleted_at FROM posts "
            "WHERE channel_id = ? AND message_id BETWEEN ? AND ? ORDER BY message_id",
            (channel_id, low, high),
        )
        return [WindowRow(int(r[0]), str(r[1]), from_iso(r[2]), r[3], r[4] is not None) for r in rows]

    # -- albums, status -----------------------------------------------------------------------------

    async def album(self, tg_id: int, grouped_id: int) -> AlbumRow | None:
        """The stored post that album `grouped_id` of channel `tg_id` was merged into."""
        row = await self.db.fetchone(
            "SELECT p.message_id, p.text, p.media FROM posts p JOIN channels c ON c.id = p.channel_id "
            "WHERE c.tg_id = ? AND p.grouped_id = ? ORDER BY p.message_id LIMIT 1",
            (tg_id, grouped_id),
        )
        if row is None:
            return None
        return AlbumRow(message_id=int(row[0]), text=str(row[1]), media=media_from(row[2]))

    async def put_status(self, key: str, value: Mapping[str, Any]) -> None:
        await self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (f"watch.{key}", json.dumps(dict(value), default=str)),
        )

    async def status(self, key: str) -> dict[str, Any] | None:
        row = await self.db.fetchone("SELECT value FROM meta WHERE key = ?", (f"watch.{key}",))
        raw = str(row[0]) if row else None
        return json.loads(raw) if raw else None


def _cached(row: Any) -> CachedChannel:
    resolved = ResolvedChannel(
        tg_id=int(row["tg_id"]),
        username=row["username"],
        title=row["title"] or "",
        access_hash=row["access_hash"],
        joined=bool(row["joined"]),
    )
    return CachedChannel(
        channel_id=int(row["id"]),
        resolved=resolved,
        state=str(row["state"]),
        reference=row["reference"],
        resolved_at=from_iso(row["resolved_at"]),
    )
