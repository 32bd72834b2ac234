"""Health alerts: each condition raises one notice through the outbox and routes, clears with one
"recovered" notice, never repeats while it persists (not even across a restart); status shows the checks."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.alerts.dispatcher import Dispatcher
from bot.alerts.health import (
    HealthMonitor,
    LiveState,
    all_checks,
    silent_threshold_hours,
    status_lines,
)
from bot.alerts.sinks import JsonlSink, sink_key
from bot.domain.models import AlertKind, AlertStatus, ChannelRef, Post, Severity
from bot.domain.ports import ResolvedChannel
from bot.domain.records import NewAlert
from bot.domain.refs import parse_channel_ref
from config.settings import ChannelSettings, HealthSettings, RouteSettings, ScheduleSettings, Settings
from storage.store import Store
from tests.ports_fakes import FakeClock

T0 = datetime(2024, 8, 7, 6, 0, tzinfo=UTC)
GOV = ChannelRef(tg_id=1001, username="gov_region", title="Губернатор")


def settings_for(tmp_path: Path, **health: float) -> Settings:
    return Settings(
        channels=(ChannelSettings(ref="@gov_region"),),
        routes=(
            RouteSettings(name="ops", sink="jsonl", target=str(tmp_path / "ops.jsonl")),
            RouteSettings(name="quiet", sink="jsonl", target=str(tmp_path / "quiet.jsonl"), notices=()),
        ),
        schedule=ScheduleSettings(silent_after_hours=3.0),
        health=HealthSettings(disk_free_percent=0.0, **health),
    )


class Live:
    def __init__(self) -> None:
        self.auth: str | None = None
        self.down_since: datetime | None = None
        self.ever = True

    def state(self) -> LiveState:
        return LiveState(lambda: self.auth, lambda: self.down_since, lambda: self.ever)


async def setup(tmp_path: Path, clock: FakeClock, live: Live | None = None, **health: float):  # type: ignore[no-untyped-def]
    store = await Store.open(tmp_path / "db")
    settings = settings_for(tmp_path, **health)
    resolved = ResolvedChannel(tg_id=1001, username="gov_region", title="Губернатор", joined=True)
    await store.watch.remember(parse_channel_ref("@gov_region").key, resolved, "ok", clock.now())
    monitor = HealthMonitor(
        store, lambda: settings, clock.now, live=live.state() if live else None, db_path=tmp_path / "db"
    )
    sinks = {sink_key(r): JsonlSink(Path(r.target or "")) for r in settings.routes}
    return store, monitor, Dispatcher(store, sinks, clock=clock), settings


async def hourly_posts(store: Store, start: datetime, hours: int, first_id: int = 1) -> None:
    posts = [Post(GOV, first_id + i, start + timedelta(hours=i), f"сводка {i}") for i in range(hours)]
    async with store.transaction() as tx:
        await store.posts.save(tx, posts, start)


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_the_silence_threshold_learns_the_channels_rhythm_with_a_floor() -> None:
    assert silent_threshold_hours([1.0] * 5, 24.0) == 24.0  # too little history: the floor
    assert silent_threshold_hours([1.0] * 100, 3.0) == 3.0  # posts hourly: the floor still holds
    gaps = [0.5] * 90 + [6.0] * 10  # a channel that sleeps 6 h at night
    assert silent_threshold_hours(gaps, 3.0) == 12.0  # twice its 95th percentile gap


async def test_a_silent_channel_alerts_once_and_recovers_once(tmp_path: Path) -> None:
    clock = FakeClock(T0 + timedelta(hours=30))
    store, monitor, dispatcher, _ = await setup(tmp_path, clock)
    await hourly_posts(store, T0, 24)  # the last post at T0+23h: 7 h ago, the limit is 3 h
    assert await monitor.run_once() == (1, 0)
    assert await monitor.run_once() == (0, 0)  # persists: no repeat
    await dispatcher.run_once()
    [raised] = lines(tmp_path / "ops.jsonl")
    assert raised["notice"] == "health"
    assert raised["state"] == "raised"
    assert "@gov_region has posted nothing for 7.0 h" in str(raised["title"])
    assert lines(tmp_path / "quiet.jsonl") == []  # that route takes no notices
    # a restart: the condition is remembered, not raised again
    monitor2 = HealthMonitor(store, monitor.settings, clock.now, db_path=tmp_path / "db")
    assert await monitor2.run_once() == (0, 0)
    clock.advance(2 * 3600)
    await hourly_posts(store, clock.now(), 1, first_id=100)
    assert await monitor.run_once() == (0, 1)
    await dispatcher.run_once()
    _, recovered = lines(tmp_path / "ops.jsonl")
    assert recovered["state"] == "recovered"
    assert str(recovered["title"]).startswith("recovered: @gov_region has posted nothing")
    assert "after 2 h 0 min" in str(recovered["text"])
    assert await monitor.run_once() == (0, 0)
    await store.close()


async def test_a_channel_that_became_private_alerts_until_it_is_readable_again(tmp_path: Path) -> None:
    clock = FakeClock(T0 + timedelta(hours=1))
    store, monitor, _, _ = await setup(tmp_path, clock)
    await hourly_posts(store, T0, 1)
    channel_id = await store.overview.channel_by_reference(parse_channel_ref("@gov_region").key)
    assert channel_id is not None
    await store.watch.set_state(channel_id, "private")
    assert await monitor.run_once() == (1, 0)
    [failing] = [r for r in await monitor.checks() if r.ok is False]
    assert failing.title == "@gov_region became private (or the account was removed from it)"
    await store.watch.set_state(channel_id, "ok")
    assert await monitor.run_once() == (0, 1)
    await store.close()


async def test_a_revoked_session_and_a_long_disconnect_raise_and_clear(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    live = Live()
    store, monitor, dispatcher, _ = await setup(tmp_path, clock, live, disconnected_minutes=10)
    await hourly_posts(store, T0, 1)
    live.auth = "the Telegram session was rejected (AuthKeyUnregisteredError)"
    live.down_since = T0 - timedelta(minutes=5)
    assert await monitor.run_once() == (1, 0)  # 5 min down: not yet
    clock.advance(6 * 60)
    assert await monitor.run_once() == (1, 0)  # 11 min down
    live.auth = None
    live.down_since = None
    assert await monitor.run_once() == (0, 2)
    await dispatcher.run_once()
    titles = [str(x["title"]) for x in lines(tmp_path / "ops.jsonl")]
    assert titles[0] == "the Telegram session was revoked or the account restricted"
    assert titles[1] == "disconnected from Telegram for 11 min"
    assert sorted(titles[2:]) == sorted(f"recovered: {t}" for t in titles[:2])
    await store.close()


async def test_a_run_that_never_reached_telegram_shows_no_tick_for_session_or_connection(
    tmp_path: Path,
) -> None:
    """#25: unreachable from the start: neither "session accepted" nor "connected", here or in status."""
    clock = FakeClock(T0)
    live = Live()
    live.ever = False
    live.down_since = T0
    store, monitor, _, settings = await setup(tmp_path, clock, live, disconnected_minutes=10)
    clock.advance(3 * 60)
    assert await monitor.run_once() == (0, 0)
    by_key = {r.key: r for r in await monitor.checks()}
    assert by_key["session"].ok is None
    assert by_key["connection"].ok is None
    assert by_key["connection"].title.startswith("not connected to Telegram yet")
    # `telewatch status` (another process) shows what run stored: no ✓ for either.
    offline = HealthMonitor(store, lambda: settings, clock.now, db_path=tmp_path / "db")
    shown = dict((text, mark) for mark, text in status_lines(await all_checks(offline, timedelta(hours=1))))
    assert "✓" not in {shown[t] for t in shown if "Telegram" in t}
    assert any(t.startswith("not connected to Telegram yet") for t in shown)
    clock.advance(8 * 60)
    assert await monitor.run_once() == (1, 0)
    assert (await monitor.checks())[1].title == "never connected to Telegram for 11 min"
    live.ever = True
    live.down_since = None
    assert await monitor.run_once() == (0, 1)
    await store.close()


