"""Review and mute buttons under alerts, and next/previous buttons under paged replies."""

from __future__ import annotations

from bot.domain.models import AlertStatus
from storage.alerts import AlertFilter
from tests.chat.conftest import BLOG, GOV, App
from tests.chat_fakes import STRANGER


async def alert_message(app: App, text: str = "Начался обстрел окраин") -> int:
    """Publish a matching post, dispatch it, and return the chat message id of its alert."""
    await app.publish(GOV, text)
    await app.dispatcher.run_once()
    app.chat.adopt(app.sink)
    return max(app.sink.messages)


async def test_every_alert_carries_the_four_review_buttons(app: App) -> None:
    message_id = await alert_message(app)
    alert_id = (await app.store.alerts.listing())[0]["id"]
    assert [d for _, d in app.sink.messages[message_id].buttons] == [
        f"rv:{alert_id}:relevant",
        f"rv:{alert_id}:false_positive",
        f"mr:{alert_id}:1h",
        f"mc:{alert_id}:1h",
    ]


async def test_relevant_is_stored_with_who_and_when_and_shown_on_the_alert(app: App) -> None:
    message_id = await alert_message(app)
    alert_id = (await app.store.alerts.listing())[0]["id"]
    answer = await app.chat.press(message_id, f"rv:{alert_id}:relevant")
    assert answer.toast == "✅ marked relevant"
    rows = await app.store.alerts.listing(AlertFilter(review="relevant"))
    assert [(r["id"], r["reviewed_by"]) for r in rows] == [(alert_id, "@alice")]
    info = await app.services.control.ctx.repo.alert_info(alert_id)
    assert info is not None
    assert info.review == "relevant"
    assert "✅ relevant — marked by @alice" in app.chat.messages[message_id].text
    assert app.chat.messages[message_id].buttons  # the buttons stay for a change of mind


async def test_false_positive_lowers_the_rules_precision_in_stats(app: App) -> None:
    first = await alert_message(app, "обстрел первый")
    second = await alert_message(app, "обстрел второй")
    ids = sorted(r["id"] for r in await app.store.alerts.listing())
    await app.chat.press(first, f"rv:{ids[0]}:relevant")
    await app.chat.press(second, f"rv:{ids[1]}:false_positive")
    precision = {p.rule: p.precision for p in await app.store.alerts.precision_by_rule()}
    assert precision == {"shelling": 0.5}
    assert "shelling: 50%" in await app.chat.say_one("/stats")


async def test_a_stranger_pressing_a_button_changes_nothing(app: App) -> None:
    message_id = await alert_message(app)
    alert_id = (await app.store.alerts.listing())[0]["id"]
    answer = await app.chat.press(message_id, f"rv:{alert_id}:relevant", user=STRANGER)
    assert answer.toast == ""
    assert answer.edit is None
    assert await app.store.alerts.listing(AlertFilter(review="relevant")) == []
    await app.chat.press(message_id, f"mr:{alert_id}:1h", user=STRANGER)
    assert await app.services.mutes.active(app.clock.now()) == []


async def test_mute_rule_button_suppresses_the_rule_for_an_hour_then_it_alerts_again(app: App) -> None:
    message_id = await alert_message(app)
    alert_id = (await app.store.alerts.listing())[0]["id"]
    answer = await app.chat.press(message_id, f"mr:{alert_id}:1h")
    assert "Rule shelling muted for 1h (until 07.08 14:00)" in answer.toast
    await app.publish(BLOG, "снова обстрел")
    assert (await app.dispatcher.run_once()).sent == 0
    suppressed = await app.store.alerts.listing(AlertFilter(statuses=(AlertStatus.SUPPRESSED,)))
    assert len(suppressed) == 1  # kept, not lost: visible in `alerts list --state suppressed`
    app.clock.advance(3601)
    await app.publish(BLOG, "и ещё обстрел")
    assert (await app.dispatcher.run_once()).sent == 1


async def test_mute_channel_button_silences_only_that_channel(app: App) -> None:
    message_id = await alert_message(app)
    alert_id = (await app.store.alerts.listing())[0]["id"]
    answer = await app.chat.press(message_id, f"mc:{alert_id}:1h")
    assert "Губернатор muted for 1h" in answer.toast
    await app.publish(GOV, "обстрел опять")
    await app.publish(BLOG, "у нас обстрел")
    result = await app.dispatcher.run_once()
    assert result.sent == 1
    assert "у нас [обстрел]" in app.sink.delivered[-1].plain


async def test_buttons_of_an_alert_that_no_longer_exists(app: App) -> None:
    message_id = await alert_message(app)
    app.chat.messages[message_id].buttons = (("✅", "rv:999:relevant"),)
    answer = await app.chat.press(message_id, "rv:999:relevant")
    assert answer.toast == "This alert no longer exists."
    assert answer.alert


async def test_next_and_prev_buttons_walk_the_pages(app: App) -> None:
    for i in range(40):
        await app.publish(GOV, f"обстрел {i} " + "текст " * 40)
    reply = (await app.chat.say("/recent"))[0]
    message_id = app.chat.last_id()
    assert "page 1/2" in reply.text
    await app.chat.press(message_id, reply.buttons[0][1])
    second = app.chat.messages[message_id]
    assert "page 2/2" in second.text
    assert [label for label, _ in second.buttons] == ["‹ prev"]
    await app.chat.press(message_id, second.buttons[0][1])
    assert "page 1/2" in app.chat.messages[message_id].text


async def test_page_buttons_of_a_forgotten_listing_say_so(app: App) -> None:
    for i in range(40):
        await app.publish(GOV, f"обстрел {i} " + "текст " * 40)
    reply = (await app.chat.say("/recent"))[0]
    message_id = app.chat.last_id()
    app.services.control.ctx.pages._pages.clear()  # a restart forgets listings
    answer = await app.chat.press(message_id, reply.buttons[0][1])
    assert "expired" in answer.toast
    assert answer.edit is None
