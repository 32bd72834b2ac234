"""Read-side queries of the review pages: filtered search pages with snippets, per-hour/day counts,
copies of a post in other channels, reply threads, review queues and per-channel activity."""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.archive import (
    MARK_CLOSE,
    MARK_OPEN,
    Bucket,
    ChannelActivity,
    PostHit,
    PostPage,
    PostQuery,
    QueueFilter,
)
from bot.domain.models import StoredPost
from storage.codec import from_iso, to_iso
from storage.db import Database
from storage.posts import POST_COLUMNS, SELECT_POSTS, _stored, fts_query, literal_query


def _post_filters(q: PostQuery) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if q.channel_ids:
        clauses.append(f"p.channel_id IN ({','.join('?' * len(q.channel_ids))})")
        params.extend(q.channel_ids)
    if q.since is not None:
        clauses.append("p.date >= ?")
        params.append(to_iso(q.since))
    if q.until is not None:
        clauses.append("p.date < ?")
        params.append(to_iso(q.until))
    if q.rule:
        clauses.append(
            "EXISTS (SELECT 1 FROM matches m WHERE m.post_id = p.id AND m.rule = ? AND m.superseded_at IS NULL)"
        )
        params.append(q.rule)
    if q.min_severity is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM matches m WHERE m.post_id = p.id AND m.severity >= ? "
            "AND m.superseded_at IS NULL)"
        )
        params.append(q.min_severity)
    for flag, sql in (
        (q.has_media, "p.media IS NOT NULL AND p.media != '[]'"),
        (q.edited, "p.version_count > 1"),
        (q.deleted, "p.deleted_at IS NOT NULL"),
    ):
        if flag is not None:
            clauses.append(f"({sql})" if flag else f"NOT ({sql})")
    return clauses, params


# A text or rule matching at least this many posts is "dense": its newest posts are found by walking the
# date index rather than by sorting every match.
DENSE = 2000
RELEVANCE_WINDOW = 5000  # relevance ranks this many of the newest matches of a text
PREFIX_TERMS = 64  # a prefix standing for more indexed words than this is left to FTS5
WALK_LIMIT = 200_000  # posts walked by date for one page of a dense text before reading every match


_QUERY_PARTS = re.compile(r'"(?:[^"]|"")*"|[()]|[^\s()"]+')


def _needs_and(before: str, after: str) -> bool:
    """Whether two query parts meet by an implicit AND that FTS5 wants written out (a bracket is there)."""
    operators = ("AND", "OR", "NOT")
    if before in operators or after in operators or before == "(" or after == ")":
        return False
    return before.endswith(")") or after.startswith("(")


