"""Which storage backend: the one place (with the CLI's context) that picks SQLite or PostgreSQL.

`[storage] url = "postgresql://user@host/db"` selects PostgreSQL (the password from
TELEWATCH_DB_PASSWORD, .env, or libpq's own PGPASSWORD / ~/.pgpass); otherwise `[storage] path` (or
--db) is an SQLite file, the default.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from storage.postgres.db import display_url
from storage.postgres.snapshot import take_pg
from storage.postgres.store import PgStore
from storage.snapshot import Snapshot, take
from storage.store import Store


@dataclass(frozen=True)
class PgLocation:
    """A PostgreSQL database: its URL (never with a password) and the password from the environment."""

    url: str
    password: str | None = field(default=None, repr=False)  # never in a log line or traceback

    def __str__(self) -> str:
        return display_url(self.url)


Location = Path | str | PgLocation


async def open_store(location: Location, *, read_only: bool = False, create: bool = True) -> Store:
    """Open the store at `location`: an SQLite file, or a PostgreSQL database (its schema created or
    upgraded unless `read_only` or not `create`)."""
    if isinstance(location, PgLocation):
        return await PgStore.open_url(location.url, location.password, migrate=not read_only and create)
    return await Store.open(location, read_only=read_only, create=create)


def snapshot(location: Path | PgLocation, now: datetime) -> Snapshot:
    """The service snapshot (heartbeat, counts) of the database at `location`, read-only."""
    if isinstance(location, PgLocation):
        return asyncio.run(take_pg(location.url, location.password, now))
    return take(location, now)


def sqlite_file(store: Store) -> Path | None:
    """The SQLite file behind `store`; None on PostgreSQL (file-level checks and snapshots do not apply)."""
    return None if isinstance(store, PgStore) else Path(store.db.path)
