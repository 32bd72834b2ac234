"""Cross-channel deduplication: one alert per post however many watched channels repost it."""

from __future__ import annotations

import pytest

from bot.alerts.dedup import near_identical, normalize
from bot.chat.jobs import duplicate_edit_job
from bot.domain.models import AlertStatus
from storage.alerts import AlertFilter
from tests.chat.conftest import BLOG, GOV, MEDIA, App, forward_of

TEXT = "Противник нанёс обстрел по окраинам Суджи, есть разрушения жилых домов и пострадавшие"


def test_normalize_drops_links_punctuation_case_and_invisible_characters() -> None:
    assert normalize("Обстрел\u200b Суджи!! https://t.me/x/1 ЁЛКА") == "обстрел суджи елка"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (TEXT, TEXT.upper() + "!!!", True),
        (TEXT, TEXT + "\n\nПодписывайтесь на наш канал @milblog", True),
        (TEXT, "⚡️ " + TEXT + " https://t.me/gov_region/5", True),
        (TEXT, "Совсем другой текст про обстрел в другом районе области сегодня утром", False),
        ("обстрел", "обстрел окраин", False),
        (TEXT, TEXT + " " + " ".join(f"комментарий{i}" for i in range(40)), False),  # quoted in a long post
    ],
)
def test_near_identical_texts(a: str, b: str, same: bool) -> None:
    assert near_identical(normalize(a), normalize(b)) is same


async def test_forwards_of_one_post_raise_one_alert_listing_every_channel(app: App) -> None:
    original = await app.publish(GOV, TEXT)
    await app.dispatcher.run_once()
    assert len(app.sink.delivered) == 1
    message_id = max(app.sink.messages)
    await app.publish(BLOG, TEXT, forward=forward_of(GOV, original.message_id))
    await app.publish(MEDIA, "Перепост: " + TEXT, forward=forward_of(GOV, original.message_id))
    assert (await app.dispatcher.run_once()).sent == 0
    await duplicate_edit_job(app.services.editor)
    assert len(app.sink.delivered) == 1  # no second message
    edited = app.sink.text(message_id)
    assert "also posted by (2): Milblog, Newsdesk" in edited
    merged = await app.store.alerts.listing(AlertFilter(statuses=(AlertStatus.SUPPRESSED,)))
    assert len(merged) == 2
    await duplicate_edit_job(app.services.editor)
    assert len(app.sink.edits) == 1  # the request was used up


async def test_near_identical_reposts_without_forward_are_merged(app: App) -> None:
    await app.publish(GOV, TEXT)
    await app.dispatcher.run_once()
    await app.publish(BLOG, "⚡️ " + TEXT + "\nПодписывайтесь: @milblog")
    await app.dispatcher.run_once()
    await duplicate_edit_job(app.services.editor)
    assert len(app.sink.delivered) == 1
    assert "also posted by (1): Milblog" in app.sink.text(max(app.sink.messages))


async def test_copies_arriving_before_the_first_send_go_out_as_one_message(app: App) -> None:
    original = app.post(GOV, TEXT)
    copy = app.post(BLOG, TEXT, forward=forward_of(GOV, original.message_id))
    await app.pipeline.ingest([original, copy])
    await app.dispatcher.run_once()
    assert len(app.sink.delivered) == 1
    assert app.sink.delivered[0].data["copies"] == [{"channel": "Milblog", "link": "https://t.me/milblog/3"}]
    await duplicate_edit_job(app.services.editor)
    assert len(app.sink.edits) <= 1  # at most a no-op re-render


async def test_a_copy_after_the_window_raises_its_own_alert(app: App) -> None:
    await app.publish(GOV, TEXT)
    await app.dispatcher.run_once()
    app.clock.advance(61 * 60)  # dedup_window_minutes = 60
    await app.publish(BLOG, TEXT)
    assert (await app.dispatcher.run_once()).sent == 1
    assert len(app.sink.delivered) == 2


async def test_a_copy_inside_the_window_is_merged(app: App) -> None:
    await app.publish(GOV, TEXT)
    await app.dispatcher.run_once()
    app.clock.advance(59 * 60)
    await app.publish(BLOG, TEXT)
    assert (await app.dispatcher.run_once()).sent == 0


async def test_a_muted_first_copy_does_not_swallow_the_copy_from_an_unmuted_channel(app: App) -> None:
    await app.publish(BLOG, "тишина")
    await app.chat.say("/mute @milblog 1h")
    await app.publish(BLOG, TEXT)
    await app.publish(GOV, TEXT)
    assert (await app.dispatcher.run_once()).sent == 1
    assert "Губернатор" in app.sink.delivered[0].plain


async def test_different_posts_in_different_channels_are_not_merged(app: App) -> None:
    await app.publish(GOV, "Обстрел окраин Суджи продолжается уже третий час подряд без перерыва")
    await app.publish(BLOG, "Обстрел Белгорода: сбиты две ракеты над городом, пострадавших нет по данным")
    assert (await app.dispatcher.run_once()).sent == 2


async def test_the_same_channel_reposting_its_own_text_is_not_deduplicated(app: App) -> None:
    await app.publish(GOV, TEXT)
    await app.publish(GOV, TEXT)
    assert (await app.dispatcher.run_once()).sent == 2


async def test_an_edit_request_waits_while_the_alert_is_rate_limited(app: App) -> None:
    original = await app.publish(GOV, TEXT)
    await app.dispatcher.run_once()
    await app.publish(BLOG, TEXT, forward=forward_of(GOV, original.message_id))
    app.sink.flood(5)
    report = await app.services.editor.run_once()
    assert report.edited == 0
    report = await app.services.editor.run_once()
    assert report.edited == 1
    assert "Milblog" in app.sink.text(max(app.sink.messages))
