"""The repositories whose SQL SQLite alone understands (FTS5, julianday, json_each), for PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiosqlite

from bot.domain.archive import MARK_CLOSE, MARK_OPEN, PostHit, PostPage, PostQuery
from bot.domain.models import StoredPost
from bot.domain.records import ChannelActivity, SearchFilter
from storage.alerts import AlertRepository
from storage.archive import RELEVANCE_WINDOW, ArchiveQueries, _post_filters
from storage.channels import COLUMNS, ChannelRepository
from storage.codec import channel_from_row, from_iso, to_iso
from storage.leases import LeaseRepository
from storage.notices import NoticeRepository
from storage.postgres.search import search_sql
from storage.posts import CHUNK, POST_COLUMNS, PostRepository, _filter_sql, _stored

DENSE = 2000  # matches beyond which a search walks the date index instead of sorting them
WALK = 2000  # the newest posts a search looks at first
_HEADLINE = f"StartSel={MARK_OPEN}, StopSel={MARK_CLOSE}, HighlightAll=false, MaxWords=40, MinWords=15"


class PgChannelRepository(ChannelRepository):
    async def with_label(self, label: str) -> list[Any]:
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM channels WHERE lower(label) = lower(?) OR EXISTS (SELECT 1 FROM "
            "json_array_elements_text(channels.tags::json) AS t(value) WHERE lower(t.value) = lower(?))",
            (label, label),
        )
        return [channel_from_row(r) for r in rows]


class PgPostRepository(PostRepository):
    async def _existing(
        self, tx: aiosqlite.Connection, keys: list[tuple[int, int]]
    ) -> dict[tuple[int, int], aiosqlite.Row]:
        found: dict[tuple[int, int], aiosqlite.Row] = {}
        for start in range(0, len(keys), CHUNK * 5):
            chunk = keys[start : start + CHUNK * 5]
            rows = await tx.execute_fetchall(
                "SELECT p.id, p.channel_id, p.message_id, p.text, p.edit_date, p.views, p.forwards, p.media, "
                "p.entities, p.version_count, COALESCE(p.text_captured_at, p.captured_at) AS text_captured_at "
                "FROM unnest(CAST(? AS BIGINT[]), CAST(? AS BIGINT[])) AS k(c, m) "
                "JOIN posts p ON p.channel_id = k.c AND p.message_id = k.m",
                (_array(c for c, _ in chunk), _array(m for _, m in chunk)),
            )
            for row in rows:
                found[(row["channel_id"], row["message_id"])] = row
        return found

    async def search(
        self, query: str, where: SearchFilter = SearchFilter(), limit: int = 20
    ) -> list[StoredPost]:
        """Full-text search in telewatch's syntax (storage/postgres/search.py), newest first
        (`ordered_matches` says how)."""
        clauses, params = _filter_sql(where)
        match, match_params, _literal = search_sql(query)
        ids = await ordered_matches(self.db, match, match_params, clauses, params, limit, newest_first=True)
        return await self._in_order(ids)

    async def _in_order(self, ids: list[int]) -> list[StoredPost]:
        if not ids:
            return []
        found = await self.get_many(ids)
        return [found[i] for i in ids if i in found]


class PgNoticeRepository(NoticeRepository):
    async def activity(self, since: datetime) -> dict[int, ChannelActivity]:
        rows = await self.db.fetchall(
            "SELECT channel_id, date, EXTRACT(EPOCH FROM (CAST(date AS timestamptz) - CAST(lag(date) OVER "
            "(PARTITION BY channel_id ORDER BY date) AS timestamptz))) / 3600.0 AS gap FROM posts "
            "WHERE date >= ? ORDER BY channel_id, date",
            (to_iso(since),),
        )
        gaps: dict[int, list[float]] = {}
        for r in rows:
            if r[2] is not None:
                gaps.setdefault(int(r[0]), []).append(float(r[2]))
        newest = await self.db.fetchall("SELECT channel_id, max(date) FROM posts GROUP BY channel_id")
        return {
            int(r[0]): ChannelActivity(int(r[0]), from_iso(r[1]), tuple(gaps.get(int(r[0]), ())))
            for r in newest
        }

    async def rule_counts(self, since: datetime, until: datetime, bucket: int) -> list[tuple[str, int, int]]:
        rows = await self.db.fetchall(
            "SELECT m.rule, CAST(floor(EXTRACT(EPOCH FROM CAST(p.date AS timestamptz))) AS BIGINT) / ? AS b, "
            "count(*) FROM matches m JOIN posts p ON p.id = m.post_id WHERE p.date >= ? AND p.date < ? "
            "GROUP BY m.rule, b",
            (bucket, to_iso(since), to_iso(until)),
        )
        return [(str(r[0]), int(r[1]), int(r[2])) for r in rows]


class PgArchiveQueries(ArchiveQueries):
    """The review pages' queries: text search through the tsvector index, snippets by ts_headline."""

    async def search_page(self, q: PostQuery) -> PostPage:
        if not q.text.strip():
            return await super().search_page(q)
        clauses, params = _post_filters(q)
        where = "".join(f" AND {c}" for c in clauses)
        match, match_params, literal = search_sql(q.text)
        if q.sort == "relevance":
            # As on SQLite, relevance ranks the newest RELEVANCE_WINDOW matches (not every match of a
            # common word).
            window = await ordered_matches(
                self.db, match, match_params, where, params, RELEVANCE_WINDOW, newest_first=True
            )
            if not window:
                return PostPage((), False, literal)
            marks = ",".join("?" * len(window))
            ids = await self._ids(
                f"SELECT p.id FROM posts p WHERE p.id IN ({marks}) "
                f"ORDER BY ts_rank(p.tsv, {match}) DESC, p.date DESC, p.id DESC LIMIT ? OFFSET ?",
                (*window, *match_params, q.limit + 1, q.offset),
            )
        else:
            need = q.offset + q.limit + 1
            found = await ordered_matches(
                self.db, match, match_params, where, params, need, newest_first=q.sort != "oldest"
            )
            ids = found[q.offset :]
        shown = ids[: q.limit]
        if not shown:
            return PostPage((), False, literal)
        marks = ",".join("?" * len(shown))
        rows = await self.db.fetchall(
            f"SELECT {POST_COLUMNS}, ts_headline('telewatch_simple', p.text, {match}, '{_HEADLINE}') AS snip "
            f"FROM posts p JOIN channels c ON c.id = p.channel_id WHERE p.id IN ({marks})",
            (*match_params, *shown),
        )
        by_id = {int(r["pid"]): r for r in rows}
        hits = tuple(PostHit(_stored(by_id[i]), by_id[i]["snip"]) for i in shown if i in by_id)
        return PostPage(hits, len(ids) > q.limit, literal)

    async def expand_prefixes(self, match: str) -> str:
        return match  # the GIN index answers prefixes itself

    async def highlighted(self, post_id: int, text_query: str) -> str | None:
        match, params, _literal = search_sql(text_query)
        row = await self.db.fetchone(
            f"SELECT ts_headline('telewatch_simple', text, {match}, "
            f"'StartSel={MARK_OPEN}, StopSel={MARK_CLOSE}, HighlightAll=true') FROM posts WHERE id = ?",
            (*params, post_id),
        )
        return str(row[0]) if row else None


