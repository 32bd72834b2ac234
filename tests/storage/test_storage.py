"""Storage against real SQLite: migrations, idempotent saves, versions, deletion marks, FTS search."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.archive import PostQuery
from bot.domain.errors import StorageError
from bot.domain.models import ChannelRef, ForwardOrigin, Media, Post, TextEntity
from storage.db import LATEST_VERSION, Database, migrations
from storage.posts import SaveStatus, SearchFilter
from storage.store import Store

T0 = datetime(2024, 8, 7, 6, 30, tzinfo=UTC)
GOV = ChannelRef(tg_id=1001, username="gov_region", title="Губернатор")


def post(message_id: int, text: str, **kw: object) -> Post:
    return Post(channel=GOV, message_id=message_id, date=T0 + timedelta(minutes=message_id), text=text, **kw)  # type: ignore[arg-type]


@pytest.fixture
async def store(tmp_path: Path) -> Store:
    s = await Store.open(tmp_path / "t.db")
    yield s  # type: ignore[misc]
    await s.close()


async def save(store: Store, *posts: Post) -> list[SaveStatus]:
    async with store.db.transaction() as tx:
        return [o.status for o in await store.posts.save(tx, list(posts), T0)]


async def test_new_database_is_migrated_to_latest_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "sub" / "new.db")
    assert await db.schema_version() == LATEST_VERSION == len(migrations())
    assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"  # type: ignore[index]
    assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1  # type: ignore[index]
    await db.close()


@pytest.mark.parametrize("start", range(LATEST_VERSION + 1))
async def test_every_earlier_schema_version_migrates_to_latest(tmp_path: Path, start: int) -> None:
    db = await Database.open(tmp_path / "old.db", migrate_to=start)
    assert await db.schema_version() == start
    await db.close()
    db = await Database.open(tmp_path / "old.db")
    assert await db.schema_version() == LATEST_VERSION
    await db.close()


async def test_a_database_from_a_newer_telewatch_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version={LATEST_VERSION + 5}")
    with pytest.raises(StorageError, match="newer than this telewatch"):
        await Database.open(path)


async def test_a_file_that_is_not_sqlite_is_a_clear_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match="is not a telewatch database"):
        await Database.open(path)


async def test_the_same_post_twice_is_stored_once(store: Store) -> None:
    p = post(1, "Несколько тысяч жителей эвакуированы")
    assert await save(store, p) == [SaveStatus.NEW]
    assert await save(store, p) == [SaveStatus.UNCHANGED]
    assert await store.posts.count() == 1


async def test_an_edit_adds_a_version_and_keeps_the_old_text(store: Store) -> None:
    await save(store, post(1, "Обстановка спокойная"))
    edited = post(1, "Обстановка напряжённая, идёт эвакуация", edit_date=T0 + timedelta(hours=1))
    assert await save(store, edited) == [SaveStatus.EDITED]
    stored = await store.posts.get_by_message((await store.channels.find("@gov_region")).id, 1)  # type: ignore[union-attr]
    assert stored is not None
    assert stored.version_count == 2
    versions = await store.posts.versions(stored.id)
    assert [v.text for v in versions] == ["Обстановка спокойная", "Обстановка напряжённая, идёт эвакуация"]
    assert versions[-1].edit_date == T0 + timedelta(hours=1)


async def test_a_stale_copy_does_not_undo_a_newer_edit(store: Store) -> None:
    await save(store, post(1, "v1"))
    await save(store, post(1, "v2", edit_date=T0 + timedelta(hours=2)))
    assert await save(store, post(1, "v1")) == [SaveStatus.UNCHANGED]
    assert await save(store, post(1, "v1.5", edit_date=T0 + timedelta(hours=1))) == [SaveStatus.UNCHANGED]
    found = await store.posts.search("v2")
    assert [p.post.text for p in found] == ["v2"]


async def test_view_count_changes_update_metadata_without_a_version(store: Store) -> None:
    await save(store, post(1, "text", views=10))
    assert await save(store, post(1, "text", views=50)) == [SaveStatus.UPDATED]
    stored = (await store.posts.recent())[0]
    assert stored.post.views == 50
    assert stored.version_count == 1


async def test_deletion_marks_and_never_erases(store: Store) -> None:
    await save(store, post(1, "Суджа: эвакуация"), post(2, "прочее"))
    channel = await store.channels.find("gov_region")
    assert channel is not None
    async with store.db.transaction() as tx:
        marked = await store.posts.mark_deleted(tx, channel.id, [1, 99], T0 + timedelta(hours=3))
    assert [m for _, m in marked] == [1]
    async with store.db.transaction() as tx:
        assert await store.posts.mark_deleted(tx, channel.id, [1], T0 + timedelta(hours=4)) == []
    kept = await store.posts.get_by_message(channel.id, 1)
    assert kept is not None
    assert kept.post.text == "Суджа: эвакуация"
    assert kept.deleted_at == T0 + timedelta(hours=3)
    live_only = await store.posts.search("Суджа", SearchFilter(include_deleted=False))
    assert live_only == []


async def test_post_fields_round_trip(store: Store) -> None:
    fwd = ForwardOrigin(channel_tg_id=77, message_id=5, name="Рыбарь", date=T0)
    original = post(
        3,
        "Смотрите https://example.org",
        entities=(TextEntity("url", 8, 19, "https://example.org"),),
        media=(Media("photo"), Media("video", mime_type="video/mp4", size=1000)),
        forward=fwd,
        reply_to=2,
        grouped_id=42,
        views=5,
        forwards=1,
        author="Пресс-служба",
    )
    await save(store, original)
    stored = (await store.posts.recent())[0]
    assert stored.post == dataclasses.replace(original, date=original.date.replace(microsecond=0))
    assert stored.post.links == ("https://example.org",)
    assert stored.link == "https://t.me/gov_region/3"


async def test_fts_search_ignores_case_and_diacritics_and_filters(store: Store) -> None:
    other = ChannelRef(username="milblog")
    await save(store, post(1, "Эвакуация из СУДЖИ продолжается"), post(2, "Café closed"))
    async with store.db.transaction() as tx:
        await store.posts.save(tx, [Post(other, 1, T0 + timedelta(days=2), "суджи обстрел")], T0)
    assert {p.post.message_id for p in await store.posts.search("суджи")} == {1}
    assert len(await store.posts.search("суджи", SearchFilter())) == 2
    assert [p.post.text for p in await store.posts.search("cafe")] == ["Café closed"]
    assert [p.post.text for p in await store.posts.search("эвакуац*")] == ["Эвакуация из СУДЖИ продолжается"]
    mil = await store.channels.find("@milblog")
    assert mil is not None
    only_mil = await store.posts.search("суджи", SearchFilter(channel_ids=(mil.id,)))
    assert [p.channel.username for p in only_mil] == ["milblog"]
    since = await store.posts.search("суджи", SearchFilter(since=T0 + timedelta(days=1)))
    assert [p.channel.username for p in since] == ["milblog"]


async def test_fts_follows_edits(store: Store) -> None:
    await save(store, post(1, "тишина"))
    await save(store, post(1, "обстрел", edit_date=T0 + timedelta(hours=1)))
    assert await store.posts.search("тишина") == []
    assert len(await store.posts.search("обстрел")) == 1


@pytest.mark.parametrize("query", ['"unbalanced', "a-b", "NOT", "(", "c++", "*"])
async def test_awkward_search_queries_do_not_crash(store: Store, query: str) -> None:
    await save(store, post(1, "a-b c++ text"))
    await store.posts.search(query)


@pytest.mark.parametrize("query", ["обстрел\x00тишина", '"обстрел\x00', "\x00", "обстрел\x1b"])
async def test_control_characters_in_a_search_separate_words(store: Store, query: str) -> None:
    await save(store, post(1, "обстрел тишина"))
    found = await store.posts.search(query)  # FTS5 reads a NUL as the query's end: "unterminated string"
    expected = [] if query == "\x00" else [1]
    assert [p.post.message_id for p in found] == expected
    page = await store.archive.search_page(PostQuery(text=query))
    assert [h.stored.post.message_id for h in page.hits] == expected


async def test_channel_rename_is_recorded(store: Store) -> None:
    await save(store, post(1, "x"))
    renamed = ChannelRef(tg_id=1001, username="gov_region_new", title="Губернатор")
    async with store.db.transaction() as tx:
        await store.posts.save(tx, [Post(renamed, 2, T0, "y")], T0)
    channel = await store.channels.find("gov_region_new")
    assert channel is not None
    assert channel.tg_id == 1001
    assert await store.channels.find("gov_region") is None
    old = await store.db.fetchall("SELECT username FROM channel_names WHERE channel_id = ?", (channel.id,))
    assert [r[0] for r in old] == ["gov_region"]
    assert await store.posts.count() == 2


async def test_a_failed_transaction_stores_nothing(store: Store) -> None:
    async def crash_mid_batch() -> None:
        async with store.db.transaction() as tx:
            await store.posts.save(tx, [post(1, "x")], T0)
            raise RuntimeError("crash mid-batch")

    with pytest.raises(RuntimeError):
        await crash_mid_batch()
    assert await store.posts.count() == 0
