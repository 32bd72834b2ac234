"""Review marks as training data, and the relevance models learnt from them (JSON text, one per rule)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.records import Mark, MarkCounts, ScoredPrecision, StoredModel
from storage.codec import must_iso, to_iso
from storage.db import Database

# One row per (rule, post): a post alerting on two routes is one example, judged by its newest mark.
_MARKS = (
    "SELECT a.rule, a.post_id, p.text, a.review FROM alerts a JOIN posts p ON p.id = a.post_id "
    "WHERE a.review IN ('relevant', 'false_positive') AND a.kind != 'deleted' {where} AND a.id = ("
    "SELECT b.id FROM alerts b WHERE b.rule = a.rule AND b.post_id = a.post_id "
    "AND b.review IN ('relevant', 'false_positive') AND b.kind != 'deleted' "
    "ORDER BY b.reviewed_at DESC, b.id DESC LIMIT 1) ORDER BY a.id"
)


class RelevanceRepository:
    """The marks table is the alerts table's review columns; models live in relevance_models."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def marks(self, rule: str) -> list[Mark]:
        """Every reviewed post of a rule with its text and mark."""
        rows = await self.db.fetchall(_MARKS.format(where="AND a.rule = ?"), (rule,))
        return [Mark(r[0], int(r[1]), r[2] or "", r[3] == "relevant") for r in rows]

    async def mark_counts(self) -> dict[str, MarkCounts]:
        """Relevant and false-positive marks per rule (one per reviewed post)."""
        rows = await self.db.fetchall(
            "SELECT rule, sum(review = 'relevant'), sum(review = 'false_positive') FROM ("
            "SELECT a.rule, a.post_id, a.review FROM alerts a WHERE a.review IN ('relevant', 'false_positive') "
            "AND a.kind != 'deleted' AND a.id = (SELECT b.id FROM alerts b WHERE b.rule = a.rule "
            "AND b.post_id = a.post_id AND b.review IN ('relevant', 'false_positive') AND b.kind != 'deleted' "
            "ORDER BY b.reviewed_at DESC, b.id DESC LIMIT 1)) GROUP BY rule ORDER BY rule"
        )
        return {r[0]: MarkCounts(r[0], int(r[1] or 0), int(r[2] or 0)) for r in rows}

    async def save_model(
        self, rule: str, model: str, relevant: int, false_positive: int, marks_seen: int, at: datetime
    ) -> None:
        await self.db.execute(
            "INSERT INTO relevance_models (rule, model, relevant, false_positive, marks_seen, trained_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (rule) DO UPDATE SET model = excluded.model, "
            "relevant = excluded.relevant, false_positive = excluded.false_positive, "
            "marks_seen = excluded.marks_seen, trained_at = excluded.trained_at",
            (rule, model, relevant, false_positive, marks_seen, to_iso(at)),
        )

    async def models(self, rules: Sequence[str] | None = None) -> list[StoredModel]:
        """Stored models (of `rules` when given)."""
        sql = "SELECT rule, model, relevant, false_positive, marks_seen, trained_at FROM relevance_models"
        params: tuple[str, ...] = ()
        if rules is not None:
            sql += f" WHERE rule IN ({','.join('?' * len(rules))})"
            params = tuple(rules)
        rows = await self.db.fetchall(sql + " ORDER BY rule", params)
        return [StoredModel(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), must_iso(r[5])) for r in rows]

    async def forget(self, rules: Sequence[str] | None = None) -> int:
        """Delete learnt models (all, or those of `rules`); returns how many. Marks are kept."""
        async with self.db.transaction() as tx:
            if rules is None:
                cur = await tx.execute("DELETE FROM relevance_models")
            else:
                cur = await tx.execute(
                    f"DELETE FROM relevance_models WHERE rule IN ({','.join('?' * len(rules))})", tuple(rules)
                )
            return cur.rowcount

    async def precision(self) -> dict[str, ScoredPrecision]:
        """Per rule: precision of all reviewed alerts, and of those sent at once (not demoted)."""
        rows = await self.db.fetchall(
            "SELECT rule, sum(review = 'relevant'), sum(review = 'false_positive'), "
            "sum(review = 'relevant' AND demoted = 0), sum(review = 'false_positive' AND demoted = 0), "
            "sum(demoted) FROM alerts WHERE kind != 'deleted' GROUP BY rule ORDER BY rule"
        )
        return {r[0]: ScoredPrecision(r[0], *(int(x or 0) for x in r[1:])) for r in rows}
