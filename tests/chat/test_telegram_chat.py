"""The Telethon adapter of chat control, fed real Telethon events built offline from TL objects."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

import pytest
from telethon import errors as tg
from telethon import events, functions
from telethon.tl import types

from bot.alerts.sinks.telegram import TelegramSink
from bot.chat.models import Reply
from bot.domain.errors import DeliveryFailed, RateLimited
from bot.domain.ports import EditableSink, OutgoingAlert
from bot.telegram.chat import (
    TelegramChat,
    command_from_event,
    inline_markup,
    press_from_event,
)
from tests.chat.conftest import GOV, App
from tests.chat_fakes import ADMIN, STRANGER
from tests.fakes import FakeTelegram

WHEN = datetime.datetime(2024, 8, 7, 10, 0, tzinfo=datetime.UTC)


def group_message(text: str, user: int = ADMIN, msg_id: int = 5) -> Any:
    msg = types.Message(
        id=msg_id, peer_id=types.PeerChannel(1500), from_id=types.PeerUser(user), date=WHEN, message=text
    )
    return events.NewMessage().build(types.UpdateNewChannelMessage(message=msg, pts=1, pts_count=1))


def private_message(text: str, user: int = ADMIN) -> Any:
    msg = types.Message(id=6, peer_id=types.PeerUser(user), date=WHEN, message=text)
    return events.NewMessage().build(types.UpdateNewMessage(message=msg, pts=1, pts_count=1))


def button_press(data: str, user: int = ADMIN, msg_id: int = 9) -> Any:
    update = types.UpdateBotCallbackQuery(
        query_id=77,
        user_id=user,
        peer=types.PeerChannel(1500),
        msg_id=msg_id,
        chat_instance=1,
        data=data.encode(),
    )
    return events.CallbackQuery().build(update)


@dataclass
class RecordingClient:
    """Stands in for a connected TelegramClient: records the high-level calls and raw requests."""

    sent: list[tuple[Any, str, dict[str, Any]]] = field(default_factory=list)
    edited: list[tuple[Any, int, str, dict[str, Any]]] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)
    handlers: list[tuple[Any, Any]] = field(default_factory=list)
    edit_error: Exception | None = None

    async def send_message(self, entity: Any, message: str, **kwargs: Any) -> Any:
        self.sent.append((entity, message, kwargs))
        return types.Message(
            id=100 + len(self.sent), peer_id=types.PeerChannel(1500), date=WHEN, message=message
        )

    async def edit_message(self, entity: Any, message: int, text: str, **kwargs: Any) -> Any:
        if self.edit_error is not None:
            raise self.edit_error
        self.edited.append((entity, message, text, kwargs))
        return None

    async def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        return True

    def add_event_handler(self, callback: Any, event: Any) -> None:
        self.handlers.append((callback, event))


def test_a_group_command_becomes_a_command_with_chat_and_sender() -> None:
    cmd = command_from_event(group_message("/stats@telewatch_bot"))
    assert cmd is not None
    assert (cmd.chat_id, cmd.user_id, cmd.text, cmd.message_id, cmd.private) == (
        -1000000001500,
        ADMIN,
        "/stats@telewatch_bot",
        5,
        False,
    )


def test_a_private_command_is_marked_private_and_plain_text_is_not_a_command() -> None:
    cmd = command_from_event(private_message("/help"))
    assert cmd is not None
    assert cmd.private
    assert cmd.chat_id == ADMIN
    assert command_from_event(private_message("hello")) is None


def test_a_callback_query_becomes_a_button_press() -> None:
    press = press_from_event(button_press("rv:3:relevant"))
    assert (press.chat_id, press.user_id, press.message_id, press.data) == (
        -1000000001500,
        ADMIN,
        9,
        "rv:3:relevant",
    )


def _data(button: Any) -> bytes:
    """Callback data of an inline button, whichever TL layer built it."""
    return bytes(getattr(button, "data", None) or button.type.data)


def test_buttons_become_inline_keyboard_rows_of_two() -> None:
    markup = inline_markup([("a", "rv:1:relevant"), ("b", "rv:1:false_positive"), ("c", "mr:1:1h")])
    assert isinstance(markup, types.ReplyInlineMarkup)
    assert [[_data(b) for b in row.buttons] for row in markup.rows] == [
        [b"rv:1:relevant", b"rv:1:false_positive"],
        [b"mr:1:1h"],
    ]
    assert inline_markup([]) is None


async def test_a_command_is_answered_in_its_chat_as_a_reply_with_html_entities(app: App) -> None:
    client = RecordingClient()
    chat = TelegramChat(client, app.services.control)  # type: ignore[arg-type]
    chat.attach()
    assert len(client.handlers) == 2
    await chat.on_message(group_message("/help"))
    [(entity, text, kwargs)] = client.sent
    assert entity == -1000000001500
    assert kwargs["reply_to"] == 5
    assert text.startswith("telewatch commands")
    assert any(isinstance(e, types.MessageEntityBold) for e in kwargs["formatting_entities"])


async def test_a_strangers_command_sends_nothing(app: App) -> None:
    client = RecordingClient()
    await TelegramChat(client, app.services.control).on_message(group_message("/help", user=STRANGER))  # type: ignore[arg-type]
    assert client.sent == []


async def test_a_button_press_edits_the_message_and_answers_the_query(app: App) -> None:
    await app.publish(GOV, "обстрел")
    await app.dispatcher.run_once()
    alert_id = (await app.store.alerts.listing())[0]["id"]
    client = RecordingClient()
    await TelegramChat(client, app.services.control).on_callback(button_press(f"rv:{alert_id}:relevant"))  # type: ignore[arg-type]
    [(entity, message_id, text, kwargs)] = client.edited
    assert (entity, message_id) == (-1000000001500, 9)
    assert "✅ relevant — marked by user 111" in text  # no user entity in the update: the id names them
    assert isinstance(kwargs["buttons"], types.ReplyInlineMarkup)
    [answer] = client.requests
    assert isinstance(answer, functions.messages.SetBotCallbackAnswerRequest)
    assert answer.query_id == 77
    assert answer.message == "✅ marked relevant"


async def test_an_unauthorised_press_only_stops_the_spinner(app: App) -> None:
    client = RecordingClient()
    await TelegramChat(client, app.services.control).on_callback(button_press("rv:1:relevant", user=STRANGER))  # type: ignore[arg-type]
    assert client.edited == []
    [answer] = client.requests
    assert answer.message is None


async def test_an_unchanged_edit_is_not_an_error() -> None:
    client = RecordingClient(edit_error=tg.MessageNotModifiedError(request=None))
    chat = TelegramChat(client, None)  # type: ignore[arg-type]
    await chat.edit("-1001500", 3, Reply("<b>same</b>"))


async def test_the_editable_sink_sends_through_the_gateway_and_edits_through_the_bot_client() -> None:
    gateway = FakeTelegram()
    await gateway.connect()
    client = RecordingClient()
    sink = TelegramSink(gateway, editor=TelegramChat(client, None))  # type: ignore[arg-type]
    assert isinstance(sink, EditableSink)
    alert = OutgoingAlert(
        "k", "plain", "<b>hi</b>", {}, target="-1001500", buttons=(("✅", "rv:1:relevant"),)
    )
    sent = await sink.deliver(alert)
    assert sent is not None
    assert sent.message_id
    await sink.edit(alert, sent.message_id)
    assert client.edited[0][:3] == (-1001500, sent.message_id, "hi")


async def test_edit_errors_are_translated_for_the_editor() -> None:
    client = RecordingClient(edit_error=tg.FloodWaitError(request=None, capture=7))
    sink = TelegramSink(FakeTelegram(), editor=TelegramChat(client, None))  # type: ignore[arg-type]
    alert = OutgoingAlert("k", "plain", "x", {}, target="-1001500")
    with pytest.raises(RateLimited) as flood:
        await sink.edit(alert, 5)
    assert flood.value.retry_after == 7
    client.edit_error = tg.MessageIdInvalidError(request=None)
    with pytest.raises(DeliveryFailed) as gone:
        await sink.edit(alert, 5)
    assert gone.value.permanent
