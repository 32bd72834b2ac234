"""`telewatch migrate`: copy an SQLite archive into a PostgreSQL database (storage/postgres/copy.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.app.backend import PgLocation
from storage.db import Database
from storage.postgres.copy import Progress, TableCount, copy_archive, source_counts, source_name_of
from storage.postgres.db import PgDatabase


async def migrate_archive(
    source: Path,
    target: PgLocation,
    *,
    batch: int = 5000,
    on_start: Callable[[dict[str, int]], None] | None = None,
    progress: Progress | None = None,
) -> list[TableCount]:
    """Copy what is not yet copied of `source` into `target` (created and migrated as needed)."""
    src = await Database.open(source, read_only=True)
    try:
        dst = await PgDatabase.open(target.url, target.password)
        try:
            if on_start is not None:
                on_start(await source_counts(src))
            return await copy_archive(src, dst, source_name_of(source), batch=batch, progress=progress)
        finally:
            await dst.close()
    finally:
        await src.close()
