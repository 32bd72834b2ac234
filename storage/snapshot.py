"""A read-only snapshot of what the database says about the service, for metrics and health checks.

Read through its own short-lived connection (the metrics endpoint runs in another thread than the
writer); WAL lets it read while `run` writes.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from storage.db import check_archive, check_schema, storage_error

HEARTBEAT_KEY = "run.heartbeat"
STOPPED_KEY = "run.stopped"  # when `run` last stopped cleanly: a heartbeat before it is no sign of life


@dataclass(frozen=True, slots=True)
class ChannelSnapshot:
    """One watched channel: how far behind and how long since its last post and last check."""

    name: str
    behind: int | None
    last_post_age: float | None
    last_check_age: float | None
    errors: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Counts and ages at one moment."""

    posts: int
    deleted_posts: int
    matches_by_rule: dict[str, int]
    alerts_by_state: dict[str, int]
    oldest_pending_age: float | None
    channels: tuple[ChannelSnapshot, ...]
    heartbeat_age: float | None
    media_by_state: dict[str, int] = field(default_factory=dict)
    media_bytes: int = 0
    db_bytes: int = 0
    conditions: tuple[tuple[str, str], ...] = ()  # raised health / trend conditions: (key, kind)
    stopped_age: float | None = None  # seconds since `run` stopped cleanly, when after its last heartbeat


def _age(now: datetime, iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return max(0.0, (now - when).total_seconds())


def take(path: Path, now: datetime) -> Snapshot:
    """Read the snapshot; StorageError (one line) when the database cannot be read."""
    check_archive(path)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as e:
        raise storage_error(e, path) from e
    try:
        return _take(conn, path, now)
    except sqlite3.Error as e:
        raise storage_error(e, path) from e
    finally:
        conn.close()


def _take(conn: sqlite3.Connection, path: Path, now: datetime) -> Snapshot:
    conn.row_factory = sqlite3.Row

    def one(sql: str) -> Any:
        return conn.execute(sql).fetchone()[0]

    check_schema(conn, path)  # the same refusals as every other reading command
    posts = int(one("SELECT count(*) FROM posts"))
    deleted = int(one("SELECT count(*) FROM posts WHERE deleted_at IS NOT NULL"))
    matches = {str(r[0]): int(r[1]) for r in conn.execute("SELECT rule, count(*) FROM matches GROUP BY rule")}
    alerts = {
        str(r[0]): int(r[1]) for r in conn.execute("SELECT status, count(*) FROM alerts GROUP BY status")
    }
    oldest = one("SELECT min(created_at) FROM alerts WHERE status = 'pending'")
    meta = _meta(conn)
    channels = []
    for r in conn.execute(
        "SELECT c.id, c.tg_id, c.username, k.last_post_at, k.last_checked_at, k.errors FROM channels c "
        "LEFT JOIN cursors k ON k.channel_id = c.id WHERE c.tg_id IS NOT NULL AND c.resolved_at IS NOT NULL "
        "ORDER BY c.username, c.id"
    ):
        extra = _json(meta.get(f"watch.channel.{r['id']}"))
        behind = extra.get("behind")
        channels.append(
            ChannelSnapshot(
                name=f"@{r['username']}" if r["username"] else str(r["tg_id"]),
                behind=int(behind) if isinstance(behind, int) else None,
                last_post_age=_age(now, r["last_post_at"]),
                last_check_age=_age(now, r["last_checked_at"]),
                errors=int(r["errors"] or 0),
            )
        )
    media_states: dict[str, int] = {}
    media_bytes = 0
    if one("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'media'"):
        media_states = {
            str(r[0]): int(r[1]) for r in conn.execute("SELECT state, count(*) FROM media GROUP BY state")
        }
        media_bytes = int(
            one(
                "SELECT coalesce(sum(size), 0) FROM (SELECT DISTINCT sha256, size FROM media WHERE state = 'stored')"
            )
        )
    conditions: tuple[tuple[str, str], ...] = ()
    if one("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'conditions'"):
        conditions = tuple(
            (str(r[0]), str(r[1])) for r in conn.execute("SELECT key, kind FROM conditions ORDER BY key")
        )
    return Snapshot(
        posts=posts,
        deleted_posts=deleted,
        matches_by_rule=matches,
        alerts_by_state=alerts,
        oldest_pending_age=_age(now, oldest),
        channels=tuple(channels),
        heartbeat_age=_age(now, meta.get(HEARTBEAT_KEY)),
        stopped_age=_stopped_age(now, meta.get(HEARTBEAT_KEY), meta.get(STOPPED_KEY)),
        media_by_state=media_states,
        media_bytes=media_bytes,
        db_bytes=path.stat().st_size,
        conditions=conditions,
    )


def _stopped_age(now: datetime, heartbeat: str | None, stopped: str | None) -> float | None:
    """Seconds since the last clean stop, when no heartbeat was written after it (else None)."""
    try:
        stop = datetime.fromisoformat(stopped) if stopped else None
        beat = datetime.fromisoformat(heartbeat) if heartbeat else None
    except ValueError:
        return None
    if stop is None or (beat is not None and beat > stop):
        return None
    return max(0.0, (now - stop).total_seconds())


def _meta(conn: sqlite3.Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT key, value FROM meta WHERE key LIKE 'watch.channel.%' OR key IN (?, ?)",
        (HEARTBEAT_KEY, STOPPED_KEY),
    )
    return {str(r[0]): str(r[1]) for r in rows}


def _json(raw: str | None) -> dict[str, object]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
