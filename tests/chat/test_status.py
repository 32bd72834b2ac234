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
