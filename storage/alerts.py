"""The alert outbox: durable, de-duplicated by key, marked sent only after a sink confirms."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from bot.domain.models import Alert, AlertKind, AlertStatus, Severity
from bot.domain.records import (  # re-exported: the port's records, once defined here
    AlertFilter as AlertFilter,
)
from bot.domain.records import (
    NewAlert as NewAlert,
)
from bot.domain.records import (
    RulePrecision as RulePrecision,
)
from bot.domain.records import (
    UndeliveredGroup as UndeliveredGroup,
)
from bot.domain.storage import Transaction
from storage.codec import from_iso, must_iso, to_iso
from storage.db import Database, connection
from storage.leases import moment, stamp

# A deletion report follows up an earlier alert (same post, rule and route): it is sent only after that one.
ORIGINAL_SENT = (
    "EXISTS (SELECT 1 FROM alerts o WHERE o.post_id = alerts.post_id AND o.rule = alerts.rule "
    "AND o.route = alerts.route AND o.kind != 'deleted' AND o.status = 'sent')"
)
ORIGINAL_ALIVE = (
    "EXISTS (SELECT 1 FROM alerts o WHERE o.post_id = alerts.post_id AND o.rule = alerts.rule "
    "AND o.route = alerts.route AND o.kind != 'deleted' AND o.status IN ('sent', 'pending', 'held'))"
)

COLUMNS = (
    "id, dedup_key, post_id, rule, severity, kind, sink, status, attempts, created_at, next_try_at, sent_at, "
    "last_error, route, target, review, reviewed_by, reviewed_at, group_key, sent_message_id, score, demoted"
)


def alert_from_row(row: Any) -> Alert:
    return Alert(
        id=row["id"],
        dedup_key=row["dedup_key"],
        post_id=row["post_id"],
        rule=row["rule"],
        severity=Severity(row["severity"]),
        kind=AlertKind(row["kind"]),
        sink=row["sink"],
        status=AlertStatus(row["status"]),
        attempts=row["attempts"],
        created_at=must_iso(row["created_at"]),
        next_try_at=from_iso(row["next_try_at"]),
        sent_at=from_iso(row["sent_at"]),
        last_error=row["last_error"],
        score=row["score"],
        demoted=bool(row["demoted"]),
    )


# A review mark is about a (post, rule): it goes on the alert and on its twins, the same post's alerts of
# that rule and kind on other routes. Parameters: mark, by, at (ISO), alert id.
MARK_WITH_TWINS = (
    "UPDATE alerts SET review = ?, reviewed_by = ?, reviewed_at = ? WHERE id IN ("
    "SELECT b.id FROM alerts a JOIN alerts b ON b.post_id = a.post_id AND b.rule = a.rule "
    "AND b.kind = a.kind WHERE a.id = ?)"
)


class AlertRepository:
    """Outbox rows."""

    LOCK_ROWS = ""  # see storage.leases.LeaseRepository.LOCK_ROWS

    def __init__(self, db: Database) -> None:
        self.db = db

    async def enqueue(self, tx: Transaction, alerts: Sequence[NewAlert], at: datetime) -> int:
        """Insert alerts, ignoring any whose dedup key exists already; returns how many were new."""
        conn = connection(tx)
        stamp = to_iso(at)
        before = conn.total_changes
        await conn.executemany(
            "INSERT OR IGNORE INTO alerts (dedup_key, post_id, rule, severity, kind, route, sink, target, status, "
            "group_key, created_at, next_try_at, score, demoted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    a.dedup_key,
                    a.post_id,
                    a.rule,
                    int(a.severity),
                    a.kind.value,
                    a.route,
                    a.sink,
                    a.target,
                    a.status.value,
                    a.group_key,
                    stamp,
                    stamp,
                    a.score,
                    int(a.demoted),
                )
                for a in alerts
            ],
        )
        return conn.total_changes - before

    async def alerted_rules(self, tx: Transaction, post_id: int) -> list[tuple[str, Severity]]:
        """The rules that raised a (non-deletion) alert for a post."""
        conn = connection(tx)
        async with conn.execute(
            "SELECT DISTINCT rule, severity FROM alerts WHERE post_id = ? AND kind != 'deleted'", (post_id,)
        ) as cur:
            return [(r[0], Severity(r[1])) for r in await cur.fetchall()]

    async def due(
        self,
        now: datetime,
        limit: int = 100,
        *,
        sinks: Collection[str] | None = None,
        claimer: str | None = None,
    ) -> list[Alert]:
        """Pending alerts whose next try has come, oldest first; only for `sinks` when given (the others
        stay pending for a mode that has them). A deletion report is due only once its original was sent."""
        only = ""
        params: list[Any] = [to_iso(now), stamp(now), claimer]
        if sinks is not None:
            names = sorted(sinks)
            only = f" AND sink IN ({','.join('?' * len(names))})" if names else " AND 0"
            params.extend(names)
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM alerts WHERE status = 'pending' AND (next_try_at IS NULL OR next_try_at <= ?)"
            f" AND (claimed_until IS NULL OR claimed_until <= ? OR claimed_by = ?)"
            f"{only} AND (kind != 'deleted' OR {ORIGINAL_SENT}) ORDER BY id LIMIT ?",
            (*params, limit),
        )
        return [alert_from_row(r) for r in rows]

    async def drop_orphan_followups(self) -> int:
        """Deletion reports whose original alert will never be delivered (failed, muted, merged, or sent
        to another route) are not sent: marked suppressed with the reason. Returns how many.

        Looked for first without the write lock: the dispatcher runs this every pass, and waiting behind
        the watcher's commits each time for nothing held up every alert."""
        orphan = "kind = 'deleted' AND status IN ('pending', 'held') AND NOT " + ORIGINAL_ALIVE
        if not await self.db.fetchone(f"SELECT 1 FROM alerts WHERE {orphan} LIMIT 1"):
            return 0
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                "UPDATE alerts SET status = 'suppressed', waiting_for = NULL, last_error = "
                "'not sent: the alert it follows up was not delivered' "
                f"WHERE kind = 'deleted' AND status IN ('pending', 'held') AND NOT {ORIGINAL_ALIVE}"
            )
            return cur.rowcount

    async def mark_waiting(
        self, alert_ids: Sequence[int], reason: str, next_try: datetime | None = None
    ) -> None:
        """Keep alerts pending, saying what they wait for (a chat to become reachable, a mode with their
        sink); no attempt is used up. With `next_try`, the next try waits until then."""
        async with self.db.transaction() as tx:
            await tx.executemany(
                "UPDATE alerts SET waiting_for = ?, last_error = ?, next_try_at = COALESCE(?, next_try_at), "
                "claimed_by = NULL, claimed_until = NULL WHERE id = ? AND status = 'pending'",
                [(reason, reason, to_iso(next_try), i) for i in alert_ids],
            )

    async def note_waiting_for_sink(self, sink: str, reason: str) -> int:
        """Say why pending alerts of a sink that this mode does not have were not tried; returns how many."""
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                "UPDATE alerts SET waiting_for = ? WHERE status = 'pending' AND sink = ? "
                "AND (waiting_for IS NULL OR waiting_for != ?)",
                (reason, sink, reason),
            )
            return cur.rowcount

    async def wake(self, targets: Collection[str], now: datetime) -> int:
        """Alerts waiting for one of these chats are due now (the chat just showed it is reachable)."""
        names = sorted({t.lower() for t in targets if t})
        if not names:
            return 0
        async with self.db.transaction() as tx:
            cur = await tx.execute(
                "UPDATE alerts SET next_try_at = ? WHERE status = 'pending' AND waiting_for IS NOT NULL "
                f"AND lower(target) IN ({','.join('?' * len(names))})",
                (to_iso(now), *names),
            )
            return cur.rowcount

    async def pending_sinks(self) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT DISTINCT sink FROM alerts WHERE status = 'pending' ORDER BY sink"
        )
        return [r[0] for r in rows]

    async def max_id(self) -> int:
        row = await self.db.fetchone("SELECT max(id) FROM alerts")
        return int(row[0]) if row and row[0] is not None else 0

    async def undelivered(self, after_id: int = 0, *, all_pending: bool = False) -> list[UndeliveredGroup]:
        """Alerts not delivered, grouped by route, state and reason: those created after `after_id`
        (pending, failed or held), plus, with `all_pending`, every pending alert however old."""
        rows = await self.db.fetchall(
            "SELECT route, sink, target, status, waiting_for, last_error, count(*) AS n FROM alerts "
            "WHERE (id > ? AND status IN ('pending', 'failed', 'held')) OR (? AND status = 'pending') "
            "GROUP BY route, sink, target, status, waiting_for, last_error ORDER BY route, status",
            (after_id, int(all_pending)),
        )
        return [
            UndeliveredGroup(
                r["route"],
                r["sink"],
                r["target"],
                AlertStatus(r["status"]),
                r["waiting_for"],
                r["last_error"],
                r["n"],
            )
            for r in rows
        ]

    async def target(self, alert_id: int) -> str | None:
        row = await self.db.fetchone("SELECT target FROM alerts WHERE id = ?", (alert_id,))
        return row["target"] if row else None

    async def targets(self, alert_ids: Sequence[int]) -> dict[int, str | None]:
        """The chat target of each alert, by id."""
        found: dict[int, str | None] = {}
        for i in range(0, len(alert_ids), 5000):
            chunk = alert_ids[i : i + 5000]
            rows = await self.db.fetchall(
                f"SELECT id, target FROM alerts WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            found.update((int(r[0]), r[1]) for r in rows)
        return found

    async def mark_sent(self, alert_ids: Sequence[int], at: datetime, message_id: int | None = None) -> None:
        # One statement (atomic on its own): marking sent is on the path of every delivered message.
        ids = list(alert_ids)
        for start in range(0, len(ids), 400):
            chunk = ids[start : start + 400]
            await self.db.write(
                "UPDATE alerts SET status = 'sent', sent_at = ?, attempts = attempts + 1, sent_message_id = ?, "
                f"last_error = NULL, waiting_for = NULL, claimed_by = NULL, claimed_until = NULL WHERE id IN ({','.join('?' * len(chunk))})",
                (to_iso(at), message_id, *chunk),
            )

    async def mark_sent_many(self, sent: Sequence[tuple[Sequence[int], datetime, int | None]]) -> None:
        """`mark_sent` for several messages (their alert ids, when sent, message id), atomically."""
        if len(sent) == 1:
            await self.mark_sent(*sent[0])
            return
        async with self.db.transaction() as tx:
            await tx.executemany(
                "UPDATE alerts SET status = 'sent', sent_at = ?, attempts = attempts + 1, sent_message_id = ?, "
                "last_error = NULL, waiting_for = NULL, claimed_by = NULL, claimed_until = NULL WHERE id = ?",
                [(to_iso(at), message_id, i) for ids, at, message_id in sent for i in ids],
            )

    async def mark_retry(
        self, alert_ids: Sequence[int], next_try: datetime, error: str, *, count: bool = True
    ) -> None:
        """Schedule another try; a flood wait (`count=False`) does not use up an attempt."""
        async with self.db.transaction() as tx:
            await tx.executemany(
                "UPDATE alerts SET attempts = attempts + ?, next_try_at = ?, last_error = ?, waiting_for = NULL, "
                "claimed_by = NULL, claimed_until = NULL WHERE id = ?",
                [(1 if count else 0, to_iso(next_try), error, i) for i in alert_ids],
            )

    async def mark_failed(self, alert_ids: Sequence[int], error: str) -> None:
        async with self.db.transaction() as tx:
            await tx.executemany(
                "UPDATE alerts SET status = 'failed', attempts = attempts + 1, last_error = ?, waiting_for = NULL, "
                "claimed_by = NULL, claimed_until = NULL WHERE id = ?",
                [(error, i) for i in alert_ids],
            )

    async def set_status(self, alert_ids: Sequence[int], status: AlertStatus) -> None:
        async with self.db.transaction() as tx:
            await tx.executemany(
                "UPDATE alerts SET status = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ?",
                [(status.value, i) for i in alert_ids],
            )

    async def claim(
        self, alert_ids: Sequence[int], claimer: str, now: datetime, until: datetime
    ) -> list[int]:
        """Claim pending alerts nobody else holds a live claim on: in one transaction that holds the write
        lock (SQLite) or locks the rows, skipping those another claimer has locked (PostgreSQL)."""
        ids = sorted(set(alert_ids))
        if not ids:
            return []
        t, end = stamp(now), stamp(until)
        claimed: list[int] = []
        async with self.db.transaction() as conn:
            for start in range(0, len(ids), 400):
                chunk = ids[start : start + 400]
                marks = ",".join("?" * len(chunk))
                rows = await conn.execute_fetchall(
                    f"SELECT id FROM alerts WHERE id IN ({marks}) AND status = 'pending' "
                    "AND (claimed_until IS NULL OR claimed_until <= ? OR claimed_by = ?)" + self.LOCK_ROWS,
                    (*chunk, t, claimer),
                )
                free = [int(r[0]) for r in rows]
                if free:
                    await conn.execute(
                        f"UPDATE alerts SET claimed_by = ?, claimed_until = ? WHERE id IN ({','.join('?' * len(free))})",
                        (claimer, end, *free),
                    )
                claimed += free
        return claimed

    async def release_claims(self, claimer: str) -> int:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE alerts SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?", (claimer,)
            )
            changed = cur.rowcount
            cur = await conn.execute(
                "UPDATE notices SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?", (claimer,)
            )
            return int(changed + cur.rowcount)

    async def reserve_send(self, sink: str, target: str | None, interval: float, now: datetime) -> datetime:
        """One upsert books the slot after the last one (atomic on both backends), then reads it back."""
        t = stamp(now)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO chat_pacing (sink, target, next_at) VALUES (?, ?, ?) ON CONFLICT (sink, target) "
                "DO UPDATE SET next_at = CASE WHEN chat_pacing.next_at > ? THEN chat_pacing.next_at + ? "
                "ELSE ? END",
                (sink, target or "", t + interval, t, interval, t + interval),
            )
            rows = list(
                await conn.execute_fetchall(
                    "SELECT next_at FROM chat_pacing WHERE sink = ? AND target = ?", (sink, target or "")
                )
            )
        return moment(float(rows[0][0]) - interval)

    async def review(self, alert_id: int, mark: str, by: str, at: datetime) -> bool:
        """Store a reviewer's mark (relevant / false_positive); False when the alert does not exist.

        A mark is about the (post, rule): the same post's alerts of that rule on other routes (its twins
        in `alerts list`) get it too, so one post counts once, one way, in precision.
        """
        async with self.db.transaction() as tx:
            cur = await tx.execute(MARK_WITH_TWINS, (mark, by, to_iso(at), alert_id))
            return cur.rowcount > 0

    async def get(self, alert_id: int) -> Alert | None:
        row = await self.db.fetchone(f"SELECT {COLUMNS} FROM alerts WHERE id = ?", (alert_id,))
        return alert_from_row(row) if row else None

    async def for_post(self, post_id: int) -> list[Alert]:
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM alerts WHERE post_id = ? ORDER BY id", (post_id,)
        )
        return [alert_from_row(r) for r in rows]

    async def listing(self, where: AlertFilter = AlertFilter(), limit: int = 50) -> list[dict[str, Any]]:
        """Alerts newest first, joined with their post and channel, as plain rows for listings."""
        clauses: list[str] = []
        params: list[Any] = []
        if where.statuses:
            clauses.append(f"a.status IN ({','.join('?' * len(where.statuses))})")
            params.extend(s.value for s in where.statuses)
        if where.rule:
            clauses.append("a.rule = ?")
            params.append(where.rule)
        if where.review == "unreviewed":
            clauses.append("a.review IS NULL")
        elif where.review:
            clauses.append("a.review = ?")
            params.append(where.review)
        if where.since:
            clauses.append("a.created_at >= ?")
            params.append(to_iso(where.since))
        sql = (
            "SELECT a.id, a.rule, a.severity, a.kind, a.route, a.sink, a.status, a.attempts, a.created_at, "
            "a.sent_at, a.last_error, a.waiting_for, a.review, a.reviewed_by, a.score, a.demoted, p.id AS post_id, p.message_id, p.date, p.text, "
            "c.username, c.title, c.tg_id FROM alerts a JOIN posts p ON p.id = a.post_id "
            "JOIN channels c ON c.id = p.channel_id"
            + (" WHERE " + " AND ".join(clauses) if clauses else "")
            + " ORDER BY a.id DESC LIMIT ?"
        )
        return [dict(r) for r in await self.db.fetchall(sql, (*params, limit))]

    async def counts(self) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT status, count(*) FROM alerts GROUP BY status")
        return {r[0]: r[1] for r in rows}

    async def precision_by_rule(self) -> list[RulePrecision]:
        rows = await self.db.fetchall(
            # relevant / false-positive counted once per post: a post alerted on two routes is one mark
            "SELECT rule, sum(k) AS n, sum(rel) AS rel, sum(fp) AS fp FROM (SELECT rule, post_id, "
            "count(*) AS k, max(CASE WHEN review = 'relevant' THEN 1 ELSE 0 END) AS rel, "
            "max(CASE WHEN review = 'false_positive' THEN 1 ELSE 0 END) AS fp "
            "FROM alerts GROUP BY rule, post_id) t GROUP BY rule ORDER BY rule"
        )
        return [RulePrecision(r["rule"], r["n"], r["rel"] or 0, r["fp"] or 0) for r in rows]
