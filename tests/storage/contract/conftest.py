"""The storage contract runs against every implementation of bot.domain.storage.Storage.

An implementation is one entry in IMPLEMENTATIONS: a coroutine opening a fresh, empty storage in a
temporary folder. A second backend (PostgreSQL) adds its entry here and must pass the same tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.domain.storage import Storage
from storage.store import Store


async def open_sqlite(tmp_path: Path) -> Storage:
    return await Store.open(tmp_path / "contract.db")


IMPLEMENTATIONS: dict[str, Callable[[Path], Awaitable[Storage]]] = {"sqlite": open_sqlite}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    opened = await IMPLEMENTATIONS[request.param](tmp_path)
    try:
        yield opened
    finally:
        await opened.close()
