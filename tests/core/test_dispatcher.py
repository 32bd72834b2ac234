"""The outbox dispatcher: exactly-once delivery across crashes, retries, flood waits, pacing, coalescing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts.dispatcher import Dispatcher, DispatchPolicy
from bot.alerts.format import render
from bot.alerts.routing import Router
from bot.alerts.sinks import JsonlSink
from bot.domain.errors import DeliveryFailed
from bot.domain.models import AlertStatus, ChannelRef, Post
from bot.domain.ports import OutgoingAlert
from bot.ingest.pipeline import Pipeline
from config.settings import RouteSettings
from storage.store import Store
from tests.ports_fakes import FakeClock, RecordingSink, WordMatcher

T0 = datetime(2024, 8, 7, 6, 30, tzinfo=UTC)
GOV = ChannelRef(tg_id=1001, username="gov_region", title="Губернатор области")


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing in telewatch catches it."""


def posts(n: int, text: str = "Начался обстрел окраин") -> list[Post]:
    return [Post(GOV, i, T0 + timedelta(minutes=i), f"{text} #{i}") for i in range(1, n + 1)]


async def open_app(
    path: Path, sink: object, clock: FakeClock, routes: tuple[RouteSettings, ...] | None = None
):  # type: ignore[no-untyped-def]
    store = await Store.open(path)
    routes = routes or (RouteSettings(name="chat", sink="console"),)
    pipeline = Pipeline(store, WordMatcher({"shelling": ["обстрел"]}), Router(routes), clock=clock)
    dispatcher = Dispatcher(store, {"console": sink}, clock=clock)  # type: ignore[dict-item]
    return store, pipeline, dispatcher


async def test_a_crash_between_store_and_send_delivers_after_restart_exactly_once(tmp_path: Path) -> None:
    clock = FakeClock()
    sink = RecordingSink()
    store, pipeline, _ = await open_app(tmp_path / "db", sink, clock)
    await pipeline.ingest(posts(3))
    await store.close()  # "crash": nothing was dispatched
    store, _, dispatcher = await open_app(tmp_path / "db", sink, clock)
    assert (await dispatcher.run_once()).sent == 3
    assert (await dispatcher.run_once()).sent == 0
    assert len(sink.keys) == len(set(sink.keys)) == 3
    await store.close()


async def test_a_crash_after_sending_before_recording_resends_the_same_key(tmp_path: Path) -> None:
    """The resend carries the same dedup key, so Telegram (random_id) or the JSONL sink drops it."""
    clock = FakeClock()
    out = tmp_path / "alerts.jsonl"

    class CrashAfterWrite(JsonlSink):
        async def deliver_many(self, alerts: Sequence[OutgoingAlert]) -> None:  # deliver() comes here too
            await super().deliver_many(alerts)
            raise Crash

    store, pipeline, _ = await open_app(tmp_path / "db", CrashAfterWrite(out), clock)
    await pipeline.ingest(posts(1))
    with pytest.raises(Crash):
        await Dispatcher(store, {"console": CrashAfterWrite(out)}, clock=clock).run_once()
    await store.close()
    store, _, dispatcher = await open_app(tmp_path / "db", JsonlSink(out), clock)
    assert (await dispatcher.run_once()).sent == 1
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 1
    assert lines[0]["rule"] == "shelling"
    await store.close()


async def test_flood_wait_postpones_without_using_an_attempt(tmp_path: Path) -> None:
    clock = FakeClock()
    sink = RecordingSink()
    store, pipeline, dispatcher = await open_app(tmp_path / "db", sink, clock)
    await pipeline.ingest(posts(1))
    sink.flood(30)
    result = await dispatcher.run_once()
    assert (result.sent, result.retried) == (0, 1)
    assert (await dispatcher.run_once()).sent == 0  # not due yet
    clock.advance(35)
    assert (await dispatcher.run_once()).sent == 1
    [row] = await store.alerts.listing()
    assert row["attempts"] == 1
    assert row["status"] == "sent"
    await store.close()


