"""Chat-control state: mutes, pause, duplicate groups and in-place edits, digests, overview counts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from bot.domain.models import Alert, AlertStatus
from storage.alerts import COLUMNS as ALERT_COLUMNS
from storage.alerts import alert_from_row
from storage.codec import from_iso, must_iso, to_iso
from storage.db import Database

PAUSE_KEY = "control.paused"


@dataclass(frozen=True, slots=True)
class Mute:
    """A rule or channel muted until `until`."""

    id: int
    kind: str  # rule | channel
    value: str  # rule name, or channel row id as text
    label: str
    until: datetime
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Pause:
    """Alert delivery paused by someone, at some time."""

    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class AlertInfo:
    """An alert with the columns chat control needs beyond bot.domain.models.Alert."""

    alert: Alert
    route: str
    target: str | None
    group_key: str | None
    merged_into: str | None
    sent_message_id: int | None
    review: str | None
    reviewed_by: str | None


@dataclass(frozen=True, slots=True)
class RecentText:
    """A recently alerted post's normalised text and its shingle hashes."""

    post_id: int
    channel_id: int
    group_key: str
    norm: str
    shingles: bytes | None = None
    seen_at: str = ""
    order: int = 0  # > 0: remembered in the batch being judged, later ones higher (newer than any row)


@dataclass(frozen=True, slots=True)
class RememberedText:
    """A text to remember for deduplication, with its fingerprint."""

    post_id: int
    channel_id: int
    group_key: str
    norm: str
    shingles: bytes
    keys: Sequence[int]


@dataclass(frozen=True, slots=True)
class HeldRoute:
    """Alerts held for a route's digest."""

    route: str
    count: int
    oldest: datetime
    max_severity: int
    sink: str
    target: str | None


@dataclass(frozen=True, slots=True)
class Digest:
    """A digest being (or having been) delivered."""

    id: int
    route: str
    sink: str
    target: str | None
    status: str
    parts_sent: int
    attempts: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ChannelOverview:
    """What `/channels` shows about one stored channel."""

    channel_id: int
    state: str
    last_post_at: datetime | None
    posts_since: int


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


