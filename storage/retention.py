"""Retention: prune posts older than their channel's keep period, then give the space back.

A post is never pruned while one of its alerts waits in the outbox (pending or held), nor, unless
asked, when one of its alerts was marked relevant. Everything hanging off a post goes with it
(versions, matches, alerts, duplicate-detection rows, media records); media files go when no other
post still refers to the same content. Work is done in small transactions so `run` keeps writing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from storage.codec import to_iso
from storage.db import Database

BATCH = 1000  # posts per transaction: short enough that a live writer waits only milliseconds

# Which posts may go (table `prune_ids` is filled from it); ?1 channel, ?2 cutoff, ?3 include relevant.
ELIGIBLE = """
SELECT p.id FROM posts p
WHERE p.channel_id = ?1 AND p.date < ?2
  AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.post_id = p.id
                  AND (a.status IN ('pending', 'held') OR (?3 = 0 AND a.review = 'relevant')))
"""
KEPT_RELEVANT = """
SELECT count(DISTINCT p.id) FROM posts p JOIN alerts a ON a.post_id = p.id
WHERE p.channel_id = ?1 AND p.date < ?2 AND a.review = 'relevant'
"""
KEPT_PENDING = """
SELECT count(DISTINCT p.id) FROM posts p JOIN alerts a ON a.post_id = p.id
WHERE p.channel_id = ?1 AND p.date < ?2 AND a.status IN ('pending', 'held')
"""
# Rows depending on the posts listed in temp.prune_ids, children first (foreign keys are on).
DELETES = (
    "DELETE FROM alert_edits WHERE dedup_key IN "
    "(SELECT dedup_key FROM alerts WHERE post_id IN (SELECT id FROM temp.prune_ids))",
    "DELETE FROM alerts WHERE post_id IN (SELECT id FROM temp.prune_ids)",
    "DELETE FROM matches WHERE post_id IN (SELECT id FROM temp.prune_ids)",
    "DELETE FROM post_versions WHERE post_id IN (SELECT id FROM temp.prune_ids)",
    "DELETE FROM dedup_bands WHERE post_id IN (SELECT id FROM temp.prune_ids)",
    "DELETE FROM dedup_texts WHERE post_id IN (SELECT id FROM temp.prune_ids)",
)


@dataclass(frozen=True, slots=True)
class ChannelPolicy:
    """How long one channel's posts are kept: days (0 forever) and the setting that decided it."""

    channel_id: int
    name: str
    days: int
    reason: str


def policies(
    channels: Iterable[tuple[int, str, str | None, Iterable[str]]],
    keep_days: int,
    by_label: Mapping[str, int],
) -> list[ChannelPolicy]:
    """Each channel's keep period from (id, name, label, tags): a label or tag override wins over
    keep_days; when several apply, the longest (0, forever, longest of all) is used."""
    out = []
    lowered = {k.lower(): v for k, v in by_label.items()}
    for channel_id, name, label, tags in channels:
        applying = [(lowered[t.lower()], t) for t in (label, *tags) if t is not None and t.lower() in lowered]
        if applying:
            days, which = max(applying, key=lambda dt: (dt[0] == 0, dt[0]))
            out.append(ChannelPolicy(channel_id, name, days, f"label {which}"))
        else:
            out.append(ChannelPolicy(channel_id, name, keep_days, "keep_days"))
    return out


@dataclass(slots=True)
class PruneReport:
    """What a prune removed (or, dry, would remove), and what it kept on purpose."""

    dry_run: bool
    posts: int = 0
    versions: int = 0
    alerts: int = 0
    media_files: int = 0
    media_bytes: int = 0
    kept_relevant: int = 0
    kept_pending: int = 0
    freed_bytes: int = 0
    free_bytes_left: int = 0
    per_channel: dict[str, int] = field(default_factory=dict)
    media_errors: list[str] = field(default_factory=list)


async def channel_rows(db: Database) -> list[tuple[int, str, str | None, list[str]]]:
    """(id, name, label, tags) of every stored channel."""
    rows = await db.fetchall("SELECT id, username, tg_id, title, label, tags FROM channels ORDER BY id")
    out = []
    for r in rows:
        name = f"@{r['username']}" if r["username"] else str(r["tg_id"] or r["title"] or r["id"])
        try:
            tags = [str(t) for t in json.loads(r["tags"] or "[]")]
        except ValueError:
            tags = []
        out.append((int(r["id"]), name, r["label"], tags))
    return out


async def prune(
    db: Database,
    plan: Iterable[ChannelPolicy],
    *,
    now: datetime,
    include_relevant: bool = False,
    dry_run: bool = False,
    vacuum: bool = False,
    media_root: Path | None = None,
    on_batch: Callable[[PruneReport], None] | None = None,
) -> PruneReport:
    """Prune every channel of `plan` with days > 0, then reclaim the space (see module doc)."""
    report = PruneReport(dry_run=dry_run)
    await db.conn.execute("CREATE TEMP TABLE IF NOT EXISTS prune_ids (id INTEGER PRIMARY KEY)")
    has_media = await _has_table(db, "media")
    for policy in plan:
        if policy.days <= 0:
            continue
        cutoff = to_iso(now - timedelta(days=policy.days))
        args = (policy.channel_id, cutoff, int(include_relevant))
        relevant = await db.fetchone(KEPT_RELEVANT, args[:2])
        pending = await db.fetchone(KEPT_PENDING, args[:2])
        report.kept_pending += int(pending[0]) if pending else 0
        if not include_relevant:
            report.kept_relevant += int(relevant[0]) if relevant else 0
        if dry_run:
            await _count_dry(db, report, policy, args, has_media)
            continue
        while True:
            done = await _prune_batch(db, report, policy, args, has_media, media_root)
            if on_batch is not None:
                on_batch(report)
            if done < BATCH:
                break
    if not dry_run:
        await _reclaim(db, report, vacuum=vacuum)
    else:
        report.free_bytes_left = await _free_bytes(db)
    return report


