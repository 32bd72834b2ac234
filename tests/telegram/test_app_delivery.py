"""`telewatch run` never gives an alert up silently: routes added while running get a sink, a chat that
is not reachable yet keeps its alerts waiting until it writes to the bot, and shutdown says what is left."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.alerts.sinks.telegram import TelegramSink
from bot.app.run import run_live
from bot.chat.control import ChatControl
from config.loader import load
from tests.fakes import FakeTelegram
from tests.ports_fakes import RecordingSink
from tests.telegram.harness import wait_until

CONFIG = """
[telegram]
requests_per_second = 1000

[[channels]]
ref = "@alpha"

[[rules]]
name = "evacuation"
any = ["evacuate"]
"""


class SeeingChat:
    """Stands in for bot.telegram.chat.TelegramChat, including its 'a chat wrote to the bot' hook."""

    def __init__(self) -> None:
        self.seen: Callable[[Sequence[str]], Awaitable[None]] | None = None

    def attach(self, control: ChatControl) -> None:
        pass

    async def notify(self, chats: Sequence[str | int], html: str) -> None:
        pass

    def on_chat_seen(self, handler: Callable[[Sequence[str]], Awaitable[None]]) -> None:
        self.seen = handler


async def test_a_jsonl_route_added_while_running_gets_its_sink(tmp_path: Path) -> None:
    path = tmp_path / "telewatch.toml"
    path.write_text(CONFIG + '[[routes]]\nname = "screen"\nsink = "console"\n', encoding="utf-8")
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    scheduler = AsyncIOScheduler(timezone="UTC")
    stop = asyncio.Event()
    out = tmp_path / "alerts.jsonl"
    task = asyncio.create_task(
        run_live(
            load(path, {}),
            tmp_path / "t.db",
            gateway=fake,
            sinks={"console": RecordingSink("console")},
            stop=stop,
            scheduler=scheduler,
            config_path=path,
            environ={},
            reload_seconds=0.05,
        )
    )
    try:
        await wait_until(lambda: scheduler.get_job("gap-check:11") is not None)
        path.write_text(
            path.read_text(encoding="utf-8")
            + f'\n[[routes]]\nname = "log"\nsink = "jsonl"\ntarget = "{out}"\n',
            encoding="utf-8",
        )
        await asyncio.sleep(0.3)  # the reload applies the new route
        await fake.publish("alpha", "Residents told to evacuate")
        await wait_until(lambda: out.exists() and out.read_text(encoding="utf-8").count("\n") == 1)
        assert json.loads(out.read_text(encoding="utf-8"))["rule"] == "evacuation"
    finally:
        stop.set()
        summary = await asyncio.wait_for(task, 10)
    assert summary == []


async def test_a_telegram_route_added_while_running_gets_its_sink(tmp_path: Path) -> None:
    """run_live builds every sink from its routes, so a telegram route added to the file while running
    sends through the running gateway (none was built at start: no route needed it)."""
    path = tmp_path / "telewatch.toml"
    path.write_text(CONFIG + '[[routes]]\nname = "screen"\nsink = "console"\n', encoding="utf-8")
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    scheduler = AsyncIOScheduler(timezone="UTC")
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_live(
            load(path, {}),
            tmp_path / "t.db",
            gateway=fake,
            sinks={"console": RecordingSink("console")},
            stop=stop,
            scheduler=scheduler,
            config_path=path,
            environ={},
            reload_seconds=0.05,
        )
    )
    try:
        await wait_until(lambda: scheduler.get_job("gap-check:11") is not None)
        path.write_text(
            path.read_text(encoding="utf-8")
            + '\n[[routes]]\nname = "desk"\nsink = "telegram"\ntarget = "@desk"\n',
            encoding="utf-8",
        )
        await asyncio.sleep(0.3)  # the reload applies the new route
        await fake.publish("alpha", "Residents told to evacuate")
        await wait_until(lambda: len(fake.sent) == 1)
        assert fake.sent[0].chat == "@desk"
    finally:
        stop.set()
        summary = await asyncio.wait_for(task, 10)
    assert summary == []


async def test_alerts_wait_for_a_chat_until_it_writes_to_the_bot_and_shutdown_names_the_rest(
    tmp_path: Path,
) -> None:
    path = tmp_path / "telewatch.toml"
    path.write_text(
        CONFIG + '[[routes]]\nname = "desk"\nsink = "telegram"\ntarget = "@newbie"\n', encoding="utf-8"
    )
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    fake.unreachable_chats.add("@newbie")  # never wrote to the bot
    chat = SeeingChat()
    scheduler = AsyncIOScheduler(timezone="UTC")
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_live(
            load(path, {}),
            tmp_path / "t.db",
            gateway=fake,
            sinks={"telegram": TelegramSink(fake)},
            stop=stop,
            scheduler=scheduler,
            chat=chat,
        )
    )
    try:
        await wait_until(lambda: scheduler.get_job("gap-check:11") is not None)
        await fake.publish("alpha", "Residents told to evacuate")
        await wait_until(lambda: fake.count("send") == 1)
        await asyncio.sleep(0.05)
        assert fake.sent == []
        fake.unreachable_chats.clear()
        assert chat.seen is not None
        await chat.seen(["12345", "@newbie"])  # the user sends /start to the bot
        await wait_until(lambda: len(fake.sent) == 1)
        fake.unreachable_chats.add("@newbie")  # then blocks the bot: the next alert waits
        await fake.publish("alpha", "Second order to evacuate")
        await wait_until(lambda: fake.count("send") == 3)
    finally:
        stop.set()
        summary = await asyncio.wait_for(task, 10)
    [line] = summary
    assert "1 alert(s) for route 'desk' (telegram → @newbie) kept pending" in line.text
    assert "not reachable" in line.text
    assert not line.error


async def test_telegram_alerts_of_a_replay_wait_in_the_outbox_and_run_sends_them(tmp_path: Path) -> None:
    """Replay builds no telegram sink (no connection): its telegram alerts stay pending, never failed,
    and the next `run` (same database, same routes) delivers them."""
    from bot.app.runtime import open_runtime
    from bot.domain.models import ChannelRef, Post

    path = tmp_path / "telewatch.toml"
    path.write_text(
        CONFIG + '[[routes]]\nname = "desk"\nsink = "telegram"\ntarget = "@desk"\n', encoding="utf-8"
    )
    settings = load(path, {})
    post = Post(
        channel=ChannelRef(username="alpha"),
        message_id=1,
        date=datetime(2024, 8, 7, 6, 30, tzinfo=UTC),
        text="Residents told to evacuate",
    )
    async with open_runtime(settings, tmp_path / "t.db") as runtime:
        assert "telegram" not in runtime.sinks
        await runtime.pipeline.ingest([post])
        await runtime.dispatcher.run_once()
        [group] = await runtime.store.alerts.undelivered(0, all_pending=True)
        assert (group.sink, group.count) == ("telegram", 1)

    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    scheduler = AsyncIOScheduler(timezone="UTC")
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_live(settings, tmp_path / "t.db", gateway=fake, stop=stop, scheduler=scheduler)
    )
    try:
        await wait_until(lambda: len(fake.sent) == 1)
        assert fake.sent[0].chat == "@desk"
    finally:
        stop.set()
        summary = await asyncio.wait_for(task, 10)
    assert summary == []
