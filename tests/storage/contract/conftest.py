"""The storage contract: every implementation of bot.domain.storage runs these tests.

A new backend adds one entry to IMPLEMENTATIONS (a coroutine opening a fresh, empty store) and must
pass the same tests. PostgreSQL runs on the session's own server (tests/conftest.py `postgres`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.domain.storage import Storage
from storage.postgres.store import PgStore
from storage.store import Store
from tests.pgserver import LocalPostgres


async def open_sqlite(tmp_path: Path, request: pytest.FixtureRequest) -> Storage:
    return await Store.open(tmp_path / "contract.db")


async def open_postgresql(tmp_path: Path, request: pytest.FixtureRequest) -> Storage:
    server: LocalPostgres = request.getfixturevalue("postgres")
    name = server.create_database()
    return await PgStore.open_url(server.url(name), server.password)


IMPLEMENTATIONS: dict[str, Callable[[Path, pytest.FixtureRequest], Awaitable[Storage]]] = {
    "sqlite": open_sqlite,
    "postgresql": open_postgresql,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    opened = await IMPLEMENTATIONS[request.param](tmp_path, request)
    try:
        yield opened
    finally:
        await opened.close()