async def _count_dry(
    db: Database, report: PruneReport, policy: ChannelPolicy, args: tuple[object, ...], has_media: bool
) -> None:
    sub = f"({ELIGIBLE})"
    row = await db.fetchone(f"SELECT count(*) FROM {sub}", args)
    n = int(row[0]) if row else 0
    if not n:
        return
    report.posts += n
    report.per_channel[policy.name] = report.per_channel.get(policy.name, 0) + n
    row = await db.fetchone(f"SELECT count(*) FROM post_versions WHERE post_id IN {sub}", args)
    report.versions += int(row[0]) if row else 0
    row = await db.fetchone(f"SELECT count(*) FROM alerts WHERE post_id IN {sub}", args)
    report.alerts += int(row[0]) if row else 0
    if has_media:
        row = await db.fetchone(
            f"SELECT count(DISTINCT sha256), coalesce(sum(size), 0) FROM (SELECT DISTINCT sha256, size "
            f"FROM media m WHERE m.post_id IN {sub} AND m.sha256 IS NOT NULL AND m.path IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM media o WHERE o.sha256 = m.sha256 "
            f"AND o.post_id NOT IN {sub}))",
            args,
        )
        if row:
            report.media_files += int(row[0])
            report.media_bytes += int(row[1])


async def _prune_batch(
    db: Database,
    report: PruneReport,
    policy: ChannelPolicy,
    args: tuple[object, ...],
    has_media: bool,
    media_root: Path | None,
) -> int:
    orphans: list[tuple[str, str, int]] = []
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM temp.prune_ids")
        await tx.execute(f"INSERT INTO temp.prune_ids {ELIGIBLE} LIMIT {BATCH}", args)
        async with tx.execute("SELECT count(*) FROM temp.prune_ids") as cur:
            row = await cur.fetchone()
        n = int(row[0]) if row else 0
        if n == 0:
            return 0
        async with tx.execute(
            "SELECT (SELECT count(*) FROM post_versions WHERE post_id IN (SELECT id FROM temp.prune_ids)),"
            " (SELECT count(*) FROM alerts WHERE post_id IN (SELECT id FROM temp.prune_ids))"
        ) as cur:
            counts = await cur.fetchone()
        if has_media:
            async with tx.execute(
                "SELECT DISTINCT m.sha256, m.path, m.size FROM media m "
                "WHERE m.post_id IN (SELECT id FROM temp.prune_ids) AND m.path IS NOT NULL "
                "AND m.sha256 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM media o WHERE o.sha256 = m.sha256 "
                "AND o.post_id NOT IN (SELECT id FROM temp.prune_ids))"
            ) as cur:
                orphans = [(r[0], r[1], int(r[2] or 0)) for r in await cur.fetchall()]
            await tx.execute("DELETE FROM media WHERE post_id IN (SELECT id FROM temp.prune_ids)")
        for statement in DELETES:
            await tx.execute(statement)
        await tx.execute("DELETE FROM posts WHERE id IN (SELECT id FROM temp.prune_ids)")
    # Files go only after the rows are committed: a crash in between leaves a file without a record
    # (found again by content), never a record without its file.
    for _sha, rel, size in orphans:
        if media_root is None:
            continue
        target = media_root / rel
        try:
            for extra in (target, target.with_name(target.name + ".thumb.jpg")):
                with contextlib.suppress(FileNotFoundError):
                    extra.unlink()
            report.media_files += 1
            report.media_bytes += size
        except OSError as e:
            report.media_errors.append(f"{target}: {e.strerror}")
    report.posts += n
    report.per_channel[policy.name] = report.per_channel.get(policy.name, 0) + n
    if counts:
        report.versions += int(counts[0])
        report.alerts += int(counts[1])
    return n


async def _reclaim(db: Database, report: PruneReport, *, vacuum: bool) -> None:
    """Give freed pages back to the disk: incremental vacuum, or a full VACUUM when asked."""
    before = await _file_bytes(db)
    mode_row = await db.fetchone("PRAGMA auto_vacuum")
    mode = int(mode_row[0]) if mode_row else 0
    async with db.exclusive() as conn:  # VACUUM runs outside a transaction
        if vacuum:
            # Turning incremental auto-vacuum on needs a VACUUM anyway: do both in one go.
            await conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            await conn.execute("VACUUM")
        elif mode == 2:
            # executescript steps the pragma to its end; execute would free a single page.
            await conn.executescript("PRAGMA incremental_vacuum;")
        async with conn.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
            await cur.fetchall()
    report.freed_bytes = max(0, before - await _file_bytes(db))
    report.free_bytes_left = await _free_bytes(db)


async def _file_bytes(db: Database) -> int:
    row = await db.fetchone("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size")
    return int(row[0]) if row else 0


async def _free_bytes(db: Database) -> int:
    row = await db.fetchone("SELECT freelist_count * page_size FROM pragma_freelist_count, pragma_page_size")
    return int(row[0]) if row else 0


async def _has_table(db: Database, name: str) -> bool:
    row = await db.fetchone("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return row is not None
