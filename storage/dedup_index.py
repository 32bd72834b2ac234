"""Cross-channel duplicates: remembered texts, their fingerprint index, groups, merges and in-place edits."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from bot.domain.records import RecentText, RememberedText
from bot.domain.storage import Transaction
from storage.codec import to_iso
from storage.db import Database, connection


class DedupRepository:
    """Rows of the duplicate index and the edit queue: bot.domain.storage.DedupStore."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- duplicates -----------------------------------------------------------------------------------

    async def remember_texts(self, tx: Transaction, texts: Sequence[RememberedText], at: datetime) -> None:
        """Remember the texts, shingle hashes and index keys (bot.alerts.fingerprint) of alerted posts not
        remembered yet."""
        conn = connection(tx)
        if not texts:
            return
        stamp = to_iso(at)
        await conn.executemany(
            "INSERT OR IGNORE INTO dedup_texts (post_id, channel_id, group_key, norm, seen_at, shingles) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(t.post_id, t.channel_id, t.group_key, t.norm, stamp, t.shingles) for t in texts],
        )
        await conn.executemany(
            "INSERT OR IGNORE INTO dedup_bands (band, post_id) VALUES (?, ?)",
            [(k, t.post_id) for t in texts for k in t.keys],
        )

    async def known_groups(self, tx: Transaction, post_ids: Sequence[int]) -> dict[int, str]:
        """The duplicate groups of the posts already remembered, by post id."""
        conn = connection(tx)
        found: dict[int, str] = {}
        for chunk in _chunks(post_ids):
            rows = await conn.execute_fetchall(
                f"SELECT post_id, group_key FROM dedup_texts WHERE post_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found.update((int(r[0]), str(r[1])) for r in rows)
        return found

    async def indexed_texts(
        self,
        tx: Transaction,
        keys: Sequence[int],
        since: datetime,
        channels: Sequence[int],
        max_per_key: int,
    ) -> list[tuple[int, RecentText]]:
        """(index key, text) for every text remembered since `since` under one of `keys`, from a channel
        other than the only one in `channels` (when the batch has one). A key held by more than
        `max_per_key` texts is skipped: it says nothing (many templated posts share it), and reading
        it would make the cost grow with the window. Texts are read once, after the narrow key rows."""
        conn = connection(tx)
        hits: list[tuple[int, int]] = []
        for chunk in _chunks(keys, 2000):
            marks = ",".join("?" * len(chunk))
            rows = await conn.execute_fetchall(
                "SELECT b.band, t.post_id, t.channel_id FROM dedup_bands b JOIN dedup_texts t ON t.post_id = b.post_id "
                f"WHERE b.band IN ({marks}) AND t.seen_at >= ? AND b.band NOT IN "
                f"(SELECT band FROM dedup_bands WHERE band IN ({marks}) GROUP BY band HAVING count(*) > ?)",
                (*chunk, to_iso(since), *chunk, max_per_key),
            )
            hits.extend((int(r[0]), int(r[1])) for r in rows if len(channels) != 1 or r[2] != channels[0])
        texts: dict[int, RecentText] = {}
        for chunk in _chunks(sorted({post_id for _, post_id in hits})):
            rows = await conn.execute_fetchall(
                "SELECT post_id, channel_id, group_key, norm, shingles, seen_at FROM dedup_texts "
                f"WHERE post_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            texts.update((int(r[0]), RecentText(r[0], r[1], r[2], r[3], r[4], r[5])) for r in rows)
        return [(key, texts[post_id]) for key, post_id in hits if post_id in texts]

    async def unindexed_texts(self, tx: Transaction, since: datetime) -> list[tuple[int, str]]:
        """(post id, norm) of texts remembered since `since` without a fingerprint (older databases)."""
        conn = connection(tx)
        rows = await conn.execute_fetchall(
            "SELECT post_id, norm FROM dedup_texts WHERE seen_at >= ? AND shingles IS NULL", (to_iso(since),)
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    async def index_text(self, tx: Transaction, post_id: int, shingles: bytes, keys: Sequence[int]) -> None:
        """Store the fingerprint of a text remembered before fingerprints existed."""
        conn = connection(tx)
        await conn.execute("UPDATE dedup_texts SET shingles = ? WHERE post_id = ?", (shingles, post_id))
        await conn.executemany(
            "INSERT OR IGNORE INTO dedup_bands (band, post_id) VALUES (?, ?)", [(k, post_id) for k in keys]
        )

    async def prune_index(self, tx: Transaction, before: datetime) -> int:
        """Drop the index keys and shingles of texts remembered before `before`; returns texts dropped."""
        conn = connection(tx)
        stamp = to_iso(before)
        await conn.execute(
            "DELETE FROM dedup_bands WHERE post_id IN "
            "(SELECT post_id FROM dedup_texts WHERE seen_at < ? AND shingles IS NOT NULL)",
            (stamp,),
        )
        cur = await conn.execute(
            "UPDATE dedup_texts SET shingles = NULL WHERE seen_at < ? AND shingles IS NOT NULL", (stamp,)
        )
        return cur.rowcount

    async def group_primaries(
        self, tx: Transaction, group_keys: Sequence[str], since: datetime
    ) -> dict[tuple[str, str], list[tuple[int, str]]]:
        """Per (group, route): (post id, dedup key) of the live alerts of the group created since
        `since`, oldest first; the first one not about the post at hand is the group's primary."""
        conn = connection(tx)
        found: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for chunk in _chunks(group_keys):
            rows = await conn.execute_fetchall(
                "SELECT group_key, route, post_id, dedup_key FROM alerts "
                f"WHERE group_key IN ({','.join('?' * len(chunk))}) "
                "AND merged_into IS NULL AND status IN ('pending', 'sent', 'held') "
                "AND kind IN ('new', 'late', 'edited') AND created_at >= ? ORDER BY id",
                (*chunk, to_iso(since)),
            )
            for r in rows:
                found.setdefault((str(r[0]), str(r[1])), []).append((int(r[2]), str(r[3])))
        return found

    async def set_merged(self, tx: Transaction, pairs: Sequence[tuple[str, str]]) -> None:
        """Record (copy dedup key, primary dedup key) merges."""
        conn = connection(tx)
        await conn.executemany(
            "UPDATE alerts SET merged_into = ? WHERE dedup_key = ? AND merged_into IS NULL",
            [(primary, copy) for copy, primary in pairs],
        )

    async def request_edit(self, tx: Transaction, dedup_key: str, at: datetime) -> None:
        conn = connection(tx)
        await conn.execute(
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

    async def copies_many(self, primary_keys: Collection[str]) -> dict[str, list[int]]:
        """`copies` for several alerts in one query per chunk; keys without copies are left out."""
        keys = sorted(set(primary_keys))
        found: dict[str, list[int]] = {}
        for start in range(0, len(keys), 400):
            chunk = keys[start : start + 400]
            rows = await self.db.fetchall(
                "SELECT merged_into, post_id FROM alerts WHERE merged_into IN "
                f"({','.join('?' * len(chunk))}) GROUP BY merged_into, post_id ORDER BY merged_into, min(id)",
                chunk,
            )
            for r in rows:
                found.setdefault(str(r[0]), []).append(int(r[1]))
        return found

    async def copies(self, primary_key: str) -> list[int]:
        """Post ids merged into the alert with this dedup key, in arrival order."""
        rows = await self.db.fetchall(
            "SELECT post_id FROM alerts WHERE merged_into = ? GROUP BY post_id ORDER BY min(id)",
            (primary_key,),
        )
        return [int(r[0]) for r in rows]


def _chunks(values: Sequence[Any], size: int = 5000) -> list[Sequence[Any]]:
    """Parameter lists short enough for one statement."""
    return [values[i : i + size] for i in range(0, len(values), size)]
