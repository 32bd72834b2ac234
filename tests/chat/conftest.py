"""A small running telewatch for chat-control tests: a real config file, real SQLite, the real
pipeline, gate, dispatcher and digests, a fake clock, a Telegram-like sink and a fake chat."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts.dispatcher import Dispatcher
from bot.alerts.routing import Router
from bot.chat.jobs import ChatServices, build_chat_services
from bot.domain.models import ChannelRef, ForwardOrigin, Match, Post, Severity
from bot.ingest.pipeline import Pipeline
from config.loader import load
from config.settings import Settings
from storage.store import Store
from tests.chat_fakes import ChatSink, FakeChat
from tests.ports_fakes import FakeClock, WordMatcher

T0 = datetime(2024, 8, 7, 10, 0, tzinfo=UTC)  # 13:00 in Moscow
GOV = ChannelRef(tg_id=1001, username="gov_region", title="Губернатор")
BLOG = ChannelRef(tg_id=1002, username="milblog", title="Milblog")
MEDIA = ChannelRef(tg_id=1003, username="newsdesk", title="Newsdesk")

CONFIG = """\
# telewatch test config
timezone = "Europe/Moscow"

[schedule]
dedup_window_minutes = 60
digest_hour = 8

[admin]
chats = ["-1001500", "me"]
users = [111]

# the regional governor
[[channels]]
ref = "@gov_region"
label = "official"

[[channels]]
ref = "@milblog"
label = "milblogger"

# shelling reports
[[rules]]
name = "shelling"
any = ["обстрел"]
severity = "warning"

[[rules]]
name = "evacuation"
any = ["эвакуация"]
severity = "critical"

[[routes]]
name = "desk"
sink = "telegram"
target = "-1001500"
"""


class SettingsHolder:
    """What bot/app/run.py keeps: the settings in force, replaced when the config changes."""

    def __init__(self, settings: Settings) -> None:
        self.current = settings
        self.changes = 0

    def __call__(self) -> Settings:
        return self.current

    async def changed(self, settings: Settings) -> None:
        self.current = settings
        self.changes += 1


@dataclass
class App:
    path: Path
    store: Store
    settings: SettingsHolder
    clock: FakeClock
    sink: ChatSink
    services: ChatServices
    pipeline: Pipeline
    dispatcher: Dispatcher
    chat: FakeChat
    next_id: int = 1

    def post(self, channel: ChannelRef, text: str, *, minutes: float = 0, **kw: object) -> Post:
        self.next_id += 1
        # a second apart, so "newest first" listings have a definite order
        date = self.clock.now() + timedelta(minutes=minutes, seconds=self.next_id)
        return Post(channel, self.next_id, date, text, **kw)  # type: ignore[arg-type]

    async def publish(self, channel: ChannelRef, text: str, **kw: object) -> Post:
        post = self.post(channel, text, **kw)
        await self.pipeline.ingest([post])
        return post

    def reload_routes(self) -> None:
        """Rebuild the router from the settings in force (what the app does on a config change)."""
        self.pipeline.router = Router(self.settings.current.routes)


class SeverityMatcher:
    """Several word matchers, each with its own severity."""

    def __init__(self, *matchers: WordMatcher) -> None:
        self.matchers = matchers

    def match(self, text: str, *, channel: str | None = None, tags: Sequence[str] = ()) -> list[Match]:
        return [m for x in self.matchers for m in x.match(text, channel=channel, tags=tags)]


def forward_of(channel: ChannelRef, message_id: int) -> ForwardOrigin:
    return ForwardOrigin(channel_tg_id=channel.tg_id, message_id=message_id, name=channel.title)


async def make_app(tmp_path: Path, config: str = CONFIG, start: datetime = T0) -> App:
    path = tmp_path / "telewatch.toml"
    path.write_text(config, encoding="utf-8")
    holder = SettingsHolder(load(path, {}))
    clock = FakeClock(start)
    store = await Store.open(tmp_path / "tw.db")
    sink = ChatSink()
    sinks = {"telegram": sink}
    services = build_chat_services(
        store, holder, sinks, config_path=path, clock=clock, environ={}, on_config_change=holder.changed
    )
    matcher = SeverityMatcher(
        WordMatcher({"shelling": ["обстрел"]}, Severity.WARNING),
        WordMatcher({"evacuation": ["эвакуация"]}, Severity.CRITICAL),
        WordMatcher({"briefing": ["сводка"]}, Severity.INFO),
    )
    pipeline = Pipeline(store, matcher, Router(holder.current.routes), clock=clock, gate=services.gate)
    dispatcher = Dispatcher(store, sinks, clock=clock, copies=services.copies)
    return App(path, store, holder, clock, sink, services, pipeline, dispatcher, FakeChat(services.control))


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    built = await make_app(tmp_path)
    yield built
    await built.store.close()
