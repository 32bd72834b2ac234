"""forward_original: the Telegram sink forwards the original post with its alert, once, paced; a channel
that restricts forwarding gets the alert with a note (its link is in the alert)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.alerts.dispatcher import Dispatcher
from bot.alerts.routing import Router
from bot.alerts.sinks.telegram import TelegramSink, forwards
from bot.domain.models import ChannelRef, Post
from bot.domain.ports import OutgoingAlert
from bot.ingest.pipeline import Pipeline
from config.settings import RouteSettings, Settings
from storage.store import Store
from tests.fakes import FakeTelegram
from tests.ports_fakes import FakeClock, WordMatcher

T0 = datetime(2024, 8, 7, 6, 30, tzinfo=UTC)
GOV = ChannelRef(tg_id=1001, username="gov_region", title="Губернатор")


async def setup(tmp_path: Path, forward: bool = True):  # type: ignore[no-untyped-def]
    settings = Settings(
        routes=(RouteSettings(name="desk", sink="telegram", target="me", forward_original=forward),)
    )
    clock = FakeClock()
    store = await Store.open(tmp_path / "db")
    pipeline = Pipeline(
        store, WordMatcher({"evacuation": ["эвакуация"]}), Router(settings.routes), clock=clock
    )
    telegram = FakeTelegram()
    await telegram.connect()
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    sink = TelegramSink(telegram, forward_to=lambda chat: forwards(settings, chat), pause=pause)
    return store, pipeline, Dispatcher(store, {"telegram": sink}, clock=clock), telegram, pauses


async def test_the_original_is_forwarded_once_before_its_alert(tmp_path: Path) -> None:
    store, pipeline, dispatcher, telegram, pauses = await setup(tmp_path)
    await pipeline.ingest([Post(GOV, 7, T0, "Объявлена эвакуация")])
    assert (await dispatcher.run_once()).sent == 1
    forwarded, alert = telegram.sent
    assert forwarded.html == "[forwarded @gov_region/7]"
    assert "эвакуация" in alert.html
    assert pauses == [1.0]  # one message a second to the chat, also between forward and alert
    # a crash before the alert was marked sent: the resend carries the same random_ids, Telegram drops both
    [row] = await store.alerts.listing()
    stored = await store.alerts.get(row["id"])
    assert stored is not None
    again = OutgoingAlert(stored.dedup_key, "", "again", {}, target="me", original=("@gov_region", 7))
    await dispatcher.sinks["telegram"].deliver(again)
    assert len(telegram.sent) == 2
    await store.close()


async def test_a_channel_that_restricts_forwarding_gets_the_alert_with_a_note(tmp_path: Path) -> None:
    store, pipeline, dispatcher, telegram, pauses = await setup(tmp_path)
    telegram.no_forwards.add("@gov_region")
    await pipeline.ingest([Post(GOV, 8, T0, "Объявлена эвакуация")])
    assert (await dispatcher.run_once()).sent == 1
    [alert] = telegram.sent
    assert "https://t.me/gov_region/8" in alert.html
    assert "(not forwarded: @gov_region does not allow forwarding; the link above opens it)" in alert.html
    assert pauses == []
    await store.close()


async def test_without_forward_original_nothing_is_forwarded(tmp_path: Path) -> None:
    store, pipeline, dispatcher, telegram, _ = await setup(tmp_path, forward=False)
    await pipeline.ingest([Post(GOV, 9, T0, "Объявлена эвакуация")])
    await dispatcher.run_once()
    assert [s.html.startswith("[forwarded") for s in telegram.sent] == [False]
    await store.close()


def test_telegrams_forwarding_refusal_becomes_forward_restricted() -> None:
    from telethon import errors as tg

    from bot.domain.errors import ForwardRestricted
    from bot.telegram.errors import translate

    error = translate(tg.ChatForwardsRestrictedError(request=None), request="forward", target="@gov_region")
    assert isinstance(error, ForwardRestricted)
    assert error.message == "channel @gov_region does not allow forwarding its posts"
