"""TelethonGateway.send builds the real TL request: fixed random_id, HTML entities, inline review buttons."""

from __future__ import annotations

from typing import Any

import pytest
from telethon import TelegramClient
from telethon import errors as tg
from telethon.tl import functions, types

from bot.domain.errors import RateLimited
from bot.telegram.gateway import TelethonGateway


class RecordingClient(TelegramClient):  # type: ignore[misc]
    """A real TelegramClient that never connects: requests are recorded and answered locally."""

    def __init__(self, answer: Any = None, error: Exception | None = None) -> None:
        super().__init__(None, 1, "1")
        self.requests: list[Any] = []
        self.answer = answer
        self.error = error

    async def get_input_entity(self, peer: Any) -> Any:
        return types.InputPeerChat(chat_id=abs(int(peer))) if isinstance(peer, int) else types.InputPeerSelf()

    async def __call__(self, request: Any, ordered: bool = False, flood_sleep_threshold: Any = None) -> Any:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return self.answer


def sent(message_id: int, random_id: int) -> types.Updates:
    return types.Updates(
        updates=[types.UpdateMessageID(id=message_id, random_id=random_id)],
        users=[],
        chats=[],
        date=None,
        seq=0,
    )


async def test_a_bot_send_carries_random_id_entities_and_an_inline_keyboard() -> None:
    client = RecordingClient(answer=sent(77, 12345))
    gateway = TelethonGateway(client, is_bot=True)
    result = await gateway.send(
        "-100200",
        "<b>CRITICAL</b> · <u>эвакуация</u>",
        random_id=12345,
        buttons=(("ok", "rv:1:relevant"),) * 3,
    )
    assert result.message_id == 77
    [request] = client.requests
    assert isinstance(request, functions.messages.SendMessageRequest)
    assert request.random_id == 12345
    assert request.message == "CRITICAL · эвакуация"
    assert {type(e) for e in request.entities} == {types.MessageEntityBold, types.MessageEntityUnderline}
    rows = request.reply_markup.rows
    assert [len(r.buttons) for r in rows] == [2, 1]
    assert rows[0].buttons[0].type.data == b"rv:1:relevant"


async def test_a_user_account_sends_without_buttons() -> None:
    client = RecordingClient(answer=sent(5, 9))
    await TelethonGateway(client).send("me", "hi", random_id=9, buttons=(("ok", "x"),))
    assert client.requests[0].reply_markup is None


async def test_a_resend_with_a_used_random_id_counts_as_delivered() -> None:
    client = RecordingClient(error=tg.RandomIdDuplicateError(request=None))
    result = await TelethonGateway(client, is_bot=True).send("me", "hi", random_id=1)
    assert result.message_id == 0


async def test_a_flood_wait_on_send_becomes_rate_limited_with_its_seconds() -> None:
    client = RecordingClient(error=tg.FloodWaitError(request=None, capture=42))
    with pytest.raises(RateLimited) as caught:
        await TelethonGateway(client, is_bot=True).send("me", "hi", random_id=1)
    assert caught.value.retry_after == 42
