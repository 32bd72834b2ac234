"""The PostgreSQL connection pool: numbered migrations, serialised write transactions, one-line errors."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import AsyncRawCursor
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.domain.errors import StorageError, StorageUnavailable
from storage.db import numbered_migrations
from storage.postgres.compat import Connection, Row, configure_adapters, row_factory

# Any number: migrations of two processes opening the same new database are serialised by it.
MIGRATION_LOCK = 0x7E1E_0014


def migrations() -> list[tuple[int, str, str]]:
    """The numbered migration files of storage/postgres/migrations, in order: (number, name, sql)."""
    return numbered_migrations("storage.postgres")


LATEST_VERSION = len(migrations())


def display_url(url: str) -> str:
    """The URL without any password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def _one_line(message: str) -> str:
    """libpq's multi-line connection message as one line: each distinct reason ('Connection refused'),
    without the 'connection to server at ... failed:' prefixes and the 'Is the server running' advice."""
    reasons: list[str] = []
    for raw in message.splitlines():
        line = raw.strip()
        if not line or line.startswith("Is the server running"):
            continue
        line = re.sub(r"^(connection failed:\s*)?(connection to server (at|on) .*? failed:\s*)?", "", line)
        if line and line not in reasons:
            reasons.append(line)
    return "; ".join(reasons)


def connection_error(error: psycopg.Error, url: str) -> StorageError:
    """The one-line StorageError for a failure to reach or log in to the server at `url`."""
    shown = display_url(url)
    text = _one_line(str(error)) or type(error).__name__
    low = str(error).lower()
    if "password authentication failed" in low or "no password supplied" in low:
        return StorageError(
            f"PostgreSQL at {shown} refused the login: wrong or missing password",
            hint="set TELEWATCH_DB_PASSWORD (environment or .env) to the password of that user",
        )
    if 'database "' in low and "does not exist" in low:
        return StorageError(
            f"PostgreSQL at {shown}: the database does not exist", hint="create it: createdb -O USER DBNAME"
        )
    if 'role "' in low and "does not exist" in low:
        return StorageError(
            f"PostgreSQL at {shown}: the user does not exist", hint="create it: createuser -P USER"
        )
    return StorageUnavailable(
        f"cannot reach PostgreSQL at {shown}: {text}",
        hint="is the server running and listening there? check [storage] url",
    )


