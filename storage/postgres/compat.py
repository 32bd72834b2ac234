"""Run the repositories' SQL on PostgreSQL: the dialect translated, rows and cursors shaped like aiosqlite's.

The SQLite repositories (storage/*.py) speak a portable subset of SQL with `?` placeholders. This module
rewrites the few SQLite idioms they use into PostgreSQL (`INSERT OR IGNORE`, `COLLATE NOCASE`, boolean
sums, two-argument max, group_concat), numbers the placeholders, and gives each statement a connection
object with the aiosqlite methods they call (execute, executemany, execute_fetchall, total_changes).
Integers are sent untyped, like an SQL literal, so PostgreSQL infers their type from the column they
meet, as SQLite's type affinity does. Statements SQLite alone understands (FTS5, julianday) are
replaced by the PostgreSQL repositories in storage/postgres/repositories.py.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Sequence
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.abc import Buffer
from psycopg.adapt import Dumper, Loader
from psycopg.rows import RowMaker


class Row(tuple[Any, ...]):
    """A result row read by position or (case-insensitively) by column name, like sqlite3.Row."""

    _names: tuple[str, ...] = ()
    _index: dict[str, int] = {}  # noqa: RUF012 (set once per shape by _row_class)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key.lower()])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


@lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        index.setdefault(name.lower(), i)  # the first column of a name wins, as in sqlite3.Row
    return type("Row", (Row,), {"_names": names, "_index": index, "__slots__": ()})


def row_factory(cursor: Any) -> RowMaker[Row]:
    """psycopg row factory producing Row."""
    description = cursor.description
    if description is None:
        return lambda values: Row(values)
    cls = _row_class(tuple(d.name for d in description))
    return lambda values: cls(values)


class UntypedDumper(Dumper):
    """An int (or bool, as 0/1) sent as an untyped literal: the server gives it the type of its context."""

    oid = 0

    def dump(self, obj: Any) -> Buffer:
        return str(int(obj)).encode()


class NumberLoader(Loader):
    """numeric results (sums of bigints, averages) as int when whole, else float, as SQLite returns them."""

    def load(self, data: Buffer) -> Any:
        text = bytes(data).decode()
        if text in ("NaN", "Infinity", "-Infinity"):
            return float(text)
        value = float(text)
        return int(text) if "." not in text and "e" not in text.lower() else value


def configure_adapters(conn: psycopg.AsyncConnection[Any]) -> None:
    conn.adapters.register_dumper(int, UntypedDumper)
    conn.adapters.register_dumper(bool, UntypedDumper)
    conn.adapters.register_loader("numeric", NumberLoader)


# SQLite spellings the repositories use, and their PostgreSQL equivalents.
_LITERAL = (
    (
        "max(cursors.last_message_id, excluded.last_message_id)",
        "GREATEST(cursors.last_message_id, excluded.last_message_id)",
    ),
    (
        "max(CAST(meta.value AS INTEGER), CAST(excluded.value AS INTEGER))",
        "GREATEST(CAST(meta.value AS BIGINT), CAST(excluded.value AS BIGINT))",
    ),
    ("char(31)", "chr(31)"),
    # PostgreSQL 15 wants a name for every subquery in FROM
    (
        "ORDER BY b.reviewed_at DESC, b.id DESC LIMIT 1)) GROUP BY rule",
        "ORDER BY b.reviewed_at DESC, b.id DESC LIMIT 1)) AS marked GROUP BY rule",
    ),
    ("WHERE state = 'stored' GROUP BY sha256)", "WHERE state = 'stored' GROUP BY sha256) AS files"),
    (
        "FROM notices WHERE status = 'pending' AND created_at < ?)",
        "FROM notices WHERE status = 'pending' AND created_at < ?) AS pending",
    ),
    ("FROM matches WHERE rule = ? LIMIT ?)", "FROM matches WHERE rule = ? LIMIT ?) AS found"),
)
_INSERT_OR_IGNORE = re.compile(r"\bINSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_NOCASE = re.compile(r"\s+COLLATE\s+NOCASE\b", re.IGNORECASE)
_BOOL_SUM = re.compile(r"\bsum\(([^()]*?(?:=|<|>|\bIS\b|\bLIKE\b)[^()]*)\)", re.IGNORECASE)
_CAST_INT = re.compile(r"\bAS\s+INTEGER\)", re.IGNORECASE)
_GROUP_CONCAT = re.compile(r"\bgroup_concat\(", re.IGNORECASE)
_INDEXED_BY = re.compile(r"\s+INDEXED\s+BY\s+\w+", re.IGNORECASE)
# A parameter only tested for NULL has no type PostgreSQL could infer: say it.
_NULL_TEST = re.compile(r"(?<![\w)])\?\s+IS\s+NULL\b", re.IGNORECASE)


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """The PostgreSQL text of a statement written for SQLite (placeholders numbered $1, $2, ...)."""
    for old, new in _LITERAL:
        sql = sql.replace(old, new)
    if _INSERT_OR_IGNORE.search(sql):
        sql = _INSERT_OR_IGNORE.sub("INSERT INTO", sql)
        m = _RETURNING.search(sql)
        sql = (
            f"{sql[: m.start()]} ON CONFLICT DO NOTHING {sql[m.start() :]}"
            if m
            else f"{sql.rstrip().rstrip(';')} ON CONFLICT DO NOTHING"
        )
    sql = _NOCASE.sub("", sql)
    sql = _BOOL_SUM.sub(r"sum(CASE WHEN \1 THEN 1 ELSE 0 END)", sql)
    sql = _CAST_INT.sub("AS BIGINT)", sql)
    sql = _GROUP_CONCAT.sub("string_agg(", sql)
    sql = _INDEXED_BY.sub("", sql)
    sql = _NULL_TEST.sub("CAST(? AS TEXT) IS NULL", sql)
    return number_placeholders(sql)


def number_placeholders(sql: str) -> str:
    """`?` outside quotes becomes $1, $2, ... (PostgreSQL's own placeholders)."""
    out: list[str] = []
    n = 0
    quote: str | None = None
    for ch in sql:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            n += 1
            out.append(f"${n}")
            continue
        out.append(ch)
    return "".join(out)


def _params(params: Iterable[Any]) -> list[Any]:
    return list(params)


class Cursor:
    """The rows and row count of one executed statement (all rows are read at once)."""

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    async def fetchone(self) -> Row | None:
        return self._rows.pop(0) if self._rows else None

    async def fetchall(self) -> list[Row]:
        rows, self._rows = self._rows, []
        return rows

    def __aiter__(self) -> Cursor:
        return self

    async def __anext__(self) -> Row:
        if not self._rows:
            raise StopAsyncIteration
        return self._rows.pop(0)

    async def close(self) -> None:
        self._rows = []


class _Pending:
    """What `Connection.execute` returns: awaitable, and usable as `async with ... as cur`."""

    def __init__(self, conn: Connection, sql: str, params: Sequence[Any]) -> None:
        self._conn, self._sql, self._params = conn, sql, params

    def __await__(self) -> Generator[Any, None, Cursor]:
        return self._conn._run(self._sql, self._params).__await__()

    async def __aenter__(self) -> Cursor:
        return await self._conn._run(self._sql, self._params)

    async def __aexit__(self, *exc: object) -> None:
        return None


class Connection:
    """A psycopg connection with the aiosqlite methods the repositories call."""

    def __init__(self, raw: psycopg.AsyncConnection[Any]) -> None:
        self.raw = raw
        self.total_changes = 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Pending:
        return _Pending(self, sql, params)

    async def _run(self, sql: str, params: Sequence[Any]) -> Cursor:
        async with self.raw.cursor() as cur:
            await cur.execute(translate(sql), _params(params))
            rows: list[Row] = await cur.fetchall() if cur.description is not None else []
            if cur.rowcount > 0 and cur.statusmessage and not cur.statusmessage.startswith("SELECT"):
                self.total_changes += cur.rowcount
            return Cursor(rows, cur.rowcount)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        batch = [_params(r) for r in rows]
        if not batch:
            return Cursor([], 0)
        async with self.raw.cursor() as cur:
            await cur.executemany(translate(sql), batch)
            if cur.rowcount > 0:
                self.total_changes += cur.rowcount
            return Cursor([], cur.rowcount)

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cur = await self._run(sql, params)
        return await cur.fetchall()

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
