"""A watcher wired to FakeTelegram, a real SQLite store and the real pipeline, for the live tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.alerts.routing import Router
from bot.ingest.pipeline import Pipeline
from bot.watch.watcher import Watcher
from config.settings import ChannelSettings, Settings, TelegramSettings
from storage.store import Store
from tests.fakes import FakeTelegram
from tests.ports_fakes import FakeClock, WordMatcher


@dataclass
class Rig:
    """Everything a live test pokes at."""

    fake: FakeTelegram
    store: Store
    watcher: Watcher
    clock: FakeClock

    closed: bool = False

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self.store.close()

    async def posts(self) -> list[tuple[int, int, str]]:
        """(channel tg_id, message_id, text) of every stored post, in order."""
        rows = await self.store.db.fetchall(
            "SELECT c.tg_id, p.message_id, p.text FROM posts p JOIN channels c ON c.id = p.channel_id "
            "ORDER BY c.tg_id, p.message_id"
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def alerts(self) -> list[tuple[int, str]]:
        """(message_id, kind) of every enqueued alert."""
        rows = await self.store.db.fetchall(
            "SELECT p.message_id, a.kind FROM alerts a JOIN posts p ON p.id = a.post_id ORDER BY p.message_id"
        )
        return [(r[0], r[1]) for r in rows]


def channel(ref: str, **options: object) -> ChannelSettings:
    return ChannelSettings(ref=ref, **options)  # type: ignore[arg-type]


async def make_rig(
    db: Path, fake: FakeTelegram, channels: Sequence[ChannelSettings], *, clock: FakeClock | None = None
) -> Rig:
    """A watcher over `fake` and the database at `db`; rule 'evac' matches the word 'evacuated'."""
    clock = clock or FakeClock()
    store = await Store.open(db)
    settings = Settings(channels=tuple(channels), telegram=TelegramSettings(requests_per_second=10_000))
    pipeline = Pipeline(store, WordMatcher({"evac": ["evacuated"]}), Router(settings.routes), clock=clock)
    watcher = Watcher(fake, pipeline, settings, clock=clock, album_wait=0.02)
    return Rig(fake, store, watcher, clock)


async def wait_until(predicate: Callable[[], bool], within: float = 10.0) -> None:
    """Poll a condition on fake/app state until it holds (fails the test after `within` seconds)."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110  # the state polled belongs to fakes with no events to wait on
            await asyncio.sleep(0.005)


async def alpha_world() -> FakeTelegram:
    """A connected fake Telegram with one joined channel, @alpha (id 11)."""
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    await fake.connect()
    return fake


async def started(rig: Rig) -> Rig:
    """Resolve every configured channel and catch up: what `telewatch run` does before going live."""
    await rig.watcher.resolve_all()
    await rig.watcher.catch_up_all()
    return rig
