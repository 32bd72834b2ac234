"""Matches: which rule matched which post, with the matched words and their spans."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from bot.models import Match, MatchedTerm, Severity
from storage.codec import to_iso
from storage.db import Database


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
    """Match rows; one per (post, rule), refreshed when an edit changes the matched words."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert_new(
        self, tx: aiosqlite.Connection, rows: Sequence[tuple[int, Match]], at: datetime, version: int = 1
    ) -> None:
        """Matches of freshly inserted posts (no earlier matches can exist): one executemany."""
        stamp = to_iso(at)
        await tx.executemany(
            "INSERT OR IGNORE INTO matches (post_id, rule, severity, hits, version, matched_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(post_id, m.rule, int(m.severity), hits_json(m), version, stamp) for post_id, m in rows],
        )

    async def replace(
        self, tx: aiosqlite.Connection, post_id: int, matches: Sequence[Match], at: datetime, version: int
    ) -> list[Match]:
        """Record the matches of a post's new version; returns the rules that did not match before."""
        async with tx.execute("SELECT rule FROM matches WHERE post_id = ?", (post_id,)) as cur:
            before = {r[0] for r in await cur.fetchall()}
        stamp = to_iso(at)
        await tx.executemany(
            "INSERT INTO matches (post_id, rule, severity, hits, version, matched_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (post_id, rule) DO UPDATE SET hits = excluded.hits, severity = excluded.severity, "
            "version = excluded.version",
            [(post_id, m.rule, int(m.severity), hits_json(m), version, stamp) for m in matches],
        )
        return [m for m in matches if m.rule not in before]

    async def forget(self, tx: aiosqlite.Connection, post_id: int, rules: Sequence[str]) -> int:
        """Drop the matches of `rules` for a post that no longer matches them (a changed rule); returns how many."""
        if not rules:
            return 0
        cur = await tx.execute(
            f"DELETE FROM matches WHERE post_id = ? AND rule IN ({','.join('?' * len(rules))})",
            (post_id, *rules),
        )
        return cur.rowcount

    async def for_post(self, post_id: int) -> list[Match]:
        rows = await self.db.fetchall(
            "SELECT rule, severity, hits FROM matches WHERE post_id = ? ORDER BY severity DESC, rule",
            (post_id,),
        )
        return [match_from(r["rule"], r["severity"], r["hits"]) for r in rows]

    async def get(self, post_id: int, rule: str) -> Match | None:
        row = await self.db.fetchone(
            "SELECT rule, severity, hits FROM matches WHERE post_id = ? AND rule = ?", (post_id, rule)
        )
        return match_from(row["rule"], row["severity"], row["hits"]) if row else None

    async def count(self, rule: str | None = None) -> int:
        if rule is None:
            row = await self.db.fetchone("SELECT count(*) FROM matches")
        else:
            row = await self.db.fetchone("SELECT count(*) FROM matches WHERE rule = ?", (rule,))
        return int(row[0]) if row else 0