class ControlRepository:
    """Rows of the 0002 migration, plus a few read-only queries over posts and alerts."""

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

    async def active_mutes(self, now: datetime, tx: aiosqlite.Connection | None = None) -> list[Mute]:
        """Mutes still in force at `now` (read inside `tx` when given)."""
        sql = "SELECT * FROM mutes WHERE until > ? ORDER BY until"
        if tx is not None:
            rows = list(await tx.execute_fetchall(sql, (to_iso(now),)))
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

    async def paused_in(self, tx: aiosqlite.Connection) -> bool:
        return bool(await tx.execute_fetchall("SELECT 1 FROM meta WHERE key = ?", (PAUSE_KEY,)))

    async def set_paused(self, by: str, at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (PAUSE_KEY, json.dumps({"by": by, "at": to_iso(at)})),
        )

    async def clear_paused(self) -> bool:
        async with self.db.transaction() as tx:
            cur = await tx.execute("DELETE FROM meta WHERE key = ?", (PAUSE_KEY,))
            return cur.rowcount > 0

    # -- duplicates -----------------------------------------------------------------------------------

    async def remember_texts(
        self, tx: aiosqlite.Connection, texts: Sequence[RememberedText], at: datetime
    ) -> None:
        """Remember the texts, shingle hashes and index keys (bot.alerts.fingerprint) of alerted posts not
        remembered yet."""
        if not texts:
            return
        stamp = to_iso(at)
        await tx.executemany(
            "INSERT OR IGNORE INTO dedup_texts (post_id, channel_id, group_key, norm, seen_at, shingles) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(t.post_id, t.channel_id, t.group_key, t.norm, stamp, t.shingles) for t in texts],
        )
        await tx.executemany(
            "INSERT OR IGNORE INTO dedup_bands (band, post_id) VALUES (?, ?)",
            [(k, t.post_id) for t in texts for k in t.keys],
        )

    async def known_groups(self, tx: aiosqlite.Connection, post_ids: Sequence[int]) -> dict[int, str]:
        """The duplicate groups of the posts already remembered, by post id."""
        found: dict[int, str] = {}
        for chunk in _chunks(post_ids):
            rows = await tx.execute_fetchall(
                f"SELECT post_id, group_key FROM dedup_texts WHERE post_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found.update((int(r[0]), str(r[1])) for r in rows)
        return found

    async def indexed_texts(
        self,
        tx: aiosqlite.Connection,
        keys: Sequence[int],
        since: datetime,
        channels: Sequence[int],
        max_per_key: int,
    ) -> list[tuple[int, RecentText]]:
        """(index key, text) for every text remembered since `since` under one of `keys`, from a channel
        other than the only one in `channels` (when the batch has one). A key held by more than
        `max_per_key` texts is skipped: it says nothing (many templated posts share it), and reading
        it would make the cost grow with the window. Texts are read once, after the narrow key rows."""
        hits: list[tuple[int, int]] = []
        for chunk in _chunks(keys, 2000):
            marks = ",".join("?" * len(chunk))
            rows = await tx.execute_fetchall(
                "SELECT b.band, t.post_id, t.channel_id FROM dedup_bands b JOIN dedup_texts t ON t.post_id = b.post_id "
                f"WHERE b.band IN ({marks}) AND t.seen_at >= ? AND b.band NOT IN "
                f"(SELECT band FROM dedup_bands WHERE band IN ({marks}) GROUP BY band HAVING count(*) > ?)",
                (*chunk, to_iso(since), *chunk, max_per_key),
            )
            hits.extend((int(r[0]), int(r[1])) for r in rows if len(channels) != 1 or r[2] != channels[0])
        texts: dict[int, RecentText] = {}
        for chunk in _chunks(sorted({post_id for _, post_id in hits})):
            rows = await tx.execute_fetchall(
                "SELECT post_id, channel_id, group_key, norm, shingles, seen_at FROM dedup_texts "
                f"WHERE post_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            texts.update((int(r[0]), RecentText(r[0], r[1], r[2], r[3], r[4], r[5])) for r in rows)
        return [(key, texts[post_id]) for key, post_id in hits if post_id in texts]

    async def unindexed_texts(self, tx: aiosqlite.Connection, since: datetime) -> list[tuple[int, str]]:
        """(post id, norm) of texts remembered since `since` without a fingerprint (older databases)."""
        rows = await tx.execute_fetchall(
            "SELECT post_id, norm FROM dedup_texts WHERE seen_at >= ? AND shingles IS NULL", (to_iso(since),)
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    async def index_text(
        self, tx: aiosqlite.Connection, post_id: int, shingles: bytes, keys: Sequence[int]
    ) -> None:
        """Store the fingerprint of a text remembered before fingerprints existed."""
        await tx.execute("UPDATE dedup_texts SET shingles = ? WHERE post_id = ?", (shingles, post_id))
        await tx.executemany(
            "INSERT OR IGNORE INTO dedup_bands (band, post_id) VALUES (?, ?)", [(k, post_id) for k in keys]
        )

    async def prune_index(self, tx: aiosqlite.Connection, before: datetime) -> int:
        """Drop the index keys and shingles of texts remembered before `before`; returns texts dropped."""
        stamp = to_iso(before)
        await tx.execute(
            "DELETE FROM dedup_bands WHERE post_id IN "
            "(SELECT post_id FROM dedup_texts WHERE seen_at < ? AND shingles IS NOT NULL)",
            (stamp,),
        )
        cur = await tx.execute(
            "UPDATE dedup_texts SET shingles = NULL WHERE seen_at < ? AND shingles IS NOT NULL", (stamp,)
        )
        return cur.rowcount

    async def group_primaries(
        self, tx: aiosqlite.Connection, group_keys: Sequence[str], since: datetime
    ) -> dict[tuple[str, str], list[tuple[int, str]]]:
        """Per (group, route): (post id, dedup key) of the live alerts of the group created since
        `since`, oldest first; the first one not about the post at hand is the group's primary."""
        found: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for chunk in _chunks(group_keys):
            rows = await tx.execute_fetchall(
                "SELECT group_key, route, post_id, dedup_key FROM alerts "
                f"WHERE group_key IN ({','.join('?' * len(chunk))}) "
                "AND merged_into IS NULL AND status IN ('pending', 'sent', 'held') "
                "AND kind IN ('new', 'late', 'edited') AND created_at >= ? ORDER BY id",
                (*chunk, to_iso(since)),
            )
            for r in rows:
                found.setdefault((str(r[0]), str(r[1])), []).append((int(r[2]), str(r[3])))
        return found

    async def set_merged(self, tx: aiosqlite.Connection, pairs: Sequence[tuple[str, str]]) -> None:
        """Record (copy dedup key, primary dedup key) merges."""
        await tx.executemany(
            "UPDATE alerts SET merged_into = ? WHERE dedup_key = ? AND merged_into IS NULL",
            [(primary, copy) for copy, primary in pairs],
        )

    async def request_edit(self, tx: aiosqlite.Connection, dedup_key: str, at: datetime) -> None:
        await tx.execute(
            "INSERT INTO alert_edits (dedup_key, requested_at) VALUES (?, ?) ON CONFLICT (dedup_key) DO NOTHING",
            (dedup_key, to_iso(at)),
        )

    async def edit_requests(self) -> list[tuple[str, int]]:
        rows = await self.db.fetchall("SELECT dedup_key, attempts FROM alert_edits ORDER BY requested_at")
        return [(str(r[0]), int(r[1])) for r in rows]

    async def drop_edit(self, dedup_key: str) -> None:
        await self.db.execute("DELETE FROM alert_edits WHERE dedup_key = ?", (dedup_key,))

    async def bump_edit(self, dedup_key: str) -> None:
        await self.db.execute(
            "UPDATE alert_edits SET attempts = attempts + 1 WHERE dedup_key = ?", (dedup_key,)
        )

    async def copies(self, primary_key: str) -> list[int]:
        """Post ids merged into the alert with this dedup key, in arrival order."""
        rows = await self.db.fetchall(
            "SELECT post_id FROM alerts WHERE merged_into = ? GROUP BY post_id ORDER BY min(id)",
            (primary_key,),
        )
        return [int(r[0]) for r in rows]

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
                "UPDATE alerts SET review = ?, reviewed_by = ?, reviewed_at = ? WHERE id = ?",
                [(mark, by, to_iso(at), i) for i in alert_ids],
            )

    async def review_and_refresh(
        self, alert_ids: Sequence[int], mark: str, by: str, at: datetime, refresh_keys: Sequence[str]
    ) -> None:
        """Mark alerts (as review_many) and ask for the sent messages of `refresh_keys` to be re-rendered
        in place, so a mark made outside the chat (the web page) shows on the alert message too."""
        async with self.db.transaction() as tx:
            await tx.executemany(
                "UPDATE alerts SET review = ?, reviewed_by = ?, reviewed_at = ? WHERE id = ?",
                [(mark, by, to_iso(at), i) for i in alert_ids],
            )
            await tx.executemany(
                "INSERT INTO alert_edits (dedup_key, requested_at) VALUES (?, ?) "
                "ON CONFLICT (dedup_key) DO NOTHING",
                [(key, to_iso(at)) for key in refresh_keys],
            )

    # -- digests --------------------------------------------------------------------------------------

    async def held_routes(self) -> list[HeldRoute]:
        """Routes with alerts waiting for a digest."""
        rows = await self.db.fetchall(
            "SELECT route, count(*), min(created_at), max(severity), min(sink), min(target) FROM alerts "
            "WHERE status = 'held' AND digest_id IS NULL GROUP BY route ORDER BY route"
        )
        return [HeldRoute(r[0], int(r[1]), must_iso(r[2]), int(r[3]), r[4], r[5]) for r in rows]

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


def _chunks(values: Sequence[Any], size: int = 5000) -> list[Sequence[Any]]:
    """Parameter lists short enough for one statement."""
    return [values[i : i + size] for i in range(0, len(values), size)]


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
