"""Live watching against FakeTelegram: alert latency under load, requests per backfilled post, the cost and
yield of re-checking recent posts for offline edits and deletions, crash+flood.

Run alone with `python -m bench.live_bench`, or as the `live` section of `python -m bench`.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.report import Report
from bot.alerts.routing import Router
from bot.app.run import run_live
from bot.app.runtime import open_runtime
from bot.domain.models import AlertKind
from bot.domain.ports import OutgoingAlert, SinkCapabilities
from bot.ingest.pipeline import Pipeline
from bot.watch.watcher import Watcher
from config.settings import ChannelSettings, Settings, TelegramSettings
from storage.store import Store
from tests.fakes import FakeTelegram
from tests.ports_fakes import WordMatcher

SECTION = "live"
CHANNELS = 2000
RATE = 1000  # posts per second, sustained: ten times a desk of 500 busy channels
SECONDS = 10
BASE_CHANNELS, BASE_RATE = 500, 100  # the load before, measured in the same run as the baseline
BURST_CHANNELS = 500
BURST_PER_CHANNEL = 12  # matching posts each channel published during 24 h of downtime
BURST_INTERVAL = 0.01  # seconds between two messages to one chat (scaled down from Telegram's ~1 s)
MATCHER = {"evac": ["evacuated"]}


class TimingSink:
    """Records when each alert reaches the sink, by the post token in its text."""

    name = "console"
    capabilities = SinkCapabilities()

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.duplicates = 0

    async def deliver(self, alert: OutgoingAlert) -> None:
        token = next((w for w in alert.plain.split() if w.startswith("#p")), alert.dedup_key)
        if token in self.arrived:
            self.duplicates += 1
        self.arrived.setdefault(token, time.perf_counter())


async def wait_for(predicate: object, within: float) -> bool:
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.01)
    return False


async def latency(db: Path, channels: int = CHANNELS, rate: int = RATE) -> tuple[list[float], int, int]:
    """Per-alert latency (ms) from update received to sink, at `rate` posts/s over `channels` channels.
    Updates are handed over as Telethon does by default: each to a task of its own, without waiting."""
    fake = FakeTelegram(sequential_updates=False)
    for n in range(channels):
        fake.add_channel(f"chan{n:04d}", tg_id=10_000 + n)
    settings = Settings(
        channels=tuple(ChannelSettings(f"@chan{n:04d}") for n in range(channels)),
        telegram=TelegramSettings(requests_per_second=1000),
    )
    sink = TimingSink()
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_live(settings, db, gateway=fake, sinks={"console": sink}, stop=stop, matcher=WordMatcher(MATCHER))
    )
    await wait_for(lambda: fake.connects and fake.count("recent") >= channels, 300)
    await asyncio.sleep(0.5)
    sent: dict[str, float] = {}
    rng = random.Random(7)
    start = time.perf_counter()
    for i in range(rate * SECONDS):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        token = f"#p{i}"
        sent[token] = time.perf_counter()
        await fake.publish(f"chan{rng.randrange(channels):04d}", f"Residents evacuated {token} from the town")
    await wait_for(lambda: len(sink.arrived) >= len(sent), 30)
    stop.set()
    await task
    times = [(sink.arrived[t] - sent[t]) * 1000 for t in sent if t in sink.arrived]
    return times, len(sent) - len(times), sink.duplicates


async def backfill_requests(db: Path) -> tuple[float, float]:
    """Requests per 1,000 posts: backfilling a new channel, and catching up after downtime."""
    fake = FakeTelegram()
    fake.add_channel("bigchannel", tg_id=1)
    fake.add_posts("bigchannel", 1000)
    await fake.connect()
    settings = Settings(
        channels=(ChannelSettings("@bigchannel", backfill_count=1000),),
        telegram=TelegramSettings(requests_per_second=1000),
    )
    async with await Store.open(db) as store:
        pipeline = Pipeline(store, WordMatcher(MATCHER), Router(settings.routes))
        watcher = Watcher(fake, pipeline, settings)
        await watcher.resolve_all()
        await watcher.catch_up_all()
        backfill = fake.requests.total
        fake.add_posts("bigchannel", 1000)
        before = fake.requests.total
        await watcher.catch_up(watcher.watched[1], kind=AlertKind.LATE)
        catch_up = fake.requests.total - before
    return float(backfill), float(catch_up)


async def recheck_cost(db: Path) -> tuple[int, int, int, str]:
    """A channel with 1,000 stored posts, 20 edited and 10 deleted while stopped, then restarted.

    Returns (requests of one scheduled re-check with the default window, requests to re-check 1,000
    stored posts, requests of the restart: catch-up + re-check, found/planted edits/deletions)."""
    fake = FakeTelegram(start=datetime.now(UTC) - timedelta(hours=1))  # posted in the last hour
    fake.add_channel("bigchannel", tg_id=1)
    fake.add_posts("bigchannel", 1000)
    await fake.connect()
    settings = Settings(
        channels=(ChannelSettings("@bigchannel", backfill_count=1000),),
        telegram=TelegramSettings(requests_per_second=1000),
    )
    async with await Store.open(db) as store:
        watcher = Watcher(fake, Pipeline(store, WordMatcher(MATCHER), Router(settings.routes)), settings)
        await watcher.resolve_all()
        await watcher.catch_up_all()
    edited = list(range(1000, 800, -10))  # 20 posts inside the newest 200
    deleted = list(range(999, 849, -15))  # 10 other posts inside the newest 200
    for message_id in edited:
        await fake.edit("bigchannel", message_id, f"post {message_id}, evacuated", push=False)
    await fake.delete("bigchannel", *deleted, push=False)
    async with await Store.open(db) as store:  # restart: catch-up, then the re-check of the old window
        watcher = Watcher(fake, Pipeline(store, WordMatcher(MATCHER), Router(settings.routes)), settings)
        await watcher.resolve_all()
        await watcher.catch_up_all(recheck=False)  # the baseline: a catch-up alone, as before re-checks
        baseline = await _found(store)
        before = fake.requests.total
        await watcher.catch_up_all()
        restart = fake.requests.total - before
        found = await _found(store)
        w = watcher.watched[1]
        before = fake.requests.total
        await watcher.recheck(w)
        scheduled = fake.requests.total - before
        w.setting = replace(w.setting, recheck_posts=1000)
        before = fake.requests.total
        await watcher.recheck(w)
        per_thousand = fake.requests.total - before
    accuracy = f"{found[0]}/{len(edited)} edits, {found[1]}/{len(deleted)} deletions"
    return scheduled, per_thousand, restart, f"{accuracy} (catch-up alone: {baseline[0]} / {baseline[1]})"


async def _found(store: Store) -> tuple[int, int]:
    """(posts with a new version, posts marked deleted)."""
    row = await store.db.fetchone(
        "SELECT count(*) FILTER (WHERE version_count > 1), count(*) FILTER (WHERE deleted_at IS NOT NULL) "
        "FROM posts"
    )
    assert row is not None
    return int(row[0]), int(row[1])


class PacedChat(TimingSink):
    """One Telegram chat: at most one message per BURST_INTERVAL; many due alerts go out as one message."""

    capabilities = SinkCapabilities(coalesces=True, min_interval=BURST_INTERVAL)

    def __init__(self) -> None:
        super().__init__()
        self.messages = 0
        self.gaps: list[float] = []
        self._last: float | None = None

    async def deliver(self, alert: OutgoingAlert) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append(now - self._last)
        self._last = now
        self.messages += 1


async def late_burst(db: Path) -> tuple[int, int, int, int, float, float, float]:
    """BURST_CHANNELS channels post while telewatch is down for 24 h; on restart every missed post is
    caught up, its alert marked late, and the burst drains to one paced chat.

    Returns (alerts expected, delivered, duplicates, messages, catch-up s, drain s, smallest gap s)."""
    fake = FakeTelegram()
    names = [f"burst{n:04d}" for n in range(BURST_CHANNELS)]
    for n, name in enumerate(names):
        fake.add_channel(name, tg_id=90_000 + n)
    settings = Settings(
        channels=tuple(ChannelSettings(f"@{n}") for n in names),
        telegram=TelegramSettings(requests_per_second=100_000),
    )
    await fake.connect()
    chat = PacedChat()
    async with open_runtime(settings, db, sinks={"console": chat}, matcher=WordMatcher(MATCHER)) as rt:
        watcher = Watcher(fake, rt.pipeline, settings)
        await watcher.resolve_all()
        await watcher.catch_up_all()  # the first run learns every channel
    expected = 0
    for name in names:  # 24 hours of posts, a few of them matching, while down
        for i in range(BURST_PER_CHANNEL * 4):
            matching = i % 4 == 0
            fake.add_post(name, f"Residents evacuated #b{name}-{i} overnight" if matching else f"calm {i}")
            expected += matching
    async with open_runtime(settings, db, sinks={"console": chat}, matcher=WordMatcher(MATCHER)) as rt:
        watcher = Watcher(fake, rt.pipeline, settings)
        started = time.perf_counter()
        await watcher.resolve_all()
        await watcher.catch_up_all()
        caught_up = time.perf_counter()
        while (await rt.dispatcher.run_once()).sent:
            pass
        drained = time.perf_counter()
        row = await rt.store.db.fetchone(
            "SELECT count(*), count(DISTINCT post_id), sum(kind = 'late') FROM alerts WHERE status = 'sent'"
        )
        assert row is not None
    delivered, posts, late = int(row[0]), int(row[1]), int(row[2] or 0)
    assert late == delivered, "every alert of the burst is marked late"
    return (
        expected,
        posts,
        delivered - posts,
        chat.messages,
        caught_up - started,
        drained - caught_up,
        min(chat.gaps, default=0.0),
    )


class Crash(BaseException):
    """The process dying."""


async def crash_and_flood(db: Path) -> tuple[int, int, int, int]:
    """50 channels, 100 posts each missed while down; flood waits and a crash mid catch-up, then a restart.

    Returns (posts published, posts stored, alerts expected, duplicate alerts).
    """
    fake = FakeTelegram()
    names = [f"ch{n:03d}xx" for n in range(50)]
    for n, name in enumerate(names):
        fake.add_channel(name, tg_id=500 + n)
    settings = Settings(
        channels=tuple(ChannelSettings(f"@{n}") for n in names),
        telegram=TelegramSettings(requests_per_second=1000),
    )
    await fake.connect()
    async with await Store.open(db) as store:  # first run: learn every channel
        watcher = Watcher(fake, Pipeline(store, WordMatcher(MATCHER), Router(settings.routes)), settings)
        await watcher.resolve_all()
        await watcher.catch_up_all()
    published = 0
    for name in names:
        for i in range(100):
            fake.add_post(name, f"evacuated {name} {i}" if i % 3 == 0 else f"calm {i}")
            published += 1
    fake.flood("history", 0.05, times=5)
    fake.fail("history", Crash(), after=30)
    try:
        async with await Store.open(db) as store:
            watcher = Watcher(fake, Pipeline(store, WordMatcher(MATCHER), Router(settings.routes)), settings)
            await watcher.resolve_all()
            await watcher.catch_up_all()
    except (Crash, BaseExceptionGroup):
        pass
    fake.flood("history", 0.05, times=5)
    async with await Store.open(db) as store:  # restart
        watcher = Watcher(fake, Pipeline(store, WordMatcher(MATCHER), Router(settings.routes)), settings)
        await watcher.resolve_all()
        await watcher.catch_up_all()
        stored = (await store.db.fetchone("SELECT count(*) FROM posts"))[0]  # type: ignore[index]
        alerts = await store.db.fetchone("SELECT count(*), count(DISTINCT post_id) FROM alerts")
        assert alerts is not None
    expected = sum(1 for _ in names for i in range(100) if i % 3 == 0)
    return published, int(stored), expected - int(alerts[1]), int(alerts[0]) - int(alerts[1])


def run(report: Report) -> None:
    """Measure and add the live figures to `report`."""
    with tempfile.TemporaryDirectory() as tmp:
        for channels, rate, name in ((BASE_CHANNELS, BASE_RATE, "base"), (CHANNELS, RATE, "tenfold")):
            times, lost, dupes = asyncio.run(latency(Path(tmp) / f"latency-{name}.db", channels, rate))
            label = f"update → sink at {rate} posts/s over {channels} channels"
            if len(times) >= 2:
                q = statistics.quantiles(times, n=100)
                p50, p99 = statistics.median(times), q[98]
                report.add(
                    SECTION, f"{label}: p50 / p99", f"{p50:.1f} / {p99:.1f} ms", "p99 < 20 ms", p99 < 20
                )
            report.add(
                SECTION,
                f"{label}: alerts lost / duplicated",
                f"{lost} / {dupes}",
                "0 / 0",
                lost == 0 and dupes == 0,
            )
        expected, delivered, dup, messages, catch_s, drain_s, gap = asyncio.run(
            late_burst(Path(tmp) / "burst.db")
        )
        report.add(
            SECTION,
            f"late burst after 24 h down, {BURST_CHANNELS} channels: alerts delivered / duplicated",
            f"{delivered:,} of {expected:,} / {dup}",
            "all / 0",
            delivered == expected and dup == 0,
        )
        report.add(
            SECTION,
            f"late burst: catch-up, then drain to one chat paced at {BURST_INTERVAL * 1000:.0f} ms/message",
            f"{catch_s:.1f} s + {drain_s:.1f} s, {messages:,} messages, smallest gap {gap * 1000:.1f} ms",
            f"gap ≥ {BURST_INTERVAL * 1000:.0f} ms",
            gap >= BURST_INTERVAL * 0.99,
        )
        backfill, catch_up = asyncio.run(backfill_requests(Path(tmp) / "backfill.db"))
        report.add(
            SECTION, "requests per 1,000 backfilled posts (new channel, incl. resolve)", f"{backfill:.0f}"
        )
        report.add(SECTION, "requests per 1,000 caught-up posts", f"{catch_up:.0f}", "<= 11", catch_up <= 11)
        scheduled, per_thousand, restart, accuracy = asyncio.run(recheck_cost(Path(tmp) / "recheck.db"))
        report.add(
            SECTION, "re-check requests per channel (default window: 200 posts / 48 h)", str(scheduled)
        )
        report.add(SECTION, "re-check requests per 1,000 stored posts re-checked", str(per_thousand))
        report.add(SECTION, "restart after downtime, 0 new posts: catch-up + re-check requests", str(restart))
        report.add(
            SECTION,
            "re-check after a restart: offline edits / deletions found",
            accuracy,
            "20/20 edits, 10/10 deletions",
            accuracy.startswith("20/20 edits, 10/10 deletions"),
        )
        published, stored, lost_alerts, dup_alerts = asyncio.run(crash_and_flood(Path(tmp) / "crash.db"))
        ok = published == stored and lost_alerts == 0 and dup_alerts == 0
        report.add(
            SECTION,
            "crash + flood: posts lost / alerts lost / duplicates",
            f"{published - stored} / {lost_alerts} / {dup_alerts}",
            "0 / 0 / 0",
            ok,
        )


if __name__ == "__main__":
    r = Report()
    run(r)
    r.print()
    sys.exit(0)
