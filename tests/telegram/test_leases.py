"""Several watchers on one database: channel leases handed over, taken over, caught up without gap or repeat."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from bot.alerts.health import HealthMonitor
from bot.alerts.routing import Router
from bot.alerts.watchers import cluster
from bot.ingest.pipeline import Pipeline
from bot.watch.leases import LeaseKeeper
from bot.watch.watcher import Watcher
from config.settings import HealthSettings, Settings, TelegramSettings, WatcherSettings
from storage.store import Store
from tests.fakes import FakeTelegram
from tests.ports_fakes import FakeClock, WordMatcher
from tests.telegram.harness import channel

NAMES = ("alpha", "beta", "gamma", "delta")


def settings(capacity: int = 10) -> Settings:
    return Settings(
        channels=tuple(channel(f"@{n}") for n in NAMES),
        telegram=TelegramSettings(requests_per_second=10_000),
        watcher=WatcherSettings(max_channels=capacity, lease_seconds=60),
        health=HealthSettings(unowned_minutes=1),
    )


class Node:
    """One watcher process: its own store connection, pipeline, watcher and lease keeper."""

    def __init__(self, store: Store, fake: FakeTelegram, clock: FakeClock, name: str, s: Settings) -> None:
        self.store = store
        pipeline = Pipeline(store, WordMatcher({"evac": ["evacuated"]}), Router(s.routes), clock=clock)
        self.watcher = Watcher(fake, pipeline, s, clock=clock, album_wait=0.02)
        self.keeper = LeaseKeeper(self.watcher, store.leases, lambda: s, name=name)
        self.watcher.after_resolve = self.keeper.adopt

    async def start(self) -> None:
        await self.watcher.resolve_all()
        await self.watcher.catch_up_all()
        self.watcher.connected.set()
        self.keeper.caught_up()

    async def settle(self) -> None:
        while self.keeper._tasks:
            await asyncio.gather(*list(self.keeper._tasks))
        await self.watcher.live.join()
        await self.watcher.flush_marks()

    @property
    def held(self) -> set[str]:
        return {w.resolved.username or "" for w in self.watcher.watched.values()}


async def world() -> FakeTelegram:
    fake = FakeTelegram()
    for i, name in enumerate(NAMES):
        fake.add_channel(name, tg_id=100 + i)
        fake.add_posts(name, 3, text="residents evacuated, report {n}")
    await fake.connect()
    return fake


async def stored(store: Store) -> list[tuple[int, int]]:
    rows = await store.db.fetchall(
        "SELECT c.tg_id, p.message_id FROM posts p JOIN channels c ON c.id = p.channel_id ORDER BY 1, 2"
    )
    return [(r[0], r[1]) for r in rows]


async def test_a_second_watcher_gets_its_share_and_a_silent_one_loses_its_channels(tmp_path: Path) -> None:
    fake, clock, s = await world(), FakeClock(), settings()
    a = Node(await Store.open(tmp_path / "db"), fake, clock, "a", s)
    b = Node(await Store.open(tmp_path / "db"), fake, clock, "b", s)
    try:
        await a.start()
        assert a.held == set(NAMES)  # alone, it watches everything
        await b.start()
        assert b.held == set()
        await a.keeper.renew()  # b is live and has room: a hands two over...
        await b.keeper.renew()  # ...and b takes them, catching up from a's marks
        await b.settle()
        assert len(a.held) == 2
        assert len(b.held) == 2
        assert not a.held & b.held
        for name in NAMES:  # live posts: each stored by the watcher holding its channel
            await fake.publish(name, "residents evacuated again")
        await fake.settle()
        await a.settle()
        await b.settle()

        # a stops renewing (frozen, killed): its updates stop and, after the lease, b takes over.
        fake._handlers.remove(a.watcher.handle_update)
        lost = set(a.held)
        for name in NAMES:
            await fake.publish(name, "residents evacuated while a was gone")
        await fake.settle()
        clock.advance(30)
        await b.keeper.renew()
        assert b.held.isdisjoint(lost)  # a's leases still run
        clock.advance(31)
        grant = await b.keeper.renew()
        assert grant is not None
        assert len(grant.claimed) == 2
        await b.settle()
        assert b.held == set(NAMES)

        # Everything after the first start (the three older posts are history: no backfill asked for).
        expected = sorted(
            (c.tg_id, p.message_id) for c in fake.channels.values() for p in c.visible() if p.message_id > 3
        )
        assert len(expected) == 2 * len(NAMES)
        assert await stored(b.store) == expected  # no gap, no post twice (one row per message)
        rows = await b.store.db.fetchall("SELECT dedup_key FROM alerts")
        assert len(rows) == len(expected) == len({r[0] for r in rows})  # one alert per post
    finally:
        await a.store.close()
        await b.store.close()


async def test_a_clean_stop_hands_everything_over_at_once(tmp_path: Path) -> None:
    fake, clock, s = await world(), FakeClock(), settings()
    a = Node(await Store.open(tmp_path / "db"), fake, clock, "a", s)
    b = Node(await Store.open(tmp_path / "db"), fake, clock, "b", s)
    try:
        await a.start()
        await b.start()
        await a.keeper.stop()
        fake._handlers.remove(a.watcher.handle_update)
        grant = await b.keeper.renew()
        assert grant is not None
        assert len(grant.claimed) == 4
        await b.settle()
        found = await cluster(b.store, s, clock.now())
        assert [(w.name, w.state, w.channels) for w in found.watchers] == [
            ("a", "stopped", 0),
            ("b", "live", 4),
        ]
        assert found.unowned == []
    finally:
        await a.store.close()
        await b.store.close()


async def test_a_channel_nobody_holds_raises_a_health_condition_once_and_clears_it(tmp_path: Path) -> None:
    fake, clock, s = await world(), FakeClock(), settings(capacity=3)
    a = Node(await Store.open(tmp_path / "db"), fake, clock, "a", s)
    try:
        await a.start()
        assert len(a.held) == 3  # its capacity: one channel stays unowned
        monitor = HealthMonitor(a.store, lambda: s, clock.now)
        assert await monitor.run_once() == (0, 0)  # unowned, but not for long yet
        clock.advance(61)
        await a.keeper.renew()
        assert await monitor.run_once() == (1, 0)
        assert await monitor.run_once() == (0, 0)  # raised once
        notices = await a.store.notices.recent()
        assert [n.state for n in notices] == ["raised"]
        assert "watched by no watcher" in notices[0].title
        b = Node(await Store.open(tmp_path / "db"), fake, clock, "b", s)
        try:
            await b.start()  # a second account takes the fourth channel
            assert len(b.held) == 1
            assert await monitor.run_once() == (0, 1)
        finally:
            await b.store.close()
        found = await cluster(a.store, s, clock.now() + timedelta(seconds=1))
        assert found.unowned == []
    finally:
        await a.store.close()
