"""Real Telethon TL messages and updates convert into our Post / PostUpdate faithfully."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from telethon import events
from telethon.tl import types

from bot.domain.media import FILE_KINDS
from bot.domain.models import ChannelRef, ForwardOrigin, Media
from bot.domain.ports import ResolvedChannel
from bot.telegram.convert import (
    post_from_message,
    resolved_from_chat,
    update_from_raw,
    utf16_slice,
)
from bot.telegram.gateway import TelethonGateway
from tests.telegram.test_gateway_send import RecordingClient

WHEN = dt.datetime(2024, 8, 7, 6, 30, tzinfo=dt.UTC)
CHANNEL = 1234


def message(**fields: Any) -> types.Message:
    base: dict[str, Any] = {
        "id": 5,
        "peer_id": types.PeerChannel(CHANNEL),
        "date": WHEN,
        "message": "Несколько тысяч жителей эвакуированы из Суджи",
        "post": True,
    }
    base.update(fields)
    return types.Message(**base)


def document(*attributes: Any, mime: str = "application/octet-stream", size: int = 10) -> Any:
    return types.MessageMediaDocument(
        document=types.Document(
            id=1,
            access_hash=2,
            file_reference=b"",
            date=WHEN,
            mime_type=mime,
            size=size,
            dc_id=2,
            attributes=list(attributes),
        )
    )


def test_plain_post_keeps_text_date_counters_and_author() -> None:
    post = post_from_message(message(views=100, forwards=2, post_author="Ivan"))
    assert post is not None
    assert post.channel == ChannelRef(tg_id=CHANNEL)
    assert (post.message_id, post.date, post.views, post.forwards, post.author) == (5, WHEN, 100, 2, "Ivan")
    assert post.text.startswith("Несколько тысяч")
    assert not post.is_service
    assert post.media == ()
    assert post.forward is None


def test_naive_dates_are_taken_as_utc() -> None:
    post = post_from_message(message(date=WHEN.replace(tzinfo=None), edit_date=dt.datetime(2024, 8, 7, 7)))
    assert post is not None
    assert post.date.tzinfo is not None
    assert post.edit_date == dt.datetime(2024, 8, 7, 7, tzinfo=dt.UTC)


def test_entities_keep_utf16_offsets_and_urls() -> None:
    text = "🔥 Суджа: https://t.me/x и подробнее"
    url_offset = len("🔥 Суджа: ".encode("utf-16-le")) // 2
    entities = [
        types.MessageEntityBold(offset=0, length=2),
        types.MessageEntityUrl(offset=url_offset, length=14),
        types.MessageEntityTextUrl(offset=url_offset + 17, length=9, url="https://example.org/a"),
        types.MessageEntityHashtag(offset=0, length=1),
        types.MessageEntityStrike(offset=0, length=1),
        types.MessageEntityMentionName(offset=0, length=1, user_id=7),
    ]
    post = post_from_message(message(message=text, entities=entities))
    assert post is not None
    kinds = [e.kind for e in post.entities]
    assert kinds == ["bold", "url", "text_link", "hashtag", "strikethrough", "text_mention"]
    assert post.entities[1].url == "https://t.me/x"
    assert post.links == ("https://t.me/x", "https://example.org/a")
    assert utf16_slice(text, 0, 2) == "🔥"


@pytest.mark.parametrize(
    ("media", "expected"),
    [
        (types.MessageMediaPhoto(photo=types.PhotoEmpty(id=1)), Media(kind="photo", mime_type="image/jpeg")),
        (
            document(
                types.DocumentAttributeVideo(duration=3, w=1, h=1),
                types.DocumentAttributeFilename("clip.mp4"),
                mime="video/mp4",
            ),
            Media(kind="video", file_name="clip.mp4", mime_type="video/mp4", size=10),
        ),
        (
            document(types.DocumentAttributeVideo(duration=3, w=1, h=1, round_message=True)),
            Media(kind="video_note", mime_type="application/octet-stream", size=10),
        ),
        (
            document(types.DocumentAttributeAudio(duration=3, voice=True)),
            Media(kind="voice", mime_type="application/octet-stream", size=10),
        ),
        (
            document(types.DocumentAttributeAudio(duration=3, title="song")),
            Media(kind="audio", mime_type="application/octet-stream", size=10),
        ),
        (
            document(types.DocumentAttributeSticker(alt="x", stickerset=types.InputStickerSetEmpty())),
            Media(kind="sticker", mime_type="application/octet-stream", size=10),
        ),
        (
            document(types.DocumentAttributeAnimated(), types.DocumentAttributeVideo(duration=1, w=1, h=1)),
            Media(kind="animation", mime_type="application/octet-stream", size=10),
        ),
        (
            document(types.DocumentAttributeFilename("report.pdf"), mime="application/pdf", size=99),
            Media(kind="document", file_name="report.pdf", mime_type="application/pdf", size=99),
        ),
        (
            types.MessageMediaPoll(
                poll=types.Poll(id=1, question=types.TextWithEntities("q?", []), answers=[], hash=0),
                results=types.PollResults(),
            ),
            Media(kind="poll"),
        ),
        (types.MessageMediaGeo(geo=types.GeoPoint(long=35.3, lat=51.2, access_hash=0)), Media(kind="geo")),
        (types.MessageMediaWebPage(webpage=types.WebPageEmpty(id=1)), Media(kind="webpage")),
        (
            types.MessageMediaContact(phone_number="1", first_name="a", last_name="b", vcard="", user_id=1),
            Media(kind="contact"),
        ),
        (types.MessageMediaDice(value=3, emoticon="🎲"), Media(kind="dice")),
        (types.MessageMediaUnsupported(), Media(kind="other")),
    ],
)
def test_every_media_kind_is_named(media: Any, expected: Media) -> None:
    post = post_from_message(message(media=media))
    assert post is not None
    assert tuple(replace(m, file_ref=None) for m in post.media) == (expected,)
    if (
        expected.kind in FILE_KINDS and expected.size is not None
    ):  # a real file (not PhotoEmpty): its id dedups reposts
        assert post.media[0].file_ref is not None


def test_photo_size_is_the_largest_rendition() -> None:
    photo = types.Photo(
        id=1,
        access_hash=1,
        file_reference=b"",
        date=WHEN,
        sizes=[
            types.PhotoSize(type="m", w=1, h=1, size=300),
            types.PhotoSizeProgressive(type="y", w=2, h=2, sizes=[100, 900, 2000]),
        ],
        dc_id=2,
    )
    post = post_from_message(message(media=types.MessageMediaPhoto(photo=photo)))
    assert post is not None
    assert post.media[0].size == 2000


def test_forward_from_a_channel_keeps_its_origin() -> None:
    header = types.MessageFwdHeader(
        date=WHEN, from_id=types.PeerChannel(99), channel_post=42, post_author="ed"
    )
    post = post_from_message(message(fwd_from=header))
    assert post is not None
    assert post.forward == ForwardOrigin(channel_tg_id=99, message_id=42, name="ed", date=WHEN)
    assert post.forward.key == "99/42"


def test_forward_from_a_hidden_user_keeps_the_name() -> None:
    post = post_from_message(message(fwd_from=types.MessageFwdHeader(date=WHEN, from_name="Anon")))
    assert post is not None
    assert post.forward is not None
    assert (post.forward.channel_tg_id, post.forward.name) == (None, "Anon")


def test_reply_and_album_ids_are_kept() -> None:
    post = post_from_message(message(reply_to=types.MessageReplyHeader(reply_to_msg_id=3), grouped_id=777))
    assert post is not None
    assert (post.reply_to, post.grouped_id) == (3, 777)


@pytest.mark.parametrize(
    ("action", "text"),
    [
        (types.MessageActionChatEditTitle(title="Новое имя"), "title changed to «Новое имя»"),
        (types.MessageActionPinMessage(), "message pinned"),
        (types.MessageActionChannelCreate(title="x"), "channel created"),
        (types.MessageActionSetMessagesTTL(period=60), "set messages t t l"),
    ],
)
def test_service_messages_become_service_posts(action: Any, text: str) -> None:
    service = types.MessageService(id=9, peer_id=types.PeerChannel(CHANNEL), date=WHEN, action=action)
    post = post_from_message(service)
    assert post is not None
    assert post.is_service
    assert post.text == text
    assert post.message_id == 9


def test_non_channel_and_empty_messages_are_skipped() -> None:
    assert post_from_message(message(peer_id=types.PeerUser(1))) is None
    assert post_from_message(types.MessageEmpty(id=1, peer_id=types.PeerChannel(CHANNEL))) is None


def test_a_known_channel_ref_is_used_for_the_post() -> None:
    ref = ChannelRef(tg_id=CHANNEL, username="rybar", title="Рыбарь")
    post = post_from_message(message(), ref)
    assert post is not None
    assert post.channel == ref


def test_raw_updates_become_post_updates_like_telethon_events_see_them() -> None:
    msg = message()
    new_update = types.UpdateNewChannelMessage(message=msg, pts=1, pts_count=1)
    edit_update = types.UpdateEditChannelMessage(message=message(edit_date=WHEN), pts=2, pts_count=1)
    delete_update = types.UpdateDeleteChannelMessages(channel_id=CHANNEL, messages=[5, 6], pts=3, pts_count=1)
    known = {CHANNEL: ChannelRef(tg_id=CHANNEL, username="rybar")}

    new = update_from_raw(new_update, known)
    assert new is not None
    assert new.kind == "new"
    assert new.posts[0].channel.username == "rybar"
    assert events.NewMessage().build(new_update).message.raw_text == new.posts[0].text

    edited = update_from_raw(edit_update)
    assert edited is not None
    assert edited.kind == "edited"
    assert edited.posts[0].edit_date == WHEN

    deleted = update_from_raw(delete_update)
    assert deleted is not None
    built = events.MessageDeleted().build(delete_update)
    assert (deleted.kind, deleted.channel_tg_id, list(deleted.deleted_ids)) == (
        "deleted",
        CHANNEL,
        built.deleted_ids,
    )


def test_service_message_update_is_a_new_post() -> None:
    service = types.MessageService(
        id=10, peer_id=types.PeerChannel(CHANNEL), date=WHEN, action=types.MessageActionPinMessage()
    )
    update = update_from_raw(types.UpdateNewChannelMessage(message=service, pts=1, pts_count=1))
    assert update is not None
    assert update.posts[0].is_service


def test_unrelated_updates_are_ignored() -> None:
    assert update_from_raw(types.UpdateDeleteMessages(messages=[1], pts=1, pts_count=1)) is None
    private = types.UpdateNewMessage(message=message(peer_id=types.PeerUser(1)), pts=1, pts_count=1)
    assert update_from_raw(private) is None


def test_channel_entity_becomes_resolved_channel() -> None:
    chat = types.Channel(
        id=CHANNEL,
        title="Рыбарь",
        photo=types.ChatPhotoEmpty(),
        date=WHEN,
        access_hash=555,
        username="rybar",
        broadcast=True,
        left=True,
    )
    resolved = resolved_from_chat(chat)
    assert (resolved.tg_id, resolved.username, resolved.access_hash) == (CHANNEL, "rybar", 555)
    assert not resolved.joined
    assert resolved.broadcast
    collectible = types.Channel(
        id=1,
        title="t",
        photo=types.ChatPhotoEmpty(),
        date=WHEN,
        usernames=[types.Username("old", active=False), types.Username("new", active=True)],
    )
    assert resolved_from_chat(collectible).username == "new"
    assert resolved_from_chat(collectible).joined


def _unconvertible(message_id: int) -> types.Message:
    """A message our converter chokes on (an entity without an offset stands in for any converter bug)."""
    return message(id=message_id, entities=[types.MessageEntityUrl(offset=None, length=5)])


def test_a_message_the_converter_cannot_handle_is_kept_with_its_text_not_raised() -> None:
    post = post_from_message(_unconvertible(9))
    assert post is not None
    assert (post.message_id, post.text, post.entities) == (9, message().message, ())
    update = update_from_raw(types.UpdateNewChannelMessage(message=_unconvertible(9), pts=1, pts_count=1))
    assert update is not None
    assert [p.message_id for p in update.posts] == [9]


async def test_a_history_page_with_an_unconvertible_message_returns_every_post() -> None:
    page = types.messages.Messages(messages=[_unconvertible(9), message(id=8)], topics=[], chats=[], users=[])
    gateway = TelethonGateway(RecordingClient(answer=page))
    posts = await gateway.history(ResolvedChannel(CHANNEL, "chan", "Chan", 1, True), after_id=7)
    assert [p.message_id for p in posts] == [8, 9]
