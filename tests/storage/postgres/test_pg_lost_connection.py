"""A PostgreSQL connection lost mid-batch: the pipeline stores the batch again with backoff, nothing lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.routing import Router
from bot.domain.errors import StorageUnavailable
from bot.domain.models import ChannelRef, Post
from bot.ingest.pipeline import Pipeline
from config.settings import RouteSettings
from storage.postgres.store import PgStore
from tests.pgserver import LocalPostgres
from tests.ports_fakes import FakeClock, WordMatcher

T0 = datetime(2024, 8, 7, 6, 30, tzinfo=UTC)
GOV = ChannelRef(tg_id=1001, username="gov_region")


def post(message_id: int, text: str) -> Post:
    return Post(channel=GOV, message_id=message_id, date=T0 + timedelta(minutes=message_id), text=text)


@pytest.fixture
async def database(postgres: LocalPostgres) -> AsyncIterator[tuple[PgStore, str]]:
    name = postgres.create_database()
    store = await PgStore.open_url(postgres.url(name), postgres.password)
    try:
        yield store, name
    finally:
        await store.close()


def cut_connections(postgres: LocalPostgres, name: str) -> int:
    """What a server restart or a network drop does to the pool's open connections."""
    return int(
        postgres.admin(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
    )


async def count_when_back(store: PgStore) -> int:
    """The posts stored, once the pool has reconnected (it backs off while the server refused it)."""
    for _ in range(40):
        try:
            return await store.posts.count()
        except StorageUnavailable:
            await asyncio.sleep(0.25)
    return await store.posts.count()


def pipeline(store: PgStore) -> Pipeline:
    matcher = WordMatcher({"evacuation": ["эвакуированы"]})
    return Pipeline(
        store, matcher, Router((RouteSettings(name="console", sink="console"),)), clock=FakeClock()
    )


async def test_a_batch_whose_connection_was_cut_is_stored_again_with_backoff(
    database: tuple[PgStore, str], postgres: LocalPostgres
) -> None:
    store, name = database
    pipe = pipeline(store)
    await pipe.ingest([post(1, "первый")])  # the pool holds an open connection now
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 1:
            assert cut_connections(postgres, name) >= 0  # still down at the first retry

    pipe.sleep = sleep
    assert cut_connections(postgres, name) >= 1
    result = await pipe.ingest([post(2, "Жители эвакуированы"), post(3, "Погода")])
    assert waits[:1] == [0.5]
    assert (result.new, result.matches, result.alerts) == (2, 1, 1)  # counted once, not per attempt
    assert await store.posts.count() == 3
    assert len(await store.alerts.due(datetime(2100, 1, 1, tzinfo=UTC))) == 1
    assert (await store.cursors.all())[0].last_message_id == 3


async def test_a_server_gone_for_longer_than_the_retries_is_one_error_and_nothing_half_stored(
    database: tuple[PgStore, str], postgres: LocalPostgres
) -> None:
    _, name = database
    store = await PgStore.open_url(postgres.url(name), postgres.password, pool_timeout=1.0)
    try:
        pipe = pipeline(store)
        await pipe.ingest([post(1, "первый")])
        default_retries, pipe.unavailable_retries = pipe.unavailable_retries, 2
        waits: list[float] = []

        async def sleep(seconds: float) -> None:
            waits.append(seconds)

        pipe.sleep = sleep
        postgres.admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')  # down: no new connection either
        cut_connections(postgres, name)
        try:
            with pytest.raises(StorageUnavailable, match="PostgreSQL"):
                await pipe.ingest([post(2, "Жители эвакуированы")])
        finally:
            postgres.admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert waits == [0.5, 1.0]
        assert await count_when_back(store) == 1  # rolled back whole: the watcher fetches it again
        # The server is back: the pool reconnects with its own backoff, which the pipeline's real retries
        # (real sleeps, the default count) outwait, as in run.
        pipe.sleep, pipe.unavailable_retries = asyncio.sleep, default_retries
        result = await pipe.ingest([post(2, "Жители эвакуированы")])
        assert (result.new, result.alerts) == (1, 1)
    finally:
        await store.close()  # a failed assertion must not leave the pool running (pytest hung at exit)
