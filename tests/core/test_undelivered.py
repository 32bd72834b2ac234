"""Alerts that cannot be delivered now are never given up silently: a sink this mode lacks, a chat not
reachable yet, a deletion report whose original alert was not delivered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts.dispatcher import Dispatcher, DispatchPolicy
from bot.alerts.routing import Router
from bot.alerts.sinks.telegram import TelegramSink
from bot.domain.models import AlertKind, AlertStatus, ChannelRef, Post
from bot.ingest.pipeline import Pipeline
from config.settings import RouteSettings
from storage.store import Store
from tests.fakes import FakeTelegram
from tests.ports_fakes import FakeClock, RecordingSink, WordMatcher

T0 = datetime(2024, 8, 7, 6, 30, tzinfo=UTC)
GOV = ChannelRef(tg_id=1001, username="gov_region", title="Губернатор области")
DESK = RouteSettings(name="desk", sink="telegram", target="@new_analyst")


def posts(n: int) -> list[Post]:
    return [Post(GOV, i, T0 + timedelta(minutes=i), f"Начался обстрел окраин #{i}") for i in range(1, n + 1)]


@dataclass
class App:
    store: Store
    pipeline: Pipeline
    clock: FakeClock


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    clock = FakeClock(T0)
    store = await Store.open(tmp_path / "t.db")
    pipeline = Pipeline(store, WordMatcher({"shelling": ["обстрел"]}), Router((DESK,)), clock=clock)
    try:
        yield App(store, pipeline, clock)
    finally:
        await store.close()


async def statuses(store: Store) -> list[tuple[str, str, str | None]]:
    return [
        (r["kind"], r["status"], r["last_error"]) for r in reversed(await store.alerts.listing(limit=100))
    ]


async def test_alerts_for_a_sink_this_mode_lacks_stay_pending_for_a_mode_that_has_it(app: App) -> None:
    """A telegram route during a replay: never 'failed', delivered later by `run`; no endless loop."""
    await app.pipeline.ingest(posts(5))
    replay = Dispatcher(app.store, {}, clock=app.clock, policy=DispatchPolicy(batch_size=2))
    result = await replay.run_once()
    assert (result.sent, result.failed) == (0, 0)
    assert {s for _, s, _ in await statuses(app.store)} == {"pending"}
    sink = RecordingSink("telegram")
    assert (await Dispatcher(app.store, {"telegram": sink}, clock=app.clock).run_once()).sent == 5
    assert len(sink.delivered) == 5


async def test_a_chat_not_reachable_yet_keeps_alerts_waiting_and_they_go_out_once_it_is(app: App) -> None:
    telegram = FakeTelegram()
    await telegram.connect()
    telegram.unreachable_chats.add("@new_analyst")  # a user who never wrote to the bot
    dispatcher = Dispatcher(app.store, {"telegram": TelegramSink(telegram)}, clock=app.clock)
    await app.pipeline.ingest(posts(3))
    result = await dispatcher.run_once()
    assert (result.sent, result.failed, result.waiting) == (0, 0, 3)
    assert telegram.count("send") == 1  # one try for the chat, not one per alert
    [alert] = [a for a in await app.store.alerts.due(T0 + timedelta(days=1)) if a.post_id == 1]
    assert (alert.status, alert.attempts) == (AlertStatus.PENDING, 0)
    assert "not reachable (not found)" in (alert.last_error or "")
    [group] = await app.store.alerts.undelivered()
    assert "writes to the bot" in (group.waiting_for or "")
    # still unreachable at the periodic retry: still waiting, still not failed
    app.clock.advance(601)
    assert (await dispatcher.run_once()).waiting == 3
    # the user writes to the bot: the alerts are retried at once and delivered
    telegram.unreachable_chats.clear()
    assert (await dispatcher.run_once()).sent == 0  # not due yet: next periodic try is 10 min away
    assert await dispatcher.wake("@New_Analyst") == 3
    assert (await dispatcher.run_once()).sent == 3
    assert [s for _, s, _ in await statuses(app.store)] == ["sent"] * 3


async def test_a_deletion_report_waits_for_its_original_and_is_dropped_if_that_fails(app: App) -> None:
    telegram = FakeTelegram()
    await telegram.connect()
    telegram.unreachable_chats.add("@new_analyst")
    dispatcher = Dispatcher(app.store, {"telegram": TelegramSink(telegram)}, clock=app.clock)
    await app.pipeline.ingest(posts(2))
    await dispatcher.run_once()
    await app.pipeline.delete(GOV, [1, 2])  # both deleted while their alerts wait for the chat
    telegram.unreachable_chats.clear()
    await dispatcher.wake("@new_analyst")
    # post 2's original gives up for good (e.g. an operator marks it failed): its report must not go out
    [original2] = [a for a in await app.store.alerts.for_post(2) if a.kind is AlertKind.NEW]
    await app.store.alerts.mark_failed([original2.id], "gave up")
    await dispatcher.run_once()
    await dispatcher.run_once()
    sent = [s.html for s in telegram.sent]
    assert len(sent) == 2  # post 1's alert, then its deletion report; nothing about post 2
    assert "DELETED" not in sent[0]
    assert "DELETED" in sent[1]
    by_post = {
        a.post_id: (a.kind.value, a.status.value)
        for a in await app.store.alerts.for_post(2)
        if a.kind is AlertKind.DELETED
    }
    assert by_post == {2: ("deleted", "suppressed")}


async def test_status_names_alerts_waiting_for_a_chat(app: App) -> None:
    from bot.cli.live import collect_status

    telegram = FakeTelegram()
    await telegram.connect()
    telegram.unreachable_chats.add("@new_analyst")
    await app.pipeline.ingest(posts(2))
    await Dispatcher(app.store, {"telegram": TelegramSink(telegram)}, clock=app.clock).run_once()
    data = await collect_status(app.store, app.clock.now())
    [line] = data["alerts_waiting"]
    assert "2 alert(s) for route 'desk' (telegram → @new_analyst) kept pending" in line
    assert "not reachable (not found)" in line


async def test_check_verifies_every_route_target(tmp_path: Path) -> None:
    from bot.alerts.targets import check_route_targets
    from config.settings import Settings

    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    settings = Settings(
        routes=(
            DESK,
            RouteSettings(name="team", sink="telegram", target="-100500"),
            RouteSettings(name="log", sink="jsonl", target=str(tmp_path / "logs" / "alerts.jsonl")),
            RouteSettings(name="bad", sink="jsonl", target=str(tmp_path / "a-file" / "alerts.jsonl")),
        )
    )
    telegram = FakeTelegram()
    await telegram.connect()
    telegram.unreachable_chats.add("@new_analyst")
    reports = {r.route: r for r in await check_route_targets(settings, telegram)}
    assert {name: r.state for name, r in reports.items()} == {
        "desk": "not found",
        "team": "ok",
        "log": "ok",
        "bad": "not writable",
    }
    assert "/start" in reports["desk"].detail
    assert telegram.sent == []  # checking sends nothing
    assert not (tmp_path / "logs").exists()  # and creates nothing
