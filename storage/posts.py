"""Posts: idempotent batched saves, edit versions, deletion marks, reads and full-text search."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from bot.domain.models import Channel, ChannelRef, Post, PostVersion, StoredPost
from bot.domain.records import (  # re-exported: the port's records, once defined here
    SaveOutcome as SaveOutcome,
)
from bot.domain.records import (
    SaveStatus as SaveStatus,
)
from bot.domain.records import (
    SearchFilter as SearchFilter,
)
from bot.domain.storage import Transaction
from bot.domain.text import search_form
from storage.channels import ChannelRepository
from storage.codec import (
    channel_from_row,
    entities_json,
    forward_json,
    from_iso,
    media_json,
    must_iso,
    post_from_row,
    to_iso,
)
from storage.db import Database, connection

POST_COLUMNS = (
    "p.id AS pid, p.message_id, p.date, p.text, p.entities, p.media, p.forward, p.reply_to, p.grouped_id, "
    "p.views, p.forwards, p.edit_date, p.author, p.is_service, p.deleted_at, p.captured_at, p.version_count, "
    "c.id, c.tg_id, c.username, c.title, c.label, c.tags"
)
SELECT_POSTS = f"SELECT {POST_COLUMNS} FROM posts p JOIN channels c ON c.id = p.channel_id"
CHUNK = 400  # SQLite's default limit is 999 bound parameters per statement


def _row_values(channel_id: int, post: Post, captured_at: str | None) -> tuple[Any, ...]:
    return (
        channel_id,
        post.message_id,
        to_iso(post.date),
        post.text,
        entities_json(post.entities),
        media_json(post.media),
        forward_json(post.forward),
        post.forward.key if post.forward else None,
        post.reply_to,
        post.grouped_id,
        post.views,
        post.forwards,
        to_iso(post.edit_date),
        post.author,
        int(post.is_service),
        captured_at,
    )


INSERT_POST = (
    "INSERT INTO posts (channel_id, message_id, date, text, entities, media, forward, forward_key, reply_to, "
    "grouped_id, views, forwards, edit_date, author, is_service, captured_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class PostRepository:
    """Post rows. Writes take the caller's transaction so a post, its matches and alerts commit together."""

    def __init__(self, db: Database, channels: ChannelRepository) -> None:
        self.db = db
        self.channels = channels

    async def save(self, tx: Transaction, posts: Sequence[Post], captured_at: datetime) -> list[SaveOutcome]:
        """Store a batch idempotently: new posts inserted, text edits versioned, repeats left alone.

        Posts of many channels (live posts stored together) cost a few statements per wave in all,
        not a few per channel."""
        conn = connection(tx)
        captured = to_iso(captured_at)
        channels: dict[ChannelRef, Channel] = {}
        for post in posts:
            if post.channel not in channels:
                channels[post.channel] = await self.channels.ensure(conn, post.channel)
        outcomes: list[SaveOutcome] = []
        for wave in _waves(posts, lambda p: (channels[p.channel].id, p.message_id)):
            keyed = [(channels[p.channel], p) for p in wave]
            outcomes.extend(await self._save_wave(conn, keyed, captured))
        return outcomes

    async def _save_wave(
        self, tx: aiosqlite.Connection, posts: list[tuple[Channel, Post]], captured: str | None
    ) -> list[SaveOutcome]:
        existing = await self._existing(tx, [(c.id, p.message_id) for c, p in posts])
        new_posts = [(c, p) for c, p in posts if (c.id, p.message_id) not in existing]
        if new_posts:
            await tx.executemany(INSERT_POST, [_row_values(c.id, p, captured) for c, p in new_posts])
            ids = await self._existing(tx, [(c.id, p.message_id) for c, p in new_posts])
        outcomes: list[SaveOutcome] = []
        for channel, post in posts:
            row = existing.get((channel.id, post.message_id))
            if row is None:
                post_id = ids[(channel.id, post.message_id)]["id"]
                outcomes.append(SaveOutcome(post_id, channel, post, SaveStatus.NEW, 1))
            else:
                outcomes.append(await self._update(tx, channel, post, row, captured))
        return outcomes

    async def _existing(
        self, tx: aiosqlite.Connection, keys: list[tuple[int, int]]
    ) -> dict[tuple[int, int], aiosqlite.Row]:
        """Stored rows by (channel id, message id): one query per chunk, in one round trip each."""
        found: dict[tuple[int, int], aiosqlite.Row] = {}
        half = CHUNK // 2  # two parameters a key
        for start in range(0, len(keys), half):
            chunk = keys[start : start + half]
            if len({c for c, _ in chunk}) == 1:  # a channel's page: the plain IN list
                source = f"posts p WHERE p.channel_id = ? AND p.message_id IN ({','.join('?' * len(chunk))})"
                params: list[int] = [chunk[0][0], *(m for _, m in chunk)]
            else:  # CROSS JOIN keeps the keys outermost: one index search each, never a scan of posts
                source = (
                    f"(VALUES {','.join(['(?, ?)'] * len(chunk))}) AS k CROSS JOIN posts p "
                    "ON p.channel_id = k.column1 AND p.message_id = k.column2"
                )
                params = [v for key in chunk for v in key]
            rows = await tx.execute_fetchall(
                "SELECT p.id, p.channel_id, p.message_id, p.text, p.edit_date, p.views, p.forwards, p.media, "
                "p.entities, p.version_count, COALESCE(p.text_captured_at, p.captured_at) AS text_captured_at "
                f"FROM {source}",
                params,
            )
            for row in rows:
                found[(row["channel_id"], row["message_id"])] = row
        return found

    async def _update(
        self, tx: aiosqlite.Connection, channel: Channel, post: Post, row: aiosqlite.Row, captured: str | None
    ) -> SaveOutcome:
        post_id, version = row["id"], row["version_count"]
        if post.text != row["text"]:
            stored_edit = from_iso(row["edit_date"])
            if stored_edit is not None and (post.edit_date is None or post.edit_date < stored_edit):
                # An older copy of the post (a re-import of a stale export) must not undo a newer edit.
                return SaveOutcome(post_id, channel, post, SaveStatus.UNCHANGED, version)
            # Each version keeps the time its text was first seen: the old text since its own capture,
            # the new text from now.
            await tx.execute(
                "INSERT INTO post_versions (post_id, version, text, edit_date, captured_at) VALUES (?, ?, ?, ?, ?)",
                (post_id, version, row["text"], row["edit_date"], row["text_captured_at"]),
            )
            version += 1
            await tx.execute(
                "UPDATE posts SET text = ?, entities = ?, media = COALESCE(?, media), edit_date = ?, "
                "views = COALESCE(?, views), forwards = COALESCE(?, forwards), version_count = ?, "
                "text_captured_at = ? WHERE id = ?",
                (
                    post.text,
                    entities_json(post.entities),
                    media_json(post.media),
                    to_iso(post.edit_date),
                    post.views,
                    post.forwards,
                    version,
                    captured,
                    post_id,
                ),
            )
            return SaveOutcome(post_id, channel, post, SaveStatus.EDITED, version)
        changed = (
            (post.views is not None and post.views != row["views"])
            or (post.forwards is not None and post.forwards != row["forwards"])
            or (post.media and media_json(post.media) != row["media"])
            or (post.edit_date is not None and to_iso(post.edit_date) != row["edit_date"])
        )
        if not changed:
            return SaveOutcome(post_id, channel, post, SaveStatus.UNCHANGED, version)
        await tx.execute(
            "UPDATE posts SET views = COALESCE(?, views), forwards = COALESCE(?, forwards), "
            "media = COALESCE(?, media), edit_date = COALESCE(?, edit_date) WHERE id = ?",
            (post.views, post.forwards, media_json(post.media), to_iso(post.edit_date), post_id),
        )
        return SaveOutcome(post_id, channel, post, SaveStatus.UPDATED, version)

    async def mark_deleted(
        self, tx: Transaction, channel_id: int, message_ids: Sequence[int], at: datetime
    ) -> list[tuple[int, int]]:
        """Mark posts deleted (never erase them); returns (post id, message id) of posts newly marked."""
        conn = connection(tx)
        marked: list[tuple[int, int]] = []
        for start in range(0, len(message_ids), CHUNK):
            chunk = list(message_ids[start : start + CHUNK])
            marks = ",".join("?" * len(chunk))
            async with conn.execute(
                f"UPDATE posts SET deleted_at = ? WHERE channel_id = ? AND message_id IN ({marks}) "
                "AND deleted_at IS NULL RETURNING id, message_id",
                (to_iso(at), channel_id, *chunk),
            ) as cur:
                marked.extend((r[0], r[1]) for r in await cur.fetchall())
        return marked

    async def get(self, post_id: int) -> StoredPost | None:
        row = await self.db.fetchone(f"{SELECT_POSTS} WHERE p.id = ?", (post_id,))
        return _stored(row) if row else None

    async def get_many(self, post_ids: Collection[int]) -> dict[int, StoredPost]:
        """Several posts by id in one query per chunk (the dispatcher renders a batch of alerts)."""
        found: dict[int, StoredPost] = {}
        ids = sorted(set(post_ids))
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            rows = await self.db.fetchall(
                f"{SELECT_POSTS} WHERE p.id IN ({','.join('?' * len(chunk))})", chunk
            )
            for row in rows:
                stored = _stored(row)
                found[stored.id] = stored
        return found

    async def get_by_message(self, channel_id: int, message_id: int) -> StoredPost | None:
        row = await self.db.fetchone(
            f"{SELECT_POSTS} WHERE p.channel_id = ? AND p.message_id = ?", (channel_id, message_id)
        )
        return _stored(row) if row else None

    async def versions(self, post_id: int) -> list[PostVersion]:
        """Every text the post has had, oldest first; the last one is the current text."""
        rows = await self.db.fetchall(
            "SELECT version, text, edit_date, captured_at FROM post_versions WHERE post_id = ? ORDER BY version",
            (post_id,),
        )
        versions = [
            PostVersion(r["version"], r["text"], from_iso(r["edit_date"]), must_iso(r["captured_at"]))
            for r in rows
        ]
        current = await self.get(post_id)
        if current is not None:
            row = await self.db.fetchone(
                "SELECT COALESCE(text_captured_at, captured_at) FROM posts WHERE id = ?", (post_id,)
            )
            first_seen = must_iso(row[0]) if row else current.captured_at
            versions.append(
                PostVersion(current.version_count, current.post.text, current.post.edit_date, first_seen)
            )
        return versions

    async def search(
        self, query: str, where: SearchFilter = SearchFilter(), limit: int = 20
    ) -> list[StoredPost]:
        """Full-text search (FTS5 syntax: words, "phrases", prefix*, OR, NOT), newest first."""
        clauses, params = _filter_sql(where)
        sql = (
            f"{SELECT_POSTS} JOIN posts_fts f ON f.rowid = p.id WHERE posts_fts MATCH ? {clauses} "
            "ORDER BY p.date DESC LIMIT ?"
        )
        try:
            rows = await self.db.fetchall(sql, (fts_query(query), *params, limit))
        except sqlite3.OperationalError as e:
            if "fts5" not in str(e):
                raise
            # Stray operators or brackets: search for the words themselves instead of failing.
            rows = await self.db.fetchall(sql, (literal_query(query), *params, limit))
        return [_stored(r) for r in rows]

    async def recent(self, where: SearchFilter = SearchFilter(), limit: int = 20) -> list[StoredPost]:
        clauses, params = _filter_sql(where)
        rows = await self.db.fetchall(
            f"{SELECT_POSTS} WHERE 1 = 1 {clauses} ORDER BY p.date DESC LIMIT ?", (*params, limit)
        )
        return [_stored(r) for r in rows]

    async def iterate(
        self, where: SearchFilter = SearchFilter(), batch: int = 2000
    ) -> AsyncIterator[StoredPost]:
        """Every post matching `where`, oldest first, read in batches (for re-scans)."""
        clauses, params = _filter_sql(where)
        last_id = 0
        while True:
            rows = await self.db.fetchall(
                f"{SELECT_POSTS} WHERE p.id > ? {clauses} ORDER BY p.id LIMIT ?", (last_id, *params, batch)
            )
            if not rows:
                return
            for row in rows:
                yield _stored(row)
            last_id = rows[-1]["pid"]

    async def count(self) -> int:
        row = await self.db.fetchone("SELECT count(*) FROM posts")
        return int(row[0]) if row else 0

    async def max_message_id(self, channel_id: int) -> int:
        row = await self.db.fetchone("SELECT max(message_id) FROM posts WHERE channel_id = ?", (channel_id,))
        return int(row[0]) if row and row[0] is not None else 0