async def test_checks_that_need_run_are_not_judged_elsewhere_nor_cleared(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    live = Live()
    store, monitor, _, settings = await setup(tmp_path, clock, live)
    live.auth = "rejected"
    assert await monitor.run_once() == (1, 0)
    offline = HealthMonitor(store, lambda: settings, clock.now, db_path=tmp_path / "db")
    session = next(r for r in await offline.checks() if r.key == "session")
    assert session.ok is None
    assert await offline.run_once() == (0, 0)  # not cleared by a process that cannot judge it
    await store.close()


async def test_undelivered_alerts_and_an_unreachable_route_raise(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    store, monitor, _, _ = await setup(tmp_path, clock, outbox_minutes=15)
    await hourly_posts(store, T0, 1)
    post = await store.posts.get_by_message(1, 1)
    assert post is not None
    alert = NewAlert("k1", post.id, "shelling", Severity.WARNING, AlertKind.NEW, "ops", "jsonl:x", "x")
    async with store.transaction() as tx:
        await store.alerts.enqueue(tx, [alert], T0)
    [row] = await store.alerts.listing()
    await store.alerts.mark_waiting([row["id"]], "chat x is not reachable (not found)")
    clock.advance(20 * 60)
    await monitor.run_once()
    failing = {r.key: r for r in await monitor.checks() if r.ok is False}
    assert failing["outbox"].title == "1 alert(s) undelivered for more than 15 min"
    assert failing["route:ops"].detail == "chat x is not reachable (not found)"
    await store.alerts.mark_sent([row["id"]], clock.now())
    assert (await monitor.run_once())[1] == 2
    assert await store.alerts.counts() == {AlertStatus.SENT.value: 1}
    await store.close()


async def test_a_nearly_full_disk_raises(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    store, _, _, settings = await setup(tmp_path, clock)
    full = replace(settings, health=HealthSettings(disk_free_percent=99.999))
    nearly = HealthMonitor(store, lambda: full, clock.now, db_path=tmp_path / "db")
    disk = next(r for r in await nearly.checks() if r.key == "disk")
    assert disk.ok is False
    assert disk.title.startswith("the disk is nearly full: ")
    marks = dict((t, m) for m, t in status_lines(await nearly.checks()))
    assert any(t.startswith("the disk is nearly full") and m == "✗" for t, m in marks.items())
    await store.close()


def test_telewatch_status_shows_the_health_checks(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from bot.cli import main

    (tmp_path / "telewatch.toml").write_text(
        '[schedule]\nsilent_after_hours = 3\n\n[telegram]\nsession_dir = "sessions"\n\n'
        '[[channels]]\nref = "@gov_region"\n\n[[routes]]\nname = "console"\nsink = "console"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "db"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)

    async def prepare() -> None:
        store, _, _, _ = await setup(tmp_path, FakeClock(T0))
        await hourly_posts(store, T0, 2)  # long ago
        await store.close()

    asyncio.run(prepare())
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "health: 1 problem(s)" in out
    assert "✗ @gov_region has posted nothing for" in out
    assert "· the session is checked by `telewatch run`" in out
    assert main(["status", "--json"]) == 0
    checks = json.loads(capsys.readouterr().out)["health"]
    assert [c["key"] for c in checks if c["ok"] is False] == ["silent:1"]
