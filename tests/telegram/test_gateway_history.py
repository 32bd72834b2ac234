"""TelethonGateway.recent, which the re-check pages with: the real GetHistory request, newest first,
service messages kept (their ids are not "missing"), empty messages dropped."""

from __future__ import annotations

from datetime import UTC, datetime

from telethon.tl import functions, types
from telethon.tl.types.messages import ChannelMessages

from bot.domain.ports import ResolvedChannel
from bot.telegram.gateway import TelethonGateway
from tests.telegram.test_gateway_send import RecordingClient

CHANNEL = ResolvedChannel(tg_id=1234, username="alpha", title="Alpha", access_hash=99, joined=True)
WHEN = datetime(2024, 8, 7, 6, 30, tzinfo=UTC)


def answer(*messages: types.TypeMessage) -> ChannelMessages:
    return ChannelMessages(pts=1, count=len(messages), messages=list(messages), topics=[], chats=[], users=[])


async def test_a_window_page_asks_for_posts_below_an_id_and_keeps_service_messages() -> None:
    peer = types.PeerChannel(1234)
    client = RecordingClient(
        answer=answer(
            types.Message(id=500, peer_id=peer, date=WHEN, message="newest", post=True, edit_date=WHEN),
            types.MessageService(id=499, peer_id=peer, date=WHEN, action=types.MessageActionPinMessage()),
            types.MessageEmpty(id=498, peer_id=peer),
            types.Message(id=497, peer_id=peer, date=WHEN, message="older", post=True),
        )
    )
    gateway = TelethonGateway(client)
    posts = await gateway.recent(CHANNEL, before_id=501, limit=100)
    [request] = client.requests
    assert isinstance(request, functions.messages.GetHistoryRequest)
    assert (request.offset_id, request.limit, request.add_offset, request.min_id, request.max_id) == (
        501,
        100,
        0,
        0,
        0,
    )
    assert [(p.message_id, p.is_service) for p in posts] == [(500, False), (499, True), (497, False)]
    assert posts[0].edit_date == WHEN
    assert gateway.requests.counts == {"recent": 1}