def _waves(posts: Sequence[Post], identity: Callable[[Post], tuple[int, int]]) -> list[list[Post]]:
    """Split a batch so no wave holds a post twice: an original and its edit are saved in order."""
    waves: list[list[Post]] = []
    seen: list[set[tuple[int, int]]] = []
    for post in posts:
        # one wave after the last wave holding an earlier copy of this post
        level = 0
        key = identity(post)
        for i, ids in enumerate(seen):
            if key in ids:
                level = i + 1
        if level == len(waves):
            waves.append([])
            seen.append(set())
        waves[level].append(post)
        seen[level].add(key)
    return waves


def _filter_sql(where: SearchFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if where.channel_ids:
        clauses.append(f"p.channel_id IN ({','.join('?' * len(where.channel_ids))})")
        params.extend(where.channel_ids)
    if where.since is not None:
        clauses.append("p.date >= ?")
        params.append(to_iso(where.since))
    if where.until is not None:
        clauses.append("p.date < ?")
        params.append(to_iso(where.until))
    if not where.include_deleted:
        clauses.append("p.deleted_at IS NULL")
    return "".join(f" AND {c}" for c in clauses), params


# Control characters separate words like spaces; FTS5 would read a NUL as the end of the query.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


def fts_query(query: str) -> str:
    """Pass FTS5 syntax through, but quote bare words holding characters FTS5 would reject (like '-').
    Invisible characters (a soft hyphen) are dropped, as the index drops them."""
    query = _CONTROLS.sub(" ", search_form(query)).strip()
    if not query:
        return '""'
    operators = {"AND", "OR", "NOT", "NEAR"}
    parts: list[str] = []
    for token in _tokens(query):
        if (
            token in operators
            or token.startswith('"')
            or token in ("(", ")")
            or (token.endswith("*") and token[:-1].replace("_", "").isalnum())
            or token.replace("_", "").isalnum()
        ):
            parts.append(token)
        else:
            parts.append('"' + token.replace('"', '""') + '"')
    return " ".join(parts)


def literal_query(query: str) -> str:
    """Every whitespace-separated piece of `query` as a quoted FTS5 string (all must occur)."""
    pieces = [p.replace('"', "") for p in _CONTROLS.sub(" ", search_form(query)).split()]
    return " ".join(f'"{p}"' for p in pieces if p) or '""'


def _tokens(query: str) -> list[str]:
    tokens: list[str] = []
    i = 0
    while i < len(query):
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch == '"':
            end = query.find('"', i + 1)
            end = len(query) if end == -1 else end + 1
            phrase = query[i:end]
            tokens.append(phrase if phrase.endswith('"') and len(phrase) > 1 else phrase + '"')
            i = end
        elif ch in "()":
            tokens.append(ch)
            i += 1
        else:
            j = i
            while j < len(query) and not query[j].isspace() and query[j] not in '()"':
                j += 1
            tokens.append(query[i:j])
            i = j
    return tokens


def _stored(row: aiosqlite.Row) -> StoredPost:
    channel = channel_from_row(row)
    return StoredPost(
        id=row["pid"],
        channel=channel,
        post=post_from_row(row, channel),
        captured_at=must_iso(row["captured_at"]),
        deleted_at=from_iso(row["deleted_at"]),
        version_count=row["version_count"],
    )
