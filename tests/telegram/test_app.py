"""`telewatch run` end to end against FakeTelegram: live alerts, real APScheduler jobs, clean stop, one instance."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app.run import run_live
from bot.domain.errors import AlreadyRunning
from config.settings import ChannelSettings, Settings, TelegramSettings
from tests.fakes import FakeTelegram
from tests.ports_fakes import RecordingSink, WordMatcher
from tests.telegram.harness import wait_until


async def test_run_delivers_live_and_gap_check_alerts_and_stops_cleanly(tmp_path: Path) -> None:
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    fake.add_channel("beta", tg_id=12, joined=False)
    settings = Settings(
        channels=(ChannelSettings("@alpha"), ChannelSettings("@beta", poll_minutes=1)),
        telegram=TelegramSettings(requests_per_second=1000),
    )
    sink = RecordingSink("console")
    scheduler = AsyncIOScheduler(timezone="UTC")
    stop = asyncio.Event()
    lock = tmp_path / "watcher.lock"
    task = asyncio.create_task(
        run_live(
            settings,
            tmp_path / "t.db",
            gateway=fake,
            sinks={"console": sink},
            stop=stop,
            lock_file=lock,
            scheduler=scheduler,
            matcher=WordMatcher({"evac": ["evacuated"]}),
        )
    )
    try:
        await wait_until(lambda: scheduler.get_job("gap-check:11") is not None)
        assert scheduler.get_job("poll:12") is not None, "a channel not joined is polled"
        assert scheduler.get_job("gap-check:12") is None

        with pytest.raises(AlreadyRunning):
            await run_live(settings, tmp_path / "t.db", gateway=FakeTelegram(), lock_file=lock)

        await fake.publish("alpha", "Sudzha residents evacuated")
        await wait_until(lambda: len(sink.delivered) == 1)
        assert sink.delivered[0].data["kind"] == "new"

        fake.add_post("alpha", "evacuated again, update lost")
        fake.add_post("beta", "beta evacuated")
        now = datetime.now(UTC)
        scheduler.get_job("gap-check:11").modify(next_run_time=now)
        scheduler.get_job("poll:12").modify(next_run_time=now)
        await wait_until(lambda: len(sink.delivered) == 3)
        kinds = sorted(str(a.data["kind"]) for a in sink.delivered)
        assert kinds == ["late", "new", "new"]
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert not fake.connected
    assert not scheduler.running
