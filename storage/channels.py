"""Channels: turning a source's ChannelRef into our row, recording renames."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import aiosqlite

from bot.domain.errors import TelewatchError
from bot.domain.models import Channel, ChannelRef
from bot.domain.refs import RefKind, parse_channel_ref
from bot.domain.storage import Transaction
from storage.codec import channel_from_row, to_iso
from storage.db import Database, connection

COLUMNS = "id, tg_id, username, title, label, tags"


class ChannelRepository:
    """Channel rows, cached in memory by id and username (a watcher sees few hundred channels at most)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._by_tg: dict[int, Channel] = {}
        self._by_name: dict[str, Channel] = {}

    def _remember(self, channel: Channel) -> Channel:
        if channel.tg_id is not None:
            self._by_tg[channel.tg_id] = channel
        if channel.username:
            self._by_name[channel.username.lower()] = channel
        return channel

    def _cached(self, ref: ChannelRef) -> Channel | None:
        if ref.tg_id is not None:
            return self._by_tg.get(ref.tg_id)
        assert ref.username is not None
        return self._by_name.get(ref.username.lower())

    def forget(self) -> None:
        """Drop the cached rows (after a rollback, a cached row may no longer exist)."""
        self._by_tg.clear()
        self._by_name.clear()

    def known(self, ref: ChannelRef) -> Channel | None:
        """The cached row for `ref` when it already agrees with everything `ref` says (no I/O)."""
        cached = self._cached(ref)
        return cached if cached is not None and _agrees(cached, ref) else None

    async def ensure(self, tx: Transaction, ref: ChannelRef) -> Channel:
        """The row for `ref`, created if new; fills in a missing id/username/title; records renames."""
        conn = connection(tx)
        cached = self._cached(ref)
        if cached is not None and _agrees(cached, ref):
            return cached
        row = await self._find_row(conn, ref)
        now = to_iso(datetime.now(UTC))
        if row is None:
            async with conn.execute(
                "INSERT INTO channels (tg_id, username, title, created_at) VALUES (?, ?, ?, ?) "
                f"RETURNING {COLUMNS}",
                (ref.tg_id, ref.username, ref.title, now),
            ) as cur:
                row = await cur.fetchone()
            assert row is not None
            return self._remember(channel_from_row(row))
        channel = channel_from_row(row)
        if not _agrees(channel, ref):
            channel = await self._update_identity(conn, channel, ref, now)
        return self._remember(channel)

    async def _find_row(self, tx: aiosqlite.Connection, ref: ChannelRef) -> aiosqlite.Row | None:
        if ref.tg_id is not None:
            async with tx.execute(f"SELECT {COLUMNS} FROM channels WHERE tg_id = ?", (ref.tg_id,)) as cur:
                row = await cur.fetchone()
            if row is not None:
                return row
        if ref.username:
            async with tx.execute(
                f"SELECT {COLUMNS} FROM channels WHERE username = ? AND (tg_id IS NULL OR ? IS NULL)",
                (ref.username, ref.tg_id),
            ) as cur:
                return await cur.fetchone()
        return None

    async def _update_identity(
        self, tx: aiosqlite.Connection, channel: Channel, ref: ChannelRef, now: str | None
    ) -> Channel:
        renamed = bool(ref.username and channel.username and ref.username.lower() != channel.username.lower())
        if renamed:
            await tx.execute(
                "INSERT INTO channel_names (channel_id, username, title, seen_at) VALUES (?, ?, ?, ?)",
                (channel.id, channel.username, channel.title, now),
            )
            self._by_name.pop((channel.username or "").lower(), None)
            # Another row may hold the new name from an earlier replay without an id: free the name.
            await tx.execute(
                "UPDATE channels SET username = NULL WHERE username = ? AND id != ?",
                (ref.username, channel.id),
            )
        async with tx.execute(
            "UPDATE channels SET tg_id = COALESCE(tg_id, ?), username = COALESCE(?, username), "
            f"title = COALESCE(?, title) WHERE id = ? RETURNING {COLUMNS}",
            (ref.tg_id, ref.username, ref.title, channel.id),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return channel_from_row(row)

    async def set_label(
        self, tx: Transaction, channel_id: int, label: str | None, tags: Sequence[str]
    ) -> None:
        conn = connection(tx)
        await conn.execute(
            "UPDATE channels SET label = ?, tags = ? WHERE id = ?",
            (label, json.dumps(list(tags)), channel_id),
        )
        self._by_tg.clear()
        self._by_name.clear()

    async def get(self, channel_id: int) -> Channel | None:
        row = await self.db.fetchone(f"SELECT {COLUMNS} FROM channels WHERE id = ?", (channel_id,))
        return channel_from_row(row) if row else None

    async def find(self, handle: str) -> Channel | None:
        """A channel by @username, username, t.me link (t.me/s/name too) or numeric id (the channel's, or
        its row id); None when unknown or not a channel handle (invite links are not kept here)."""
        try:
            parsed = parse_channel_ref(handle)
        except TelewatchError:
            return None
        if parsed.kind is RefKind.ID:
            row = await self.db.fetchone(
                f"SELECT {COLUMNS} FROM channels WHERE tg_id = ? OR id = ? ORDER BY tg_id = ? DESC",
                (parsed.tg_id, parsed.tg_id, parsed.tg_id),
            )
        elif parsed.kind is RefKind.USERNAME:
            row = await self.db.fetchone(
                f"SELECT {COLUMNS} FROM channels WHERE username = ?", (parsed.username,)
            )
        else:
            return None
        return channel_from_row(row) if row else None

    async def all(self) -> list[Channel]:
        rows = await self.db.fetchall(f"SELECT {COLUMNS} FROM channels ORDER BY id")
        return [channel_from_row(r) for r in rows]

    async def with_label(self, label: str) -> list[Channel]:
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM channels WHERE label = ? COLLATE NOCASE "
            "OR EXISTS (SELECT 1 FROM json_each(channels.tags) WHERE value = ? COLLATE NOCASE)",
            (label, label),
        )
        return [channel_from_row(r) for r in rows]


def _agrees(channel: Channel, ref: ChannelRef) -> bool:
    """True when the stored row already knows everything `ref` says."""
    return (
        (ref.tg_id is None or channel.tg_id == ref.tg_id)
        and (not ref.username or (channel.username or "").lower() == ref.username.lower())
        and (not ref.title or channel.title == ref.title)
    )
