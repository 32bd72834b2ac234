"""Fixtures for the live tests: rigs whose stores are always closed (an open aiosqlite thread hangs exit)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import pytest

from config.settings import ChannelSettings
from tests.fakes import FakeTelegram
from tests.ports_fakes import FakeClock
from tests.telegram.harness import Rig, make_rig

MakeRig = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def rigs(tmp_path: Path) -> AsyncIterator[MakeRig]:
    """`await rigs(fake, channels)` builds a watcher on tmp_path/w.db; every one is closed at the end."""
    made: list[Rig] = []

    async def build(
        fake: FakeTelegram,
        channels: Sequence[ChannelSettings],
        *,
        clock: FakeClock | None = None,
        db: str = "w.db",
    ) -> Rig:
        rig = await make_rig(tmp_path / db, fake, channels, clock=clock)
        made.append(rig)
        return rig

    yield build
    for rig in made:
        if not rig.closed:
            await rig.watcher.drain()
            await rig.close()
