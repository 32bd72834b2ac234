"""/status in the alert chat shows the same health checks as `telewatch status`, problems first."""

from __future__ import annotations

from bot.alerts.health import HealthMonitor, LiveState
from tests.chat.conftest import App


async def test_status_lists_the_failing_checks_first(app: App) -> None:
    assert "inside `telewatch run`" in await app.chat.say_one("/status")
    monitor = HealthMonitor(
        app.store,
        app.settings,
        app.clock.now,
        live=LiveState(lambda: "the session was rejected", lambda: None),
        db_path=app.path,
    )
    app.services.control.ctx.health = monitor
    text = await app.chat.say_one("/status")
    lines = text.splitlines()
    assert lines[0] == "🩺 1 problem(s)"
    assert lines[1].startswith("✗ the Telegram session was revoked or the account restricted")
    assert "✓ connected to Telegram" in text
    assert "✓ route 'desk' delivers" in text
    assert "takes no arguments" in await app.chat.say_one("/status now")


async def test_trends_shows_the_current_surges(app: App) -> None:
    from bot.alerts.trend_watch import TrendWatch
    from bot.domain.models import ChannelRef

    assert "inside `telewatch run`" in await app.chat.say_one("/trends")
    app.services.control.ctx.trends = TrendWatch(app.store, app.settings, app.clock.now)
    assert await app.chat.say_one("/trends") == "No rule spikes or name surges right now."
    for c in range(5):
        await app.publish(ChannelRef(tg_id=2000 + c, username=f"local{c}"), "Колонна у Суджи")
    text = await app.chat.say_one("/trends")
    assert "Суджа: 5 channels in 30 min, 0 posts last week" in text


async def test_status_lists_the_watchers_sharing_the_database(app: App) -> None:
    from bot.domain.models import ChannelRef
    from bot.domain.records import WatcherBeat

    app.services.control.ctx.health = HealthMonitor(app.store, app.settings, app.clock.now, db_path=app.path)
    async with app.store.transaction() as tx:
        channel = await app.store.channels.ensure(tx, ChannelRef(tg_id=4242, username="alpha_news"))
    beat = WatcherBeat(name="desk-2", account="second", host="h", pid=2, max_channels=10)
    await app.store.leases.sync(beat, [channel.id], app.clock.now(), 60.0)
    text = await app.chat.say_one("/status")
    assert "watcher desk-2 (second): live, 1/10 channels, renewed 0s ago" in text