class PgDatabase:
    """A pool of connections. Writers go through `transaction()`, serialised within this process."""

    def __init__(self, pool: AsyncConnectionPool[Any], url: str) -> None:
        self.pool = pool
        self.url = url
        self.path = display_url(url)  # what messages call the database
        self.read_only = False
        self._write_lock = asyncio.Lock()
        self._current: ContextVar[Connection | None] = ContextVar(f"pg-tx-{id(self)}", default=None)

    @property
    def writing(self) -> bool:
        return self._write_lock.locked()

    @classmethod
    async def open(
        cls,
        url: str,
        password: str | None = None,
        *,
        migrate: bool = True,
        max_size: int = 4,
        pool_timeout: float = 30.0,
    ) -> PgDatabase:
        """Connect (failing with one line when the server cannot be reached) and migrate the schema."""
        kwargs: dict[str, Any] = {"autocommit": True, "cursor_factory": AsyncRawCursor, "connect_timeout": 10}
        if password is not None:
            kwargs["password"] = password

        async def configure(conn: psycopg.AsyncConnection[Any]) -> None:
            configure_adapters(conn)
            conn.row_factory = row_factory

        try:
            first = await psycopg.AsyncConnection.connect(url, **kwargs)
        except psycopg.Error as e:
            raise connection_error(e, url) from e
        await first.close()
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url,
            kwargs=kwargs,
            min_size=1,
            max_size=max_size,
            configure=configure,
            open=False,
            timeout=pool_timeout,
        )
        await pool.open(wait=True, timeout=30)
        db = cls(pool, url)
        try:
            if migrate:
                await db.migrate()
            else:
                await db.check_version()
        except BaseException:
            await pool.close()
            raise
        return db

    async def close(self) -> None:
        async with self._write_lock:
            await self.pool.close()

    @contextmanager
    def faults(self) -> Iterator[None]:
        """A lost or refused connection becomes one StorageError line; SQL errors (bugs) pass unchanged."""
        try:
            yield
        except (psycopg.OperationalError, PoolTimeout) as e:
            if isinstance(e, psycopg.errors.QueryCanceled):
                raise
            raise StorageUnavailable(
                f"lost the connection to PostgreSQL at {self.path}: {str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__}",
                hint="check the server; what was committed is kept, and `telewatch run` retries",
            ) from e

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        current = self._current.get()
        if current is not None:  # inside this task's transaction: read what it wrote
            yield current
            return
        with self.faults():
            async with self.pool.connection() as raw:
                yield Connection(raw)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One write transaction (BEGIN ... COMMIT, ROLLBACK on error), serialised within the process."""
        async with self._write_lock:
            with self.faults():
                async with self.pool.connection() as raw, raw.transaction():
                    conn = Connection(raw)
                    token = self._current.set(conn)
                    try:
                        yield conn
                    finally:
                        self._current.reset(token)

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[Connection]:
        async with self._write_lock, self._connection() as conn:
            yield conn

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._connection() as conn:
            with self.faults():
                return await conn.execute_fetchall(sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self.transaction() as conn:
            cur = await conn.execute(sql, params)
            return int(cur.rowcount)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        async with self.transaction() as conn:
            await conn.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    async def schema_version(self) -> int:
        """The newest migration applied; -1 when the database has no schema_version table at all."""
        exists = await self.fetchone("SELECT to_regclass('schema_version') IS NOT NULL")
        if not exists or not exists[0]:
            return -1
        row = await self.fetchone("SELECT COALESCE(max(version), 0) FROM schema_version")
        return int(row[0]) if row else 0

    async def check_version(self) -> int:
        version = await self.schema_version()
        if version < 0:
            raise StorageError(
                f"{self.path} holds no telewatch archive yet",
                hint="a writing command creates it (telewatch run, import), or copy one in with telewatch migrate",
            )
        if version != LATEST_VERSION:
            raise version_error(self.path, version)
        return version

    async def migrate(self, target: int | None = None) -> int:
        """Apply every migration above the stored version (all in one transaction); returns the version."""
        target = LATEST_VERSION if target is None else target
        async with self.transaction() as conn:
            await conn.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            version = await self.schema_version()
            if version > LATEST_VERSION:
                raise version_error(self.path, version)
            if version < 0:
                await self._refuse_foreign_tables(conn)
                await conn.execute(
                    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
                version = 0
            for number, _name, sql in migrations():
                if version < number <= target:
                    await conn.raw.execute(sql.encode())  # several statements: the simple query protocol
                    await conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
                    version = number
        return version

    async def _refuse_foreign_tables(self, conn: Connection) -> None:
        rows = await conn.execute_fetchall(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        )
        if rows:
            names = [r[0] for r in rows]
            listed = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
            raise StorageError(
                f"{self.path} holds tables of another application, not telewatch's (tables: {listed})",
                hint="point [storage] url at an empty database (createdb) or one telewatch created",
            )


def version_error(path: str, version: int) -> StorageError:
    if version > LATEST_VERSION:
        return StorageError(
            f"database {path} has schema version {version}, newer than this telewatch ({LATEST_VERSION})",
            hint="upgrade telewatch",
        )
    return StorageError(
        f"database {path} has schema version {version}, older than this telewatch ({LATEST_VERSION})",
        hint="open it once with a writing command (telewatch run, import) to upgrade it",
    )


async def close_quietly(db: PgDatabase) -> None:
    with contextlib.suppress(psycopg.Error):
        await db.close()
