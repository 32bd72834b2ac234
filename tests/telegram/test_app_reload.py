"""`telewatch run` applies config edits while running, and serves the alert chat through its adapter."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app.run import run_live
from bot.chat.control import ChatControl
from bot.chat.models import Command
from config.loader import load
from tests.fakes import FakeTelegram
from tests.ports_fakes import RecordingSink
from tests.telegram.harness import wait_until

CONFIG = """
[telegram]
requests_per_second = 1000

[admin]
chats = ["-100500"]
users = [42]

[[channels]]
ref = "@alpha"

[[rules]]
name = "evacuation"
any = ["evacuate"]
"""


class RecordingChat:
    """Stands in for bot.telegram.chat.TelegramChat."""

    def __init__(self) -> None:
        self.control: ChatControl | None = None
        self.notices: list[str] = []

    def attach(self, control: ChatControl) -> None:
        self.control = control

    async def notify(self, chats: Sequence[str | int], html: str) -> None:
        self.notices.append(html)


async def test_config_edits_while_running_add_channels_and_rules(tmp_path: Path) -> None:
    path = tmp_path / "telewatch.toml"
    path.write_text(CONFIG, encoding="utf-8")
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    fake.add_channel("beta", tg_id=12)
    sink = RecordingSink("console")
    scheduler = AsyncIOScheduler(timezone="UTC")
    chat = RecordingChat()
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_live(
            load(path, {}),
            tmp_path / "t.db",
            gateway=fake,
            sinks={"console": sink},
            stop=stop,
            scheduler=scheduler,
            chat=chat,
            config_path=path,
            environ={},
            reload_seconds=0.05,
        )
    )
    try:
        await wait_until(lambda: scheduler.get_job("gap-check:11") is not None)
        await fake.publish("alpha", "Residents were evacuated")
        await wait_until(lambda: len(sink.delivered) == 1)

        path.write_text(
            CONFIG.replace('any = ["evacuate"]', 'any = ["evacuate", "shelling"]')
            + '\n[[channels]]\nref = "@beta"\nlabel = "media"\n',
            encoding="utf-8",
        )
        await wait_until(lambda: scheduler.get_job("gap-check:12") is not None)
        await fake.publish("beta", "Heavy shelling overnight")
        await wait_until(lambda: len(sink.delivered) == 2)
        assert sink.delivered[1].data["channel"] == "beta"

        assert chat.control is not None, "the chat adapter was given the command handler"
        replies = await chat.control.handle_command(
            Command(chat_id=-100500, user_id=42, text="/unwatch @beta")
        )
        assert replies
        await wait_until(lambda: scheduler.get_job("gap-check:12") is None)
        assert "@beta" not in path.read_text(encoding="utf-8")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_a_chat_watch_applies_the_new_settings_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A chat edit writes the file and takes effect once: not again when the file watcher sees the write."""
    path = tmp_path / "telewatch.toml"
    path.write_text(CONFIG, encoding="utf-8")
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    fake.add_channel("beta", tg_id=12)
    scheduler = AsyncIOScheduler(timezone="UTC")
    chat = RecordingChat()
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_live(
            load(path, {}),
            tmp_path / "t.db",
            gateway=fake,
            sinks={"console": RecordingSink("console")},
            stop=stop,
            scheduler=scheduler,
            chat=chat,
            config_path=path,
            environ={},
            reload_seconds=0.05,
        )
    )
    try:
        await wait_until(lambda: scheduler.get_job("gap-check:11") is not None)
        history_before = fake.count("history")
        caplog.clear()
        caplog.set_level(logging.INFO, logger="bot.app")
        assert chat.control is not None
        await chat.control.handle_command(Command(chat_id=-100500, user_id=42, text="/watch @beta"))
        await wait_until(lambda: scheduler.get_job("gap-check:12") is not None)
        await asyncio.sleep(0.4)  # several polls of the file watcher after the chat's write
        applied = [r for r in caplog.records if r.getMessage().startswith("configuration applied")]
        assert len(applied) == 1
        assert fake.count("history") - history_before == 2  # one catch-up of each of the 2 channels
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
