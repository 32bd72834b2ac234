"""The mark `telewatch demo` leaves in a database it creates, so it never empties one it did not create."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from storage.store import Store

DEMO_KEY = "created_by_demo"


@dataclass(frozen=True, slots=True)
class DemoMark:
    """What a database says about the demo: whether the demo created it, and how many posts it held."""

    created_by_demo: bool
    demo_posts: int | None  # posts when the demo finished (None: the demo did not finish)
    posts: int  # posts now


def read_demo_mark(path: Path) -> DemoMark | None:
    """The demo mark of an existing database file; None when it is no readable telewatch database."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (DEMO_KEY,)).fetchone()
        posts = int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])
    except sqlite3.Error:  # not SQLite, not ours, or unreadable: in any case not the demo's
        return None
    finally:
        conn.close()
    if row is None:
        return DemoMark(False, None, posts)
    data: object = {}
    with contextlib.suppress(ValueError):
        data = json.loads(row[0])
    count = data.get("posts") if isinstance(data, dict) else None
    return DemoMark(True, count if isinstance(count, int) else None, posts)


async def mark_demo_database(store: Store, *, posts: int | None = None) -> None:
    """Record that the demo created this database (and, once it finished, how many posts it wrote)."""
    await store.set_meta(DEMO_KEY, json.dumps({} if posts is None else {"posts": posts}))
