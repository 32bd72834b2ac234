"""Media rows of the archive (the SQLite side of bot.domain.media.MediaStore)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.domain.media import FILE_KINDS, MediaRecord, MediaState, StoredFile
from storage.codec import media_from
from storage.db import Database

SCAN_KEY = "media.scanned_to"
COLUMNS = (
    "id, post_id, idx, kind, message_id, channel_tg_id, state, mime_type, file_name, size, file_ref, "
    "local_path, sha256, path, thumb_path, reason, ocr_text"
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _record(r: Any) -> MediaRecord:
    return MediaRecord(
        id=int(r["id"]),
        post_id=int(r["post_id"]),
        index=int(r["idx"]),
        kind=str(r["kind"]),
        message_id=int(r["message_id"]),
        channel_tg_id=r["channel_tg_id"],
        state=MediaState(r["state"]),
        mime_type=r["mime_type"],
        file_name=r["file_name"],
        size=r["size"],
        file_ref=r["file_ref"],
        local_path=r["local_path"],
        sha256=r["sha256"],
        path=r["path"],
        thumb_path=r["thumb_path"],
        reason=r["reason"],
        ocr_text=r["ocr_text"],
    )


class MediaRepository:
    """Rows of the `media` table; see MediaStore for what each method promises."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def scan(self, limit: int = 500) -> int:
        async with self.db.transaction() as tx:
            async with tx.execute("SELECT value FROM meta WHERE key = ?", (SCAN_KEY,)) as cur:
                row = await cur.fetchone()
            after = int(row[0]) if row else 0
            async with tx.execute(
                "SELECT p.id, p.message_id, p.media, c.tg_id FROM posts p JOIN channels c ON c.id = p.channel_id "
                "WHERE p.id > ? AND p.media IS NOT NULL ORDER BY p.id LIMIT ?",
                (after, limit),
            ) as cur:
                posts = list(await cur.fetchall())
            rows = []
            now = _now()
            for post_id, message_id, media, tg_id in posts:
                for i, m in enumerate(media_from(media)):
                    has_file = m.kind in FILE_KINDS
                    rows.append(
                        (
                            post_id,
                            i,
                            m.kind,
                            m.message_id or message_id,
                            tg_id,
                            m.mime_type,
                            m.file_name,
                            m.size,
                            m.file_ref,
                            m.local_path,
                            MediaState.PENDING if has_file else MediaState.SKIPPED,
                            None if has_file else f"a {m.kind} has no file to keep",
                            now,
                        )
                    )
            if rows:
                await tx.executemany(
                    "INSERT OR IGNORE INTO media (post_id, idx, kind, message_id, channel_tg_id, mime_type, "
                    "file_name, size, file_ref, local_path, state, reason, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            if posts:
                await tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (SCAN_KEY, str(posts[-1][0])),
                )
            return len(rows)

    async def pending(self, limit: int, *, channels: Sequence[int] | None = None) -> list[MediaRecord]:
        where = "state = 'pending'"
        params: list[Any] = []
        if channels is not None:
            marks = ", ".join("?" for _ in channels) or "NULL"
            where += f" AND (local_path IS NOT NULL OR channel_tg_id IN ({marks}))"
            params.extend(channels)
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM media WHERE {where} ORDER BY id LIMIT ?", (*params, limit)
        )
        return [_record(r) for r in rows]

    async def stored_like(self, record: MediaRecord) -> MediaRecord | None:
        if not record.file_ref:
            return None
        row = await self.db.fetchone(
            f"SELECT {COLUMNS} FROM media WHERE file_ref = ? AND state = 'stored' LIMIT 1", (record.file_ref,)
        )
        return _record(row) if row else None

    async def stored_bytes(self) -> int:
        row = await self.db.fetchone(
            "SELECT coalesce(sum(size), 0) FROM (SELECT sha256, max(size) AS size FROM media "
            "WHERE state = 'stored' GROUP BY sha256)"
        )
        return int(row[0]) if row else 0

    async def finish(self, record_id: int, stored: StoredFile) -> None:
        await self.db.execute(
            "UPDATE media SET state = 'stored', sha256 = ?, path = ?, size = ?, thumb_path = ?, reason = ?, "
            "updated_at = ? WHERE id = ?",
            (stored.sha256, stored.path, stored.size, stored.thumb_path, stored.note, _now(), record_id),
        )

    async def give_up(self, record_id: int, state: MediaState, reason: str) -> None:
        await self.db.execute(
            "UPDATE media SET state = ?, reason = ?, updated_at = ? WHERE id = ?",
            (str(state), reason, _now(), record_id),
        )

    async def set_ocr(self, record_id: int, text: str) -> None:
        await self.db.execute("UPDATE media SET ocr_text = ? WHERE id = ?", (text, record_id))

    async def for_post(self, post_id: int) -> list[MediaRecord]:
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM media WHERE post_id = ? ORDER BY idx", (post_id,)
        )
        return [_record(r) for r in rows]

    async def counts(self) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT state, count(*) FROM media GROUP BY state")
        return {str(r[0]): int(r[1]) for r in rows}

    async def ocr_search(self, words: Sequence[str], limit: int = 20) -> list[int]:
        """Post ids whose images' OCR text contains every word (case-insensitive), newest first."""
        if not words:
            return []
        clauses = " AND ".join("lower(m.ocr_text) LIKE ?" for _ in words)
        rows = await self.db.fetchall(
            f"SELECT DISTINCT m.post_id FROM media m WHERE m.ocr_text IS NOT NULL AND {clauses} "
            "ORDER BY m.post_id DESC LIMIT ?",
            (*(f"%{w.lower()}%" for w in words), limit),
        )
        return [int(r[0]) for r in rows]