def _array(values: Any) -> str:
    return "{" + ",".join(str(int(v)) for v in values) + "}"


class PgLeaseRepository(LeaseRepository):
    """Free channels are read with row locks, skipping those another watcher is taking."""

    LOCK_ROWS = " FOR UPDATE OF l SKIP LOCKED"


class PgAlertRepository(AlertRepository):
    """Due alerts are claimed with row locks, skipping those another dispatcher is claiming."""

    LOCK_ROWS = " FOR UPDATE SKIP LOCKED"


async def ordered_matches(
    db: Any,
    match: str,
    match_params: list[Any],
    where: str,
    params: list[Any],
    need: int,
    *,
    newest_first: bool,
) -> list[int]:
    """The ids of the first `need` posts (by date, then id) that match `match` and the `where` filters.

    Newest first over a text index is planned badly either way round: walking the date index is slow
    for a rare word (it reads every post looking for one), reading every match is slow for a common
    one. So the first WALK posts are looked at first (a common word is found among them); then, as on
    SQLite, up to DENSE matches are read through the text index: when that is all of them they are
    sorted here; when there are more, the date index is walked to the end."""
    direction = "DESC" if newest_first else "ASC"
    by_date, by_date_r = f"p.date {direction}, p.id {direction}", f"r.date {direction}, r.id {direction}"
    walked = await db.fetchall(
        f"SELECT r.id, r.walked FROM (SELECT p.id, p.date, p.tsv, count(*) OVER () AS walked FROM "
        f"(SELECT p.id, p.date, p.tsv FROM posts p WHERE 1 = 1 {where} "
        f"ORDER BY {by_date} LIMIT ?) AS p) AS r WHERE r.tsv @@ {match} ORDER BY {by_date_r} LIMIT ?",
        (*params, WALK, *match_params, need),
    )
    if len(walked) >= need or (walked and int(walked[0][1]) < WALK):
        return [int(r[0]) for r in walked]
    hits = await db.fetchall(
        f"SELECT p.id, p.date FROM posts p WHERE p.tsv @@ {match} {where} LIMIT ?",
        (*match_params, *params, DENSE),
    )
    if len(hits) < DENSE:
        ordered = sorted(hits, key=lambda r: (r[1], r[0]), reverse=newest_first)
        return [int(r[0]) for r in ordered[:need]]
    rows = await db.fetchall(
        f"SELECT p.id FROM posts p WHERE (CASE WHEN p.tsv @@ {match} THEN true END) {where} "
        f"ORDER BY {by_date} LIMIT ?",
        (*match_params, *params, need),
    )
    return [int(r[0]) for r in rows]
