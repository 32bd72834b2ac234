"""Full-text search ignores what the matcher ignores: soft hyphens, zero-width and bidi characters in a
post or in the query (searching "эвакуация" finds "эваку\u00adация"), also in an archive indexed before."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from bot.domain.models import ChannelRef, Post
from bot.domain.records import SearchFilter
from bot.domain.text import INVISIBLE
from storage.store import Store

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 8, 6, 8, 0, tzinfo=UTC)
GOV = ChannelRef(tg_id=1001, username="gov_test")
TEXTS = {
    1: "Объявлена эваку\u00adация жителей",  # soft hyphen
    2: "Эваку\u200bация продолжается",  # zero-width space
    3: "Суд\u00adжа под обстрелом",
    4: "Погода солнечная",
}


async def found(store: Store, query: str) -> list[int]:
    return sorted(p.post.message_id for p in await store.posts.search(query, SearchFilter(), 50))


async def fill(store: Store) -> None:
    async with store.transaction() as tx:
        await store.channels.ensure(tx, GOV)
        posts = [Post(channel=GOV, message_id=i, date=T0, text=t) for i, t in TEXTS.items()]
        await store.posts.save(tx, posts, T0)


async def test_invisible_characters_in_posts_and_queries_are_ignored(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        await fill(store)
        assert await found(store, "эвакуация") == [1, 2]
        assert await found(store, "Суджа") == [3]
        assert await found(store, "эваку\u00adация") == [1, 2]  # a query copied from a post
        assert await found(store, '"эвакуация жителей"') == [1]
        async with store.transaction() as tx:  # an edit re-indexes the new text (and un-indexes the old)
            await store.posts.save(
                tx, [Post(channel=GOV, message_id=1, date=T0, text="Отме\u00adнена", edit_date=T0)], T0
            )
        assert await found(store, "эвакуация") == [2]
        assert await found(store, "отменена") == [1]


OLD_INSERT_TRIGGER = (
    "CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN "
    "INSERT INTO posts_fts(rowid, text) VALUES (new.id, new.text); END"
)


async def test_an_archive_indexed_before_is_reindexed_by_the_migration(tmp_path: Path) -> None:
    db_path = tmp_path / "old.db"
    async with await Store.open(db_path) as store:
        await fill(store)
    with sqlite3.connect(db_path) as conn:  # as a version-10 archive was: triggers and index of raw texts
        for trigger in ("posts_fts_insert", "posts_fts_delete", "posts_fts_update"):
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute(OLD_INSERT_TRIGGER)
        conn.execute("INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')")
        conn.execute("PRAGMA user_version=10")
    async with await Store.open(db_path) as store:  # migrated: 0011 rebuilds the index
        assert await found(store, "эвакуация") == [1, 2]
        assert await found(store, "Суджа") == [3]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("INSERT INTO posts_fts(posts_fts) VALUES ('integrity-check')")


def test_the_index_triggers_strip_exactly_the_characters_the_matcher_drops() -> None:
    sql = (ROOT / "storage" / "migrations" / "0011_search_invisible.sql").read_text(encoding="utf-8")
    for statement in ("posts_fts_insert", "posts_fts_delete", "posts_fts_update", "SELECT id,"):
        assert statement in sql
    stripped = {chr(int(n)) for n in re.findall(r"char\((\d+)\)", sql)}
    assert stripped == set(INVISIBLE)
    assert sql.count("replace(") == 5 * len(set(INVISIBLE))  # insert, delete, update (2), rebuild


def test_the_matcher_drops_the_same_characters_as_search() -> None:
    from bot.rules import normalize

    assert normalize._REMOVABLE is INVISIBLE


async def test_yo_and_ye_find_each_other_in_both_directions(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "yo.db") as store:
        async with store.transaction() as tx:
            await store.channels.ensure(tx, GOV)
            posts = [
                Post(channel=GOV, message_id=1, date=T0, text="Склад уничтожён ночью"),
                Post(channel=GOV, message_id=2, date=T0, text="ЁЛКИ и елки"),
            ]
            await store.posts.save(tx, posts, T0)
        for query, expected in [("уничтожен", [1]), ("уничтожён", [1]), ("елки", [2]), ("Ёлки", [2])]:
            found = await store.posts.search(query, SearchFilter(), 50)
            assert [p.post.message_id for p in found] == expected, query
