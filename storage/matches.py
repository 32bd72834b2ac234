"""Matches: which rule matched which post, with the matched words and their spans."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime

from bot.domain.models import Match, MatchedTerm, Severity
from bot.domain.storage import Transaction
from storage.codec import must_iso, to_iso
from storage.db import Database, connection

CHUNK = 400  # bound parameters per statement stay under SQLite's default limit of 999


def hits_json(match: Match) -> str:
    return json.dumps(
        [{"term": h.term, "text": h.text, "start": h.start, "end": h.end} for h in match.hits],
        ensure_ascii=False,
    )


def match_from(rule: str, severity: int, hits: str) -> Match:
    return Match(
        rule=rule,
        severity=Severity(severity),
        hits=tuple(MatchedTerm(h["term"], h["text"], h["start"], h["end"]) for h in json.loads(hits)),
    )


class MatchRepository:
    """Match rows; one per (post, rule), refreshed when an edit changes the matched words, never deleted."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert_new(
        self, tx: Transaction, rows: Sequence[tuple[int, Match]], at: datetime, version: int = 1
    ) -> None:
        """Matches of freshly inserted posts (no earlier matches can exist): one executemany."""
        conn = connection(tx)
        stamp = to_iso(at)
        await conn.executemany(
            "INSERT OR IGNORE INTO matches (post_id, rule, severity, hits, version, matched_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(post_id, m.rule, int(m.severity), hits_json(m), version, stamp) for post_id, m in rows],
        )

    async def replace(
        self, tx: Transaction, post_id: int, matches: Sequence[Match], at: datetime, version: int
    ) -> list[Match]:
        """Record the matches of a post's new version; returns the rules that did not match before."""
        conn = connection(tx)
        async with conn.execute("SELECT rule FROM matches WHERE post_id = ?", (post_id,)) as cur:
            before = {r[0] for r in await cur.fetchall()}
        stamp = to_iso(at)
        await conn.executemany(
            "INSERT INTO matches (post_id, rule, severity, hits, version, matched_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (post_id, rule) DO UPDATE SET hits = excluded.hits, severity = excluded.severity, "
            "version = excluded.version, superseded_at = NULL",
            [(post_id, m.rule, int(m.severity), hits_json(m), version, stamp) for m in matches],
        )
        return [m for m in matches if m.rule not in before]

    async def supersede(self, tx: Transaction, post_id: int, rules: Sequence[str], at: datetime) -> int:
        """Mark the matches of `rules` that a post no longer makes (a changed rule) as superseded, keeping
        them as history; returns how many were newly marked. Matches are never deleted."""
        conn = connection(tx)
        if not rules:
            return 0
        cur = await conn.execute(
            f"UPDATE matches SET superseded_at = ? WHERE post_id = ? AND rule IN ({','.join('?' * len(rules))}) "
            "AND superseded_at IS NULL",
            (to_iso(at), post_id, *rules),
        )
        return cur.rowcount

    async def superseded(self, post_id: int) -> list[tuple[Match, datetime]]:
        """A post's matches that a later version of their rule no longer makes, with when that was found."""
        rows = await self.db.fetchall(
            "SELECT rule, severity, hits, superseded_at FROM matches WHERE post_id = ? "
            "AND superseded_at IS NOT NULL ORDER BY rule",
            (post_id,),
        )
        return [(match_from(r["rule"], r["severity"], r["hits"]), must_iso(r["superseded_at"])) for r in rows]

    async def for_post(self, post_id: int) -> list[Match]:
        rows = await self.db.fetchall(
            "SELECT rule, severity, hits FROM matches WHERE post_id = ? AND superseded_at IS NULL "
            "ORDER BY severity DESC, rule",
            (post_id,),
        )
        return [match_from(r["rule"], r["severity"], r["hits"]) for r in rows]

    async def get(self, post_id: int, rule: str) -> Match | None:
        row = await self.db.fetchone(
            "SELECT rule, severity, hits FROM matches WHERE post_id = ? AND rule = ?", (post_id, rule)
        )
        return match_from(row["rule"], row["severity"], row["hits"]) if row else None

    async def get_many(self, keys: Collection[tuple[int, str]]) -> dict[tuple[int, str], Match]:
        """Matches by (post id, rule), one query per chunk of posts."""
        wanted = set(keys)
        posts = sorted({post_id for post_id, _ in wanted})
        found: dict[tuple[int, str], Match] = {}
        for start in range(0, len(posts), CHUNK):
            chunk = posts[start : start + CHUNK]
            rows = await self.db.fetchall(
                f"SELECT post_id, rule, severity, hits FROM matches WHERE post_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for r in rows:
                key = (int(r["post_id"]), str(r["rule"]))
                if key in wanted:
                    found[key] = match_from(r["rule"], r["severity"], r["hits"])
        return found

    async def count(self, rule: str | None = None) -> int:
        if rule is None:
            row = await self.db.fetchone("SELECT count(*) FROM matches WHERE superseded_at IS NULL")
        else:
            row = await self.db.fetchone(
                "SELECT count(*) FROM matches WHERE rule = ? AND superseded_at IS NULL", (rule,)
            )
        return int(row[0]) if row else 0
