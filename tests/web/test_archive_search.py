"""The search page's query plans give the same pages: sorting every match, walking the date index for a
text found in many posts (ids out of time order included), and the fallback after a long walk."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

import storage.archive as archive_module
from bot.domain.archive import PostQuery
from storage.store import Store
from tests.web.conftest import Archive

QUERIES = ["суджи", "сводка", "без OR обстрел", "эвакуация", '"номер 1"', "сводк*", "нет-такого-слова"]
FILTERS: list[dict[str, object]] = [
    {},
    {"deleted": False},
    {"edited": True},
    {"min_severity": 30},
    {"has_media": False},
]


async def pages(store: Store, q: PostQuery) -> list[list[int]]:
    out = []
    for page in range(4):
        found = await store.archive.search_page(dataclasses.replace(q, offset=page * 5, limit=5))
        out.append([h.stored.id for h in found.hits])
    return out


@pytest.mark.parametrize(("text", "sort"), list(itertools.product(QUERIES, ["date", "oldest"])))
async def test_dense_walk_and_fallback_match_the_full_sort(
    archive: Archive, monkeypatch: pytest.MonkeyPatch, text: str, sort: str
) -> None:
    async with await Store.open(archive.db, read_only=True) as store:
        for extra in FILTERS:
            q = PostQuery(text=text, sort=sort, **extra)  # type: ignore[arg-type]
            monkeypatch.setattr(archive_module, "DENSE", 10**9)
            expected = await pages(store, q)
            monkeypatch.setattr(archive_module, "DENSE", 2)
            assert await pages(store, q) == expected, (text, sort, extra)
            monkeypatch.setattr(archive_module, "WALK_LIMIT", 3)
            assert await pages(store, q) == expected, (text, sort, extra, "fallback")
            monkeypatch.setattr(archive_module, "WALK_LIMIT", 200_000)


async def test_ids_out_of_time_order_are_exercised(archive: Archive) -> None:
    """The filler posts are older than posts stored before them: the walk cannot rely on id order."""
    async with await Store.open(archive.db, read_only=True) as store:
        newest = await store.archive.search_page(PostQuery(limit=40))
    ids = [h.stored.id for h in newest.hits]
    assert ids != sorted(ids, reverse=True)


@pytest.mark.parametrize(
    "text", ["сводк*", "Суд*", "эваку* OR обстр*", "СВОДКА номер 1*", '"номер 2*"', "zzz*", "ЁЖ*"]
)
async def test_prefixes_asked_as_their_words_find_the_same_posts(
    archive: Archive, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    async with await Store.open(archive.db, read_only=True) as store:
        q = PostQuery(text=text, limit=50)
        expanded = [h.stored.id for h in (await store.archive.search_page(q)).hits]
        monkeypatch.setattr(archive_module, "PREFIX_TERMS", 0)  # leave every prefix to FTS5
        plain = [h.stored.id for h in (await store.archive.search_page(q)).hits]
    assert expanded == plain


def test_words_are_folded_as_the_full_text_index_folds_them() -> None:
    from storage.archive import _fold

    assert [_fold(w) for w in ("Йод", "Ёжик", "Café", "naïve", "ЕВАКУАЦІЯ", "Їжак")] == [
        "йод", "ёжик", "cafe", "naive", "евакуація", "їжак",
    ]  # fmt: skip
