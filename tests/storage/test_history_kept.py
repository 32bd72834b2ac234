"""History is kept and labelled right: each version's capture time, and the migration that repairs old ones."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain.models import ChannelRef, Post
from storage.db import Database
from storage.store import Store

T0 = datetime(2024, 8, 7, 6, 30, tzinfo=UTC)
GOV = ChannelRef(tg_id=1001, username="gov_region", title="Губернатор")
TEXTS = ("Обстановка спокойная", "Идёт эвакуация", "Эвакуация завершена")


def version(n: int) -> Post:
    """The n-th text of post 1 (0 = the original), edited n hours after it was posted."""
    edit = T0 + timedelta(hours=n) if n else None
    return Post(channel=GOV, message_id=1, date=T0, text=TEXTS[n], edit_date=edit)


async def save_at(store: Store, post: Post, captured: datetime) -> None:
    async with store.db.transaction() as tx:
        await store.posts.save(tx, [post], captured)


async def test_each_version_carries_the_time_its_text_was_first_seen(tmp_path: Path) -> None:
    seen = [T0 + timedelta(minutes=1), T0 + timedelta(hours=1, minutes=1), T0 + timedelta(hours=2, minutes=1)]
    async with await Store.open(tmp_path / "t.db") as store:
        for n, at in enumerate(seen):
            await save_at(store, version(n), at)
        await save_at(store, version(2), T0 + timedelta(hours=5))  # seen again later: not a new version
        stored = await store.posts.get(1)
        assert stored is not None
        versions = await store.posts.versions(stored.id)
    assert [(v.version, v.text, v.captured_at) for v in versions] == [
        (1, TEXTS[0], seen[0]),
        (2, TEXTS[1], seen[1]),
        (3, TEXTS[2], seen[2]),
    ]
    assert stored.captured_at == seen[0]  # the post itself was first seen with its first text


async def test_the_migration_repairs_capture_times_stored_one_version_late(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = await Database.open(path, migrate_to=2)
    await db.close()
    seen = ["2024-08-07T06:31:00+00:00", "2024-08-07T07:31:00+00:00", "2024-08-07T08:31:00+00:00"]
    with sqlite3.connect(path) as conn:  # what the old code wrote: each time one version late
        conn.execute(
            "INSERT INTO channels (id, tg_id, username, created_at) VALUES (1, 1001, 'gov', ?)", (seen[0],)
        )
        conn.execute(
            "INSERT INTO posts (id, channel_id, message_id, date, text, captured_at, version_count) "
            "VALUES (1, 1, 1, ?, ?, ?, 3)",
            (T0.isoformat(), TEXTS[2], seen[0]),
        )
        conn.executemany(
            "INSERT INTO post_versions (post_id, version, text, captured_at) VALUES (1, ?, ?, ?)",
            [(1, TEXTS[0], seen[1]), (2, TEXTS[1], seen[2])],
        )
    async with await Store.open(path) as store:
        versions = await store.posts.versions(1)
    assert [(v.text, v.captured_at.isoformat()) for v in versions] == list(zip(TEXTS, seen, strict=True))