async def test_transient_failures_back_off_then_give_up(tmp_path: Path) -> None:
    clock = FakeClock()
    sink = RecordingSink()
    store, pipeline, _ = await open_app(tmp_path / "db", sink, clock)
    dispatcher = Dispatcher(store, {"console": sink}, clock=clock, policy=DispatchPolicy(max_attempts=3))
    await pipeline.ingest(posts(1))
    sink.fail_next(DeliveryFailed("timeout"), DeliveryFailed("timeout"), DeliveryFailed("timeout"))
    assert (await dispatcher.run_once()).retried == 1
    clock.advance(1)
    assert (await dispatcher.run_once()).retried == 0  # backoff: 2 s before the 2nd try
    clock.advance(2)
    assert (await dispatcher.run_once()).retried == 1
    clock.advance(10)
    assert (await dispatcher.run_once()).failed == 1
    assert (await store.alerts.counts()) == {"failed": 1}
    await store.close()


async def test_a_permanent_failure_is_not_retried(tmp_path: Path) -> None:
    clock = FakeClock()
    sink = RecordingSink()
    store, pipeline, dispatcher = await open_app(tmp_path / "db", sink, clock)
    await pipeline.ingest(posts(1))
    sink.break_permanently()
    assert (await dispatcher.run_once()).failed == 1
    await store.close()


async def test_a_burst_for_one_chat_is_coalesced_into_one_message(tmp_path: Path) -> None:
    clock = FakeClock()
    sink = RecordingSink(coalesces=True)
    store, pipeline, dispatcher = await open_app(tmp_path / "db", sink, clock)
    await pipeline.ingest(posts(7))
    result = await dispatcher.run_once()
    assert (result.sent, result.messages) == (7, 1)
    assert sink.delivered[0].plain.startswith("7 alerts")
    await store.close()


async def test_sends_to_one_chat_are_paced(tmp_path: Path) -> None:
    clock = FakeClock()
    sink = RecordingSink(min_interval=1.0)
    store, pipeline, dispatcher = await open_app(tmp_path / "db", sink, clock)
    await pipeline.ingest(posts(3))
    await dispatcher.run_once()
    assert len(sink.delivered) == 3
    assert len(clock.slept) == 2
    assert all(0 < s <= 1.0 for s in clock.slept)
    await store.close()


async def test_one_post_matching_several_rules_is_one_message(tmp_path: Path) -> None:
    clock = FakeClock()
    sink = RecordingSink()
    store = await Store.open(tmp_path / "db")
    matcher = WordMatcher({"shelling": ["обстрел"], "sudzha": ["Суджи"]})
    pipeline = Pipeline(store, matcher, Router((RouteSettings(name="chat", sink="console"),)), clock=clock)
    await pipeline.ingest([Post(GOV, 1, T0, "обстрел Суджи"), Post(GOV, 2, T0, "обстрел")])
    result = await Dispatcher(store, {"console": sink}, clock=clock).run_once()
    assert (result.sent, result.messages) == (3, 2)
    assert sink.delivered[0].data["rules"] == ["shelling", "sudzha"]
    assert "[обстрел] [Суджи]" in sink.delivered[0].plain
    await store.close()


async def test_held_alerts_are_not_delivered(tmp_path: Path) -> None:
    clock = FakeClock()
    sink = RecordingSink()
    store, pipeline, dispatcher = await open_app(tmp_path / "db", sink, clock)
    pipeline.policy = lambda m, c, r: AlertStatus.HELD
    await pipeline.ingest(posts(2))
    assert (await dispatcher.run_once()).sent == 0
    await store.close()


async def test_rendered_alert_highlights_the_matched_words_in_html_and_links_the_post(tmp_path: Path) -> None:
    clock = FakeClock()
    store, pipeline, _ = await open_app(tmp_path / "db", RecordingSink(), clock)
    await pipeline.ingest([Post(GOV, 9, T0, "Идёт <обстрел> & эвакуация")])
    [alert] = await store.alerts.due(datetime(2100, 1, 1, tzinfo=UTC))
    stored = await store.posts.get(alert.post_id)
    match = await store.matches.get(alert.post_id, "shelling")
    assert stored is not None
    out = render([alert], stored, [match])
    assert "&lt;<b><u>обстрел</u></b>&gt; &amp; эвакуация" in out.html
    assert 'href="https://t.me/gov_region/9"' in out.html
    assert "[обстрел]" in out.plain
    assert out.data["words"] == ["обстрел"]
    await store.close()