def _fold(word: str) -> str:
    """A word as the unicode61 tokenizer (remove_diacritics 2) indexes it: lower case, Latin letters without
    diacritics (Cyrillic й, ё, ї keep theirs)."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", word.lower()):
        if unicodedata.combining(ch) and out and ord(out[-1]) < 0x250:
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


class ArchiveQueries:
    """Queries behind the review pages; read-only, so they work on a database opened read-only."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- posts ----------------------------------------------------------------------------------------

    async def search_page(self, q: PostQuery) -> PostPage:
        """One page of posts matching `q` (FTS5 syntax with the fallbacks of `posts search`).

        The page's post ids are found first and their rows and snippets read after, so a word found in
        hundreds of thousands of posts costs no more than the page: few matches are sorted by date,
        many are found by walking the date index (they are dense there), and relevance ranks the newest
        RELEVANCE_WINDOW matches."""
        clauses, params = _post_filters(q)
        where = "".join(f" AND {c}" for c in clauses)
        desc = q.sort != "oldest"
        order = "p.date DESC, p.id DESC" if desc else "p.date ASC, p.id ASC"
        window = (q.limit + 1, q.offset)
        if not q.text.strip():
            if (
                q.rule
                and q.min_severity is None
                and not q.channel_ids
                and not await self._many_rule_matches(q.rule)
            ):
                # A rare rule: read its matches first, then sort them.
                sql = (
                    "SELECT p.id FROM posts p JOIN (SELECT DISTINCT post_id FROM matches WHERE rule = ?) r "
                    f"ON r.post_id = p.id WHERE 1 = 1 {where} ORDER BY {order} LIMIT ? OFFSET ?"
                )
                ids = await self._ids(sql, (q.rule, *params, *window))
            else:
                sql = f"SELECT p.id FROM posts p INDEXED BY posts_date WHERE 1 = 1 {where} ORDER BY {order} LIMIT ? OFFSET ?"
                ids = await self._ids(sql, (*params, *window))
            return await self._page(ids, None, q.limit, literal=False)
        literal = False
        try:
            match = await self.expand_prefixes(fts_query(q.text))
            probe = await self._ids(
                f"SELECT rowid FROM posts_fts WHERE posts_fts MATCH ? ORDER BY rowid {'DESC' if desc else 'ASC'} LIMIT ?",
                (match, DENSE),
            )
        except sqlite3.OperationalError as e:
            if "fts5" not in str(e):
                raise
            literal, match = True, literal_query(q.text)
            probe = await self._ids(
                "SELECT rowid FROM posts_fts WHERE posts_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
                (match, DENSE),
            )
        if q.sort == "relevance":
            newest = await self._ids(
                "SELECT rowid FROM posts_fts WHERE posts_fts MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                (match, RELEVANCE_WINDOW - 1),
            )
            floor = " AND f.rowid >= ?" if newest else ""
            sql = (
                "SELECT p.id FROM posts_fts f JOIN posts p ON p.id = f.rowid WHERE posts_fts MATCH ?"
                f"{floor} {where} ORDER BY f.rank, p.date DESC LIMIT ? OFFSET ?"
            )
            ids = await self._ids(sql, (match, *newest, *params, *window))
        elif len(probe) < DENSE:
            sql = (
                "SELECT p.id FROM posts_fts f JOIN posts p ON p.id = f.rowid "
                f"WHERE posts_fts MATCH ? {where} ORDER BY {order} LIMIT ? OFFSET ?"
            )
            ids = await self._ids(sql, (match, *params, *window))
        else:
            ids = await self._dense_page(q, match, where, params)
        return await self._page(ids, match, q.limit, literal=literal)

    async def _dense_page(self, q: PostQuery, match: str, where: str, params: list[Any]) -> list[int]:
        """A page of a text found in many posts: walk the date index (with the filters) in growing chunks
        and keep the posts of each chunk that the text matches, asking the full-text index only for the
        chunk's id range. Exact in any order of ids; fast when ids follow time, as a watcher stores them.
        After WALK_LIMIT posts without a full page, every match is read instead."""
        desc = q.sort != "oldest"
        need = q.offset + q.limit + 1
        direction = "DESC" if desc else "ASC"
        found: list[int] = []
        cursor: tuple[str, int] | None = None
        chunk = min(max(4 * need, 100), 20_000)
        walked = 0
        while len(found) < need and walked < WALK_LIMIT:
            after = f" AND (p.date, p.id) {'<' if desc else '>'} (?, ?)" if cursor else ""
            rows = await self.db.fetchall(
                f"SELECT p.id, p.date FROM posts p INDEXED BY posts_date WHERE 1 = 1 {where}{after} "
                f"ORDER BY p.date {direction}, p.id {direction} LIMIT ?",
                (*params, *(cursor or ()), chunk),
            )
            if not rows:
                return found[q.offset : need]
            ids = [int(r[0]) for r in rows]
            hits = set(
                await self._ids(
                    "SELECT rowid FROM posts_fts WHERE posts_fts MATCH ? AND rowid BETWEEN ? AND ?",
                    (match, min(ids), max(ids)),
                )
            )
            found.extend(i for i in ids if i in hits)
            cursor = (rows[-1][1], ids[-1])
            walked += len(rows)
            chunk = min(chunk * 2, 20_000)
        if len(found) >= need:
            return found[q.offset : need]
        order = f"p.date {direction}, p.id {direction}"
        sql = (
            "SELECT p.id FROM posts p INDEXED BY posts_date WHERE p.id IN "
            f"(SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?) {where} ORDER BY {order} LIMIT ? OFFSET ?"
        )
        return await self._ids(sql, (match, *params, q.limit + 1, q.offset))

    async def expand_prefixes(self, match: str) -> str:
        """An FTS5 query with each `prefix*` replaced by the indexed words it stands for, when there are at
        most PREFIX_TERMS of them: the same posts, found without merging the prefix's postings each time."""
        if "*" not in match or "NEAR" in match:
            return match
        parts: list[str] = []
        for token in _QUERY_PARTS.findall(match):
            if token.endswith("*") and not token.startswith('"') and len(token) > 1:
                prefix = _fold(token[:-1])
                rows = await self.db.fetchall(
                    "SELECT term FROM posts_terms WHERE term >= ? AND term < ? ORDER BY term LIMIT ?",
                    (prefix, prefix + "\U0010ffff", PREFIX_TERMS + 1),
                )
                if 0 < len(rows) <= PREFIX_TERMS:
                    words = " OR ".join('"' + str(r[0]).replace('"', '""') + '"' for r in rows)
                    token = f"({words})"
            parts.append(token)
        # FTS5 takes no implicit AND next to a bracket: write it out there.
        joined: list[str] = []
        for token in parts:
            if joined and _needs_and(joined[-1], token):
                joined.append("AND")
            joined.append(token)
        return " ".join(joined)

    async def _many_rule_matches(self, rule: str) -> bool:
        row = await self.db.fetchone(
            "SELECT count(*) FROM (SELECT 1 FROM matches WHERE rule = ? LIMIT ?)", (rule, DENSE)
        )
        return row is not None and int(row[0]) >= DENSE

    async def _ids(self, sql: str, params: Sequence[Any]) -> list[int]:
        return [int(r[0]) for r in await self.db.fetchall(sql, params)]

    async def _page(self, ids: list[int], match: str | None, limit: int, *, literal: bool) -> PostPage:
        """The rows (and snippets, for a text search) of the page's post ids, in their order."""
        shown = ids[:limit]
        if not shown:
            return PostPage((), False, literal)
        marks = ",".join("?" * len(shown))
        if match is None:
            rows = await self.db.fetchall(
                f"SELECT {POST_COLUMNS}, NULL AS snip FROM posts p JOIN channels c ON c.id = p.channel_id "
                f"WHERE p.id IN ({marks})",
                shown,
            )
        else:
            rows = await self.db.fetchall(
                f"SELECT {POST_COLUMNS}, snippet(posts_fts, 0, '{MARK_OPEN}', '{MARK_CLOSE}', '…', 40) AS snip "
                "FROM posts_fts f JOIN posts p ON p.id = f.rowid JOIN channels c ON c.id = p.channel_id "
                f"WHERE posts_fts MATCH ? AND f.rowid IN ({marks})",
                (match, *shown),
            )
        by_id = {int(r["pid"]): r for r in rows}
        hits = tuple(PostHit(_stored(by_id[i]), by_id[i]["snip"]) for i in shown if i in by_id)
        return PostPage(hits, len(ids) > limit, literal)

    async def highlighted(self, post_id: int, text_query: str) -> str | None:
        """The post's current text with MARK_OPEN/MARK_CLOSE around the words `text_query` finds."""
        sql = (
            f"SELECT highlight(posts_fts, 0, '{MARK_OPEN}', '{MARK_CLOSE}') FROM posts_fts "
            "WHERE posts_fts MATCH ? AND rowid = ?"
        )
        for query in (fts_query(text_query), literal_query(text_query)):
            try:
                row = await self.db.fetchone(sql, (query, post_id))
            except sqlite3.OperationalError as e:
                if "fts5" not in str(e):
                    raise
                continue
            return str(row[0]) if row else None
        return None

    async def copies(self, post_id: int, limit: int = 50) -> list[StoredPost]:
        """The same post elsewhere: near-identical copies (one dedup group) and forwards of one original."""
        rows = await self.db.fetchall(
            f"{SELECT_POSTS} WHERE p.id != ? AND (p.id IN (SELECT t.post_id FROM dedup_texts t WHERE t.group_key = "
            "(SELECT group_key FROM dedup_texts WHERE post_id = ?)) OR p.forward_key = "
            "(SELECT forward_key FROM posts WHERE id = ?)) ORDER BY p.date LIMIT ?",
            (post_id, post_id, post_id, limit),
        )
        return [_stored(r) for r in rows]

    async def replies(self, channel_id: int, message_id: int, limit: int = 50) -> list[StoredPost]:
        """Stored posts of the same channel that reply to `message_id`, oldest first."""
        rows = await self.db.fetchall(
            f"{SELECT_POSTS} WHERE p.channel_id = ? AND p.reply_to = ? AND p.reply_to IS NOT NULL "
            "ORDER BY p.message_id LIMIT ?",
            (channel_id, message_id, limit),
        )
        return [_stored(r) for r in rows]

    async def rule_names(self) -> list[str]:
        """Every rule that has matched a stored post."""
        rows = await self.db.fetchall("SELECT DISTINCT rule FROM matches ORDER BY rule")
        return [str(r[0]) for r in rows]

    async def labels(self) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT DISTINCT label FROM channels WHERE label IS NOT NULL AND label != '' ORDER BY label"
        )
        return [str(r[0]) for r in rows]

    # -- counts for charts and the rules page ---------------------------------------------------------

    async def matches_per_hour(self, since: datetime, until: datetime | None = None) -> list[Bucket]:
        """Current matches per rule per hour of the post's date."""
        rows = await self.db.fetchall(
            "SELECT substr(p.date, 1, 13) AS b, m.rule, count(*) FROM matches m JOIN posts p ON p.id = m.post_id "
            "WHERE m.superseded_at IS NULL AND p.date >= ? AND (? IS NULL OR p.date < ?) GROUP BY b, m.rule ORDER BY b",
            (to_iso(since), to_iso(until), to_iso(until)),
        )
        return [Bucket(str(r[0]), str(r[1]), int(r[2])) for r in rows]

    async def matches_per_day(self, since: datetime) -> list[Bucket]:
        """Current matches per rule per day of the post's date."""
        rows = await self.db.fetchall(
            "SELECT substr(p.date, 1, 10) AS b, m.rule, count(*) FROM matches m JOIN posts p ON p.id = m.post_id "
            "WHERE m.superseded_at IS NULL AND p.date >= ? GROUP BY b, m.rule ORDER BY b",
            (to_iso(since),),
        )
        return [Bucket(str(r[0]), str(r[1]), int(r[2])) for r in rows]

    async def posts_per_day(self, since: datetime, until: datetime | None = None) -> list[Bucket]:
        """Posts per channel (row id as text) per day."""
        rows = await self.db.fetchall(
            "SELECT substr(date, 1, 10) AS b, channel_id, count(*) FROM posts "
            "WHERE date >= ? AND (? IS NULL OR date < ?) GROUP BY b, channel_id ORDER BY b",
            (to_iso(since), to_iso(until), to_iso(until)),
        )
        return [Bucket(str(r[0]), str(r[1]), int(r[2])) for r in rows]

    async def newest_post_date(self) -> datetime | None:
        row = await self.db.fetchone("SELECT max(date) FROM posts")
        return from_iso(row[0]) if row and row[0] else None

    async def channel_activity(self, since: datetime) -> dict[int, ChannelActivity]:
        """Per stored channel: state, newest post, posts since `since`, all posts."""
        rows = await self.db.fetchall(
            "SELECT c.id, c.state, (SELECT max(date) FROM posts p WHERE p.channel_id = c.id) AS last, "
            "(SELECT count(*) FROM posts p WHERE p.channel_id = c.id AND p.date >= ?) AS recent, "
            "(SELECT count(*) FROM posts p WHERE p.channel_id = c.id) AS total FROM channels c",
            (to_iso(since),),
        )
        return {
            int(r[0]): ChannelActivity(int(r[0]), str(r[1]), from_iso(r[2]), int(r[3]), int(r[4]))
            for r in rows
        }

    # -- alerts ---------------------------------------------------------------------------------------

    async def review_queue(self, f: QueueFilter) -> tuple[list[dict[str, Any]], bool]:
        """Alerts newest first with their post and channel, one page; (rows, whether more follow)."""
        clauses: list[str] = []
        params: list[Any] = []
        if f.rule:
            clauses.append("a.rule = ?")
            params.append(f.rule)
        if f.route:
            clauses.append("a.route = ?")
            params.append(f.route)
        if f.statuses:
            clauses.append(f"a.status IN ({','.join('?' * len(f.statuses))})")
            params.extend(f.statuses)
        if f.post_id is not None:
            clauses.append("a.post_id = ?")
            params.append(f.post_id)
        if f.review == "unreviewed":
            clauses.append("a.review IS NULL")
        elif f.review:
            clauses.append("a.review = ?")
            params.append(f.review)
        rows = await self.db.fetchall(
            "SELECT a.id, a.rule, a.severity, a.kind, a.route, a.sink, a.status, a.created_at, a.sent_at, "
            "a.last_error, a.review, a.reviewed_by, a.reviewed_at, a.merged_into, a.score, a.demoted, p.id AS post_id, p.message_id, "
            "p.date, p.text, p.deleted_at, c.id AS channel_id, c.username, c.title, c.tg_id "
            "FROM alerts a JOIN posts p ON p.id = a.post_id JOIN channels c ON c.id = p.channel_id"
            + (" WHERE " + " AND ".join(clauses) if clauses else "")
            + " ORDER BY a.id DESC LIMIT ? OFFSET ?",
            (*params, f.limit + 1, f.offset),
        )
        found = [dict(r) for r in rows]
        for row in found:
            for key in ("date", "created_at", "sent_at", "reviewed_at", "deleted_at"):
                row[key] = from_iso(row[key])
        return found[: f.limit], len(found) > f.limit

    async def routes(self) -> list[str]:
        rows = await self.db.fetchall("SELECT DISTINCT route FROM alerts ORDER BY route")
        return [str(r[0]) for r in rows]
