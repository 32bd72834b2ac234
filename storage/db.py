"""The one aiosqlite connection: pragmas, numbered migrations, serialised write transactions."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, cast

import aiosqlite

from bot.domain.errors import StorageError
from bot.domain.storage import Transaction


def connection(tx: Transaction) -> aiosqlite.Connection:
    """The connection behind a transaction handle this module gave out (Database.transaction)."""
    return cast(aiosqlite.Connection, tx)


MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """The numbered migration files shipped in storage/migrations, in order: (number, name, sql)."""
    return numbered_migrations("storage")


def numbered_migrations(package: str) -> list[tuple[int, str, str]]:
    """The files NNNN_name.sql in `package`'s migrations folder, in order: (number, name, sql)."""
    found = []
    for entry in resources.files(package).joinpath("migrations").iterdir():
        m = MIGRATION_NAME.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(found) + 1)):
        raise StorageError(f"{package} migrations are not numbered 1..N without gaps: {numbers}")
    return found


LATEST_VERSION = len(migrations())


# SQLite's primary result codes that mean the file or the disk is at fault, not the SQL.
_FULL, _READONLY, _CORRUPT, _NOTADB, _CANTOPEN, _IOERR, _BUSY, _LOCKED, _PERM = 13, 8, 11, 26, 14, 10, 5, 6, 3
STORAGE_FAULTS = frozenset({_FULL, _READONLY, _CORRUPT, _NOTADB, _CANTOPEN, _IOERR, _BUSY, _LOCKED, _PERM})


def is_storage_fault(error: BaseException) -> bool:
    """Whether a sqlite3 error is about the file, the disk or a lock (not a bug in a statement)."""
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(error, sqlite3.Error) and code is not None and code & 0xFF in STORAGE_FAULTS


def storage_error(error: sqlite3.Error, path: Path | str) -> StorageError:
    """The one-line StorageError (with a hint) for a sqlite3 error on the database at `path`."""
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
    if code == _FULL:
        return StorageError(
            f"cannot write to {path}: the disk is full",
            hint="free space on that disk (or point --db elsewhere) and run the command again; "
            "what was committed before is kept",
        )
    if code in (_READONLY, _PERM):
        return StorageError(
            f"cannot write to {path}: the database is read-only ({error})",
            hint="check the permissions of the file and its folder (reading commands still work)",
        )
    if code in (_CORRUPT, _NOTADB):
        return StorageError(
            f"{path} is damaged or not a telewatch database ({error})",
            hint=f"restore it from a backup, or salvage it with: sqlite3 {path} .recover | sqlite3 NEW.db",
        )
    if code in (_BUSY, _LOCKED):
        return StorageError(
            f"{path} is locked by another process ({error})",
            hint="wait for the other telewatch to finish, or stop it",
        )
    if code == _CANTOPEN:
        return StorageError(
            f"cannot open database {path} ({error})", hint="check the path and its permissions"
        )
    return StorageError(
        f"database {path}: {error}",
        hint="check the disk: is it full, failing, or over a file size limit (ulimit -f)?",
    )


