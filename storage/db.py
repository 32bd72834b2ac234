"""The one aiosqlite connection: pragmas, numbered migrations, serialised write transactions."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.errors import StorageError

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """The numbered migration files shipped in storage/migrations, in order: (number, name, sql)."""
    found = []
    for entry in resources.files("storage").joinpath("migrations").iterdir():
        m = MIGRATION_NAME.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(found) + 1)):
        raise StorageError(f"migrations are not numbered 1..N without gaps: {numbers}")
    return found


LATEST_VERSION = len(migrations())


class Database:
    """Owns the single connection. Writers go through `transaction()`, which serialises them."""

    def __init__(self, conn: aiosqlite.Connection, path: Path | str) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, *, migrate_to: int | None = None) -> Database:
        """Open (creating folders and file as needed) and migrate to the latest schema."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = await aiosqlite.connect(str(path), isolation_level=None)
        except sqlite3.Error as e:
            raise StorageError(
                f"cannot open database {path}: {e}", hint="check the path and its permissions"
            ) from e
        conn.row_factory = aiosqlite.Row
        db = cls(conn, path)
        try:
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA synchronous=NORMAL",
                "PRAGMA foreign_keys=ON",
                "PRAGMA busy_timeout=5000",
                "PRAGMA temp_store=MEMORY",
                "PRAGMA cache_size=-16384",  # 16 MiB page cache: keeps RSS flat on big imports
            ):
                await conn.execute(pragma)
            await db.migrate(migrate_to)
        except sqlite3.DatabaseError as e:
            await conn.close()
            raise StorageError(
                f"{path} is not a usable telewatch database: {e}",
                hint="point --db at a new file or at a database telewatch created",
            ) from e
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        async with self._write_lock:
            await self.conn.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def migrate(self, target: int | None = None) -> int:
        """Apply every migration above the stored version (up to `target`); returns the new version."""
        current = await self.schema_version()
        target = LATEST_VERSION if target is None else target
        if current > LATEST_VERSION:
            raise StorageError(
                f"database {self.path} has schema version {current}, newer than this telewatch "
                f"({LATEST_VERSION})",
                hint="upgrade telewatch",
            )
        for number, _name, sql in migrations():
            if current < number <= target:
                async with self.transaction():
                    for statement in split_sql(sql):
                        await self.conn.execute(statement)
                    await self.conn.execute(f"PRAGMA user_version={number}")
                current = number
        return current

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One serialised write transaction (BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error)."""
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """A single write statement in its own transaction."""
        async with self.transaction() as conn:
            await conn.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)


def split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping CREATE TRIGGER ... END blocks whole."""
    statements: list[str] = []
    buffer: list[str] = []
    for line in script.splitlines():
        stripped = line.strip()
        if not buffer and (not stripped or stripped.startswith("--")):
            continue
        buffer.append(line)
        candidate = "\n".join(buffer)
        if sqlite3.complete_statement(candidate):
            statements.append(candidate.strip())
            buffer = []
    if "".join(buffer).strip():
        statements.append("\n".join(buffer).strip())
    return statements
