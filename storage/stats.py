"""`telewatch db stats`: file sizes, space per table (dbstat), row counts, free pages, the date range."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.errors import StorageError
from storage.db import check_archive, storage_error


@dataclass(frozen=True, slots=True)
class TableSize:
    """One table with its indexes (and FTS shadow tables): rows and bytes on disk."""

    name: str
    rows: int
    bytes: int


@dataclass(frozen=True, slots=True)
class DbStats:
    """What `db stats` prints."""

    path: Path
    file_bytes: int
    wal_bytes: int
    page_size: int
    pages: int
    free_pages: int
    auto_vacuum: str
    schema_version: int
    tables: tuple[TableSize, ...]
    oldest_post: str | None
    newest_post: str | None
    deleted_posts: int
    alerts_by_status: dict[str, int] = field(default_factory=dict)
    reviewed_relevant: int = 0
    media_by_state: dict[str, int] = field(default_factory=dict)
    media_bytes: int = 0  # distinct files in the media archive

    @property
    def free_bytes(self) -> int:
        return self.free_pages * self.page_size


AUTO_VACUUM = {0: "none", 1: "full", 2: "incremental"}
# Shadow tables of the FTS index count towards the table they index.
OWNER_PREFIXES = (("posts_fts", "posts"),)


def collect(path: Path) -> DbStats:
    """Read the statistics of the database at `path` without writing to it."""
    check_archive(path)
    uri = path.resolve().as_uri()
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True)
        try:
            conn.execute("PRAGMA user_version").fetchone()
        except sqlite3.OperationalError as e:
            if getattr(e, "sqlite_errorcode", 0) & 0xFF != sqlite3.SQLITE_CANTOPEN:
                raise
            # A WAL database on read-only media: its -shm cannot be created. Nobody can be writing to it
            # there, so read it as immutable (as the other reading commands do).
            conn.close()
            conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as e:
        raise storage_error(e, path) from e
    try:
        conn.execute("PRAGMA busy_timeout=10000")
        return _collect(conn, path)
    except sqlite3.DatabaseError as e:
        raise storage_error(e, path) from e
    finally:
        conn.close()


def _collect(conn: sqlite3.Connection, path: Path) -> DbStats:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version < 1:
        raise StorageError(f"{path} is not a telewatch database", hint="check --db / [storage] path")
    owners = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
    sizes: dict[str, int] = {}
    for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
        owner = owners.get(name, name)
        for prefix, table in OWNER_PREFIXES:
            if owner.startswith(prefix):
                owner = table
        sizes[owner] = sizes.get(owner, 0) + int(size)
    tables = []
    user_tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'posts_fts%' ORDER BY name"
        )
    ]
    for name in user_tables:
        rows = int(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
        tables.append(TableSize(name, rows, sizes.get(name, 0)))
    tables.sort(key=lambda t: (-t.bytes, t.name))
    oldest, newest = conn.execute("SELECT min(date), max(date) FROM posts").fetchone()
    deleted = int(conn.execute("SELECT count(*) FROM posts WHERE deleted_at IS NOT NULL").fetchone()[0])
    by_status = {str(s): int(n) for s, n in conn.execute("SELECT status, count(*) FROM alerts GROUP BY 1")}
    relevant = int(conn.execute("SELECT count(*) FROM alerts WHERE review = 'relevant'").fetchone()[0])
    media_states: dict[str, int] = {}
    media_bytes = 0
    if "media" in owners:
        media_states = {
            str(s): int(n) for s, n in conn.execute("SELECT state, count(*) FROM media GROUP BY 1")
        }
        media_bytes = int(
            conn.execute(
                "SELECT coalesce(sum(size), 0) FROM (SELECT sha256, max(size) AS size FROM media "
                "WHERE state = 'stored' GROUP BY sha256)"
            ).fetchone()[0]
        )
    wal = path.with_name(path.name + "-wal")
    return DbStats(
        path=path,
        file_bytes=path.stat().st_size,
        wal_bytes=wal.stat().st_size if wal.exists() else 0,
        page_size=int(conn.execute("PRAGMA page_size").fetchone()[0]),
        pages=int(conn.execute("PRAGMA page_count").fetchone()[0]),
        free_pages=int(conn.execute("PRAGMA freelist_count").fetchone()[0]),
        auto_vacuum=AUTO_VACUUM.get(int(conn.execute("PRAGMA auto_vacuum").fetchone()[0]), "?"),
        schema_version=version,
        tables=tuple(tables),
        oldest_post=oldest,
        newest_post=newest,
        deleted_posts=deleted,
        alerts_by_status=by_status,
        reviewed_relevant=relevant,
        media_by_state=media_states,
        media_bytes=media_bytes,
    )


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