class Database:
    """Owns the single connection. Writers go through `transaction()`, which serialises them."""

    def __init__(self, conn: aiosqlite.Connection, path: Path | str, *, read_only: bool = False) -> None:
        self.conn = conn
        self.path = path
        self.read_only = read_only
        self._write_lock = asyncio.Lock()

    @property
    def writing(self) -> bool:
        """Whether a write is running or waiting (a caller may batch its own writes meanwhile)."""
        return self._write_lock.locked()

    @contextmanager
    def faults(self) -> Iterator[None]:
        """Turn sqlite3 errors about the file or disk into StorageError; others (bugs) pass unchanged."""
        try:
            yield
        except sqlite3.Error as e:
            if is_storage_fault(e):
                raise storage_error(e, self.path) from e
            raise

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        migrate_to: int | None = None,
        read_only: bool = False,
        create: bool = True,
    ) -> Database:
        """Open and migrate to the latest schema, creating folders and file as needed.

        `read_only` opens an existing database for reading only: nothing is created, the journal mode
        is left alone and nothing is migrated (an older schema is upgraded first only where the file is
        writable), so archives on read-only media stay searchable. `create=False` opens an existing
        telewatch database for writing but refuses (check_archive) to make one of a missing or empty file.
        """
        if read_only:
            return await cls._open_read_only(path)
        if not create:
            # Everything a reader refuses (missing, empty, not SQLite, not ours, too new) is refused here
            # too, before anything is written; an older telewatch schema is upgraded as usual.
            await (await cls._open_read_only(path)).close()
        if str(path) != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StorageError(
                    f"cannot create the folder for database {path}: {e.strerror}",
                    hint="check the path given with --db or [storage] path",
                ) from e
            _check_writable(Path(path))
            _refuse_foreign_file(Path(path))  # read-only, before any PRAGMA that writes to the file
        conn = await _connect(str(path), path)
        db = cls(conn, path)
        try:
            # busy_timeout first: a second process opening the same new file waits instead of failing.
            await conn.execute("PRAGMA busy_timeout=10000")
            # On a new, empty file only (an existing one is left exactly as it is): pages freed by
            # pruning can then be given back to the disk without rewriting the whole file.
            async with conn.execute("PRAGMA page_count") as cur:
                row = await cur.fetchone()
            if row is not None and row[0] == 0:
                await conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            await _enable_wal(conn)
            for pragma in (
                "PRAGMA synchronous=NORMAL",
                "PRAGMA foreign_keys=ON",
                "PRAGMA temp_store=MEMORY",
                "PRAGMA cache_size=-16384",  # 16 MiB page cache: keeps RSS flat on big imports
            ):
                await conn.execute(pragma)
            await db.migrate(migrate_to)
        except sqlite3.DatabaseError as e:
            await _close_quietly(conn)
            if is_storage_fault(e):
                raise storage_error(e, path) from e
            raise StorageError(
                f"{path} is not a usable telewatch database: {e}",
                hint="point --db at a new file or at a database telewatch created",
            ) from e
        except BaseException:
            await _close_quietly(conn)
            raise
        return db

    @classmethod
    async def _open_read_only(cls, path: Path | str, *, upgraded: bool = False) -> Database:
        uri = check_archive(Path(path))
        # mode=rw never creates the file, and query_only refuses every write; unlike mode=ro it lets
        # the last reader remove the WAL files on close, so reading leaves no new files behind.
        # (SQLite falls back to reading by itself when the file is not writable.)
        conn = await _connect(f"{uri}?mode=rw", path, uri=True)
        try:
            try:
                await conn.execute("PRAGMA query_only=ON")
                await _read_header(conn)
            except sqlite3.OperationalError as e:
                if getattr(e, "sqlite_errorcode", 0) & 0xFF != _CANTOPEN:
                    raise
                # A WAL database on read-only media: its -shm cannot be created. Nobody can be writing
                # to it there, so read it as immutable.
                await _close_quietly(conn)
                conn = await _connect(f"{uri}?mode=ro&immutable=1", path, uri=True)
                await _read_header(conn)
        except sqlite3.DatabaseError as e:
            await _close_quietly(conn)
            raise storage_error(e, path) from e
        except BaseException:
            await _close_quietly(conn)
            raise
        db = cls(conn, path, read_only=True)
        try:
            await conn.execute("PRAGMA busy_timeout=10000")
            await db._refuse_foreign_tables()
            version = await db.schema_version()
            if version == 0:
                raise no_archive(path, "an SQLite file without telewatch's tables")
            if version <= LATEST_VERSION:
                await db._refuse_without_our_tables()  # another application that sets user_version
            if version < LATEST_VERSION and not upgraded:
                # An older schema: upgrade it once where the file is writable, then read as asked.
                await _close_quietly(conn)
                try:
                    await (await cls.open(path)).close()
                except StorageError as e:
                    raise _version_error(path, version) from e
                return await cls._open_read_only(path, upgraded=True)
            if version != LATEST_VERSION:
                raise _version_error(path, version)
        except sqlite3.DatabaseError as e:
            await _close_quietly(conn)
            raise storage_error(e, path) from e
        except BaseException:
            await _close_quietly(conn)
            raise
        return db

    async def close(self) -> None:
        async with self._write_lock:
            await _close_quietly(self.conn)

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def migrate(self, target: int | None = None) -> int:
        """Apply every migration above the stored version (up to `target`); returns the new version.

        Each step re-reads the version inside its BEGIN IMMEDIATE transaction, so two processes
        opening the same new database migrate it once between them.
        """
        target = LATEST_VERSION if target is None else target
        current = await self.schema_version()
        for number, _name, sql in migrations():
            if current >= target:
                break
            async with self.transaction():
                current = await self.schema_version()  # another process may have migrated meanwhile
                if current > LATEST_VERSION:
                    raise _version_error(self.path, current)
                if number == 1:
                    await self._refuse_foreign_tables()
                if current < number <= target:
                    for statement in split_sql(sql):
                        await self.conn.execute(statement)
                    await self.conn.execute(f"PRAGMA user_version={number}")
                    current = number
        if current > LATEST_VERSION:
            raise _version_error(self.path, current)
        return current

    async def _refuse_foreign_tables(self) -> None:
        """A schema-less file with tables belongs to another application: never add ours to it."""
        rows = await self.fetchall(_FOREIGN_TABLES_SQL)
        if rows:
            raise _foreign_error(self.path, [r[0] for r in rows])

    async def _refuse_without_our_tables(self) -> None:
        rows = await self.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = {r[0] for r in rows}
        if any(t not in tables for t in REQUIRED_TABLES):
            others = sorted(t for t in tables if not t.startswith("sqlite_"))
            raise (
                _foreign_error(self.path, others) if others else no_archive(self.path, "no telewatch tables")
            )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One serialised write transaction (BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error)."""
        async with self._write_lock:
            try:
                with self.faults():
                    await self.conn.execute("BEGIN IMMEDIATE")
            except asyncio.CancelledError:
                # Cancelled (Ctrl-C) while the driver's thread runs the BEGIN: it still opens the
                # transaction there (in_transaction cannot tell yet), and the next writer's BEGIN would
                # fail. The driver runs statements in order: this ROLLBACK comes after that BEGIN.
                with contextlib.suppress(sqlite3.Error):
                    await self.conn.execute("ROLLBACK")
                raise
            try:
                yield self.conn
            except BaseException as e:
                await self._rollback()
                if isinstance(e, sqlite3.Error) and is_storage_fault(e):
                    raise storage_error(e, self.path) from e
                raise
            try:
                await self.conn.execute("COMMIT")
            except sqlite3.Error as e:
                await self._rollback()
                if is_storage_fault(e):
                    raise storage_error(e, self.path) from e
                raise

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection with no transaction open and other writers held off (VACUUM, checkpoints)."""
        async with self._write_lock:
            with self.faults():
                yield self.conn

    async def _rollback(self) -> None:
        # SQLite may already have rolled back by itself (disk full, I/O error): nothing left to undo.
        if self.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                await self.conn.execute("ROLLBACK")

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        # One round trip to the connection's thread (execute, fetch and close a cursor take three).
        with self.faults():
            return list(await self.conn.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        with self.faults():
            rows = await self.conn.execute_fetchall(sql, params)
        for row in rows:
            return row
        return None

    async def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement, atomic by itself (autocommit), in one round trip: serialised with the
        transactions but without BEGIN/COMMIT requests of its own. Returns the rows changed."""
        async with self._write_lock:
            with self.faults():
                cur = await self.conn.execute(sql, params)
            return int(cur.rowcount)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """A single write statement in its own transaction."""
        async with self.transaction() as conn:
            await conn.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)


async def _connect(target: str, path: Path | str, *, uri: bool = False) -> aiosqlite.Connection:
    try:
        conn = await aiosqlite.connect(target, isolation_level=None, uri=uri)
    except sqlite3.Error as e:
        raise storage_error(e, path) from e
    conn.row_factory = aiosqlite.Row
    return conn


SQLITE_HEADER = b"SQLite format 3\x00"


def no_archive(path: Path | str, why: str | None = None) -> StorageError:
    return StorageError(
        f"no database at {path}" + (f" ({why})" if why else ""),
        hint="run `telewatch import` or `telewatch run` first to create it, or check --db / [storage] path",
    )


def check_archive(file: Path) -> str:
    """The file: URI of what may be an existing telewatch database. Refuses, reading only the file's first
    bytes, a missing or empty file (StorageError "no database at ..."), or a file that is not SQLite at
    all. Commands that only read (and the web pages) call it first, so they never create or fill a file."""
    if not file.is_file():
        raise no_archive(file, "not a file" if file.exists() else None)
    try:
        with file.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as e:
        raise StorageError(
            f"cannot read database {file}: {e.strerror}", hint="check the path and its permissions"
        ) from None
    if not header:
        raise no_archive(file, "the file is empty")
    if header != SQLITE_HEADER:
        raise StorageError(
            f"{file} is not a telewatch database (not an SQLite file)",
            hint="check --db / [storage] path",
        )
    return file.resolve().as_uri()


async def _enable_wal(conn: aiosqlite.Connection, *, patience: float = 10.0) -> None:
    """Switch to WAL; SQLite does not wait for a busy lock here, so wait for it ourselves."""
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            busy = (getattr(e, "sqlite_errorcode", 0) or 0) & 0xFF in (_BUSY, _LOCKED)
            if not busy or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.02)


# One statement, so one snapshot: read as two, another process's first migration could commit in
# between (version 0, then tables) and make a new telewatch database look like another application's.
_FOREIGN_TABLES_SQL = (
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    " AND (SELECT user_version FROM pragma_user_version) = 0 ORDER BY name"
)


def _foreign_error(path: Path | str, names: list[str]) -> StorageError:
    listed = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
    return StorageError(
        f"{path} is an SQLite database of another application, not telewatch's (tables: {listed}); "
        "telewatch adds its tables only to a new file or to its own database",
        hint="point --db (or [storage] path) at a new file",
    )


REQUIRED_TABLES = ("posts", "channels", "alerts", "meta")  # a database without them is not telewatch's


def check_schema(conn: sqlite3.Connection, path: Path | str) -> int:
    """The schema version of an open SQLite database, after the checks every reading command makes:
    another application's tables, no telewatch tables, a newer schema -> StorageError (one line)."""
    names = [r[0] for r in conn.execute(_FOREIGN_TABLES_SQL)]
    if names:
        raise _foreign_error(path, names)
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version == 0:
        raise no_archive(path, "an SQLite file without telewatch's tables")
    if version > LATEST_VERSION:
        raise _version_error(path, version)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        others = sorted(t for t in tables if not t.startswith("sqlite_"))
        raise _foreign_error(path, others) if others else no_archive(path, "no telewatch tables")
    return version


def _refuse_foreign_file(file: Path) -> None:
    """Before touching an existing file: refuse, reading only, one holding another application's tables."""
    if not file.is_file() or file.stat().st_size == 0:
        return
    check_archive(file)  # not SQLite at all: named as such, never written to
    try:
        conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return  # let the normal open report what is wrong
    try:
        names = [r[0] for r in conn.execute(_FOREIGN_TABLES_SQL)]
    except sqlite3.Error:
        return  # not a database, locked, ...: the normal open reports it
    finally:
        conn.close()
    if names:
        raise _foreign_error(file, names)


def _check_writable(file: Path) -> None:
    """Refuse up front, in words, a database (or its folder) that cannot be written."""
    target = file if file.exists() else file.parent
    try:
        read_only_fs = bool(os.statvfs(target).f_flag & os.ST_RDONLY)
    except OSError:
        return  # let SQLite report what is wrong
    if read_only_fs or not os.access(target, os.W_OK):
        what = "the database" if target is file else "its folder"
        raise StorageError(
            f"cannot write to {file}: {what} is read-only"
            + (" (read-only file system)" if read_only_fs else ""),
            hint="reading commands (posts search, recent, show, status) still work; "
            "to write, copy it somewhere writable and point --db there"
            if target is file
            else "point --db at a writable folder",
        )


async def _read_header(conn: aiosqlite.Connection) -> None:
    """Touch the file (SQLite opens lazily), so a missing -shm or a non-database shows up now."""
    async with conn.execute("PRAGMA schema_version") as cur:
        await cur.fetchone()


async def _close_quietly(conn: aiosqlite.Connection) -> None:
    with contextlib.suppress(sqlite3.Error, ValueError):
        await conn.close()


def _version_error(path: Path | str, version: int) -> StorageError:
    if version > LATEST_VERSION:
        return StorageError(
            f"database {path} has schema version {version}, newer than this telewatch ({LATEST_VERSION})",
            hint="upgrade telewatch",
        )
    return StorageError(
        f"database {path} has schema version {version}, older than this telewatch ({LATEST_VERSION}), "
        "and it is read-only, so it cannot be upgraded",
        hint="copy it somewhere writable and run telewatch on the copy once to upgrade it",
    )


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
