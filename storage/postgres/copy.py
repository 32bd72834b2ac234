"""Copy an SQLite archive into PostgreSQL table by table, in batches, resumably (`telewatch migrate`).

Each batch is written with COPY and committed together with its progress row (copy_progress), so an
interrupted copy continues after the last committed batch: no row twice, none left out. Tables are
copied parents first (channels, posts, then what refers to them); the identity sequences are moved past
the copied ids at the end, and every table's rows are counted on both sides.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.domain.errors import StorageError, StorageUnavailable
from storage.db import Database
from storage.postgres.db import PgDatabase

# Parents before children (foreign keys); WITHOUT ROWID tables are walked by their primary key.
TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("channels", ("rowid",)),
    ("channel_names", ("rowid",)),
    ("posts", ("rowid",)),
    ("post_versions", ("post_id", "version")),
    ("matches", ("rowid",)),
    ("digests", ("rowid",)),
    ("alerts", ("rowid",)),
    ("cursors", ("rowid",)),
    ("meta", ("rowid",)),
    ("mutes", ("rowid",)),
    ("dedup_texts", ("rowid",)),
    ("dedup_bands", ("band", "post_id")),
    ("alert_edits", ("rowid",)),
    ("relevance_models", ("rowid",)),
    ("media", ("rowid",)),
    ("notices", ("rowid",)),
    ("conditions", ("rowid",)),
)
IDENTITY_TABLES = ("channels", "posts", "matches", "alerts", "mutes", "digests", "media", "notices")
RETRIES = 5  # a batch that lost its connection is tried again this often, with backoff


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


Progress = Callable[[str, int], None]  # (table, rows just copied)


async def source_counts(src: Database) -> dict[str, int]:
    counts = {}
    for table, _key in TABLES:
        row = await src.fetchone(f"SELECT count(*) FROM {table}")
        counts[table] = int(row[0]) if row else 0
    return counts


async def copy_archive(
    src: Database,
    dst: PgDatabase,
    source_name: str,
    *,
    batch: int = 5000,
    progress: Progress | None = None,
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> list[TableCount]:
    """Copy every table not yet copied from `src` into `dst`; returns the row counts of both sides."""
    await _refuse_foreign_rows(dst, source_name)
    for table, key in TABLES:
        await _copy_table(src, dst, source_name, table, key, batch, progress, sleep)
    async with dst.transaction() as conn:
        for table in IDENTITY_TABLES:
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"GREATEST((SELECT max(id) FROM {table}), 1), (SELECT max(id) FROM {table}) IS NOT NULL)"
            )
    return await count_check(src, dst)


async def count_check(src: Database, dst: PgDatabase) -> list[TableCount]:
    counts = await source_counts(src)
    out = []
    for table, _key in TABLES:
        row = await dst.fetchone(f"SELECT count(*) FROM {table}")
        out.append(TableCount(table, counts[table], int(row[0]) if row else 0))
    return out


async def _refuse_foreign_rows(dst: PgDatabase, source_name: str) -> None:
    """A target holding posts that no copy from this source put there would mix two archives."""
    started = await dst.fetchone("SELECT count(*) FROM copy_progress WHERE source = ?", (source_name,))
    if started and int(started[0]) > 0:
        return
    row = await dst.fetchone("SELECT (SELECT count(*) FROM posts) + (SELECT count(*) FROM channels)")
    if row and int(row[0]) > 0:
        raise StorageError(
            f"{dst.path} already holds posts or channels that were not copied from {source_name}",
            hint="migrate into a new, empty database (createdb), or continue the copy from the same file",
        )


async def _columns(src: Database, dst: PgDatabase, table: str) -> list[str]:
    ours = [str(r[1]) for r in await src.fetchall(f"PRAGMA table_info({table})")]
    theirs = {
        str(r[0])
        for r in await dst.fetchall(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? AND is_generated = 'NEVER'",
            (table,),
        )
    }
    missing = [c for c in ours if c not in theirs]
    if missing:
        raise StorageError(f"PostgreSQL table {table} has no column {', '.join(missing)}")
    return ours


async def _copy_table(
    src: Database,
    dst: PgDatabase,
    source_name: str,
    table: str,
    key: tuple[str, ...],
    batch: int,
    progress: Progress | None,
    sleep: Callable[[float], Any],
) -> None:
    state = await dst.fetchone(
        "SELECT last_key, done FROM copy_progress WHERE source = ? AND table_name = ?", (source_name, table)
    )
    if state is not None and state[1]:
        return
    last: list[Any] | None = json.loads(state[0]) if state is not None else None
    columns = await _columns(src, dst, table)
    keys = ", ".join(key)
    select = f"SELECT {keys}, {', '.join(columns)} FROM {table}"
    while True:
        if last is None:
            rows = await src.fetchall(f"{select} ORDER BY {keys} LIMIT ?", (batch,))
        else:
            marks = ", ".join("?" * len(key))
            rows = await src.fetchall(
                f"{select} WHERE ({keys}) > ({marks}) ORDER BY {keys} LIMIT ?", (*last, batch)
            )
        if not rows:
            break
        values = [[_clean(v) for v in tuple(r)[len(key) :]] for r in rows]
        last = list(tuple(rows[-1])[: len(key)])
        await _write_batch(dst, source_name, table, columns, values, last, sleep)
        if progress is not None:
            progress(table, len(rows))
        if len(rows) < batch:
            break
    async with dst.transaction() as conn:
        await conn.execute(
            "INSERT INTO copy_progress (source, table_name, last_key, done) VALUES (?, ?, ?, true) "
            "ON CONFLICT (source, table_name) DO UPDATE SET done = true, updated_at = now()",
            (source_name, table, json.dumps(last or [])),
        )


async def _write_batch(
    dst: PgDatabase,
    source_name: str,
    table: str,
    columns: list[str],
    values: list[list[Any]],
    last: list[Any],
    sleep: Callable[[float], Any],
) -> None:
    """One batch and its progress row in one transaction; a lost connection is retried with backoff."""
    delay = 0.5
    for attempt in range(RETRIES + 1):
        try:
            async with dst.transaction() as conn:
                # Safe to lose on a server crash: the progress row commits with the batch, so a re-run
                # copies again exactly what was lost.
                await conn.execute("SET LOCAL synchronous_commit = off")
                cur = conn.raw.cursor()
                async with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in values:
                        await copy.write_row(row)
                await conn.execute(
                    "INSERT INTO copy_progress (source, table_name, last_key, rows) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (source, table_name) DO UPDATE SET last_key = excluded.last_key, "
                    "rows = copy_progress.rows + excluded.rows, updated_at = now()",
                    (source_name, table, json.dumps(last), len(values)),
                )
            return
        except StorageUnavailable:
            if attempt == RETRIES:
                raise
            await sleep(delay)
            delay = min(delay * 2, 10.0)


def _clean(value: Any) -> Any:
    # PostgreSQL text cannot hold NUL characters; SQLite can (a hostile import): U+FFFD stands in for them.
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


def source_name_of(path: Path) -> str:
    return str(path.resolve())
