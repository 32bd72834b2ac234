"""The mark `telewatch demo` leaves in a database it creates, so it never empties one it did not create."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from storage.store import Store

DEMO_KEY = "created_by_demo"


@dataclass(frozen=True, slots=True)
class DemoMark:
    """What a database says about the demo: whether the demo created it, and whether it changed since."""

    created_by_demo: bool
    demo_posts: int | None  # posts when the demo finished (None: the demo did not finish)
    posts: int  # posts now
    changed: bool = False  # the contents differ from the fingerprint the demo recorded when it finished


def fingerprint(conn: sqlite3.Connection) -> str:
    """A digest of every row of every table (the demo's own mark left out): any later write changes it.

    Edits, deletions, review marks and alerts all land in some table, so none goes unnoticed, whether
    it adds a row or updates one in place.
    """
    digest = hashlib.sha256()
    tables = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    for (name,) in tables:
        quoted = '"' + str(name).replace('"', '""') + '"'
        where = " WHERE key <> ?" if name == "meta" else ""
        params = (DEMO_KEY,) if where else ()
        try:
            rows = conn.execute(f"SELECT * FROM {quoted}{where}", params)
        except sqlite3.OperationalError:  # e.g. a virtual table whose module is not loaded
            continue
        digest.update(f"\x00table {name}\x00".encode())
        for row in rows:
            digest.update(repr(row).encode("utf-8", "backslashreplace"))
    return digest.hexdigest()


def read_demo_mark(path: Path) -> DemoMark | None:
    """The demo mark of an existing database file; None when it is no readable telewatch database."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (DEMO_KEY,)).fetchone()
        posts = int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])
        data: object = {}
        if row is not None:
            with contextlib.suppress(ValueError, TypeError):
                data = json.loads(row[0])
        recorded = data.get("fingerprint") if isinstance(data, dict) else None
        changed = isinstance(recorded, str) and recorded != fingerprint(conn)
    except sqlite3.Error:  # not SQLite, not ours, or unreadable: in any case not the demo's
        return None
    finally:
        conn.close()
    if row is None:
        return DemoMark(False, None, posts)
    count = data.get("posts") if isinstance(data, dict) else None
    return DemoMark(True, count if isinstance(count, int) else None, posts, changed)


async def mark_demo_database(store: Store) -> None:
    """Record that the demo created this database (before it writes any post)."""
    await store.set_meta(DEMO_KEY, json.dumps({}))


def seal_demo_database(path: Path) -> None:
    """Once the demo finished and closed the database: record its post count and content fingerprint."""
    conn = sqlite3.connect(path)
    try:
        posts = int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])
        value = json.dumps({"posts": posts, "fingerprint": fingerprint(conn)})
        with conn:
            conn.execute("UPDATE meta SET value = ? WHERE key = ?", (value, DEMO_KEY))
    finally:
        conn.close()
