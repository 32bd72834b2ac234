"""Telethon Message.to_dict() dumps, built from real Telethon objects and read without Telethon."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telethon.tl import types

from bot.domain.models import ChannelRef, ForwardOrigin, Media, Post, TextEntity
from bot.sources import BadRecord, open_source
from bot.sources.telethon_dump import entity_kind

WHEN = datetime(2024, 8, 7, 6, 30, tzinfo=UTC)


def tl_message(id: int, text: str = "", **fields: Any) -> types.Message:
    return types.Message(id=id, peer_id=types.PeerChannel(1234), date=WHEN, message=text, post=True, **fields)


def dump(tmp_path: Path, messages: list[Any], *, lines: bool = False) -> Path:
    dicts = [m.to_dict() if isinstance(m, types.TLObject) else m for m in messages]
    path = tmp_path / ("dump.jsonl" if lines else "dump.json")
    if lines:
        path.write_text("".join(json.dumps(d, default=str) + "\n" for d in dicts), encoding="utf-8")
    else:
        path.write_text(json.dumps(dicts, default=str), encoding="utf-8")
    return path


def test_a_real_to_dict_dump_reads_back_every_field(tmp_path: Path) -> None:
    text = "Эвакуация: 😀 https://t.me/x подробнее"
    msg = tl_message(
        5,
        text,
        entities=[
            types.MessageEntityBold(offset=0, length=9),
            types.MessageEntityUrl(offset=14, length=14),
            types.MessageEntityTextUrl(offset=29, length=9, url="https://example.org"),
        ],
        media=types.MessageMediaPhoto(photo=types.PhotoEmpty(id=1)),
        fwd_from=types.MessageFwdHeader(
            date=WHEN, from_id=types.PeerChannel(555), channel_post=77, from_name=None
        ),
        reply_to=types.MessageReplyHeader(reply_to_msg_id=3),
        grouped_id=9001,
        views=100,
        forwards=2,
        edit_date=datetime(2024, 8, 7, 7, 0, tzinfo=UTC),
        post_author="Пресс-служба",
    )
    source = open_source(dump(tmp_path, [msg]))
    assert source.format == "telethon"
    [post] = list(source)
    assert post == Post(
        channel=ChannelRef(tg_id=1234),
        message_id=5,
        date=WHEN,
        text=text,
        entities=(
            TextEntity("bold", 0, 9),
            TextEntity("url", 14, 14, "https://t.me/x"),
            TextEntity("text_link", 29, 9, "https://example.org"),
        ),
        media=(Media("photo"),),
        forward=ForwardOrigin(channel_tg_id=555, message_id=77, date=WHEN),
        reply_to=3,
        grouped_id=9001,
        views=100,
        forwards=2,
        edit_date=datetime(2024, 8, 7, 7, 0, tzinfo=UTC),
        author="Пресс-служба",
    )


def test_documents_are_told_apart_by_their_attributes(tmp_path: Path) -> None:
    def doc(mime: str, *attributes: Any) -> types.MessageMediaDocument:
        return types.MessageMediaDocument(
            document=types.Document(
                id=1,
                access_hash=2,
                file_reference=b"",
                date=WHEN,
                mime_type=mime,
                size=42,
                dc_id=2,
                attributes=list(attributes),
            )
        )

    messages = [
        tl_message(1, media=doc("video/mp4", types.DocumentAttributeVideo(duration=1, w=1, h=1))),
        tl_message(2, media=doc("audio/ogg", types.DocumentAttributeAudio(duration=1, voice=True))),
        tl_message(3, media=doc("audio/mpeg", types.DocumentAttributeAudio(duration=1))),
        tl_message(
            4,
            media=doc(
                "image/webp",
                types.DocumentAttributeSticker(alt="🙂", stickerset=types.InputStickerSetEmpty()),
            ),
        ),
        tl_message(5, media=doc("application/pdf", types.DocumentAttributeFilename(file_name="report.pdf"))),
        tl_message(6, media=types.MessageMediaGeo(geo=types.GeoPoint(long=35.3, lat=51.2, access_hash=0))),
        tl_message(7, media=types.MessageMediaUnsupported()),
    ]
    posts = list(open_source(dump(tmp_path, messages)))
    assert [p.media for p in posts] == [  # type: ignore[union-attr]
        (Media("video", mime_type="video/mp4", size=42),),
        (Media("voice", mime_type="audio/ogg", size=42),),
        (Media("audio", mime_type="audio/mpeg", size=42),),
        (Media("sticker", mime_type="image/webp", size=42),),
        (Media("document", "report.pdf", "application/pdf", 42),),
        (Media("geo"),),
        (Media("other"),),
    ]


def test_service_messages_are_marked_and_album_parts_keep_grouped_id(tmp_path: Path) -> None:
    service = types.MessageService(
        id=1, peer_id=types.PeerChannel(1234), date=WHEN, action=types.MessageActionChannelCreate(title="T")
    )
    album = [tl_message(n, "Фото" if n == 2 else "", grouped_id=77) for n in (2, 3)]
    items = list(open_source(dump(tmp_path, [service, *album], lines=True)))
    assert [(p.message_id, p.is_service, p.grouped_id) for p in items] == [  # type: ignore[union-attr]
        (1, True, None),
        (2, False, 77),
        (3, False, 77),
    ]


def test_datetime_reprs_and_iso_strings_are_both_dates(tmp_path: Path) -> None:
    base = {"_": "Message", "id": 1, "peer_id": {"_": "PeerChannel", "channel_id": 9}, "message": "x"}
    records = [
        {**base, "date": "datetime.datetime(2024, 8, 7, 6, 30, tzinfo=datetime.timezone.utc)"},
        {**base, "id": 2, "date": "2024-08-07T06:30:00+00:00"},
        {**base, "id": 3, "date": "2024-08-07 09:30:00+03:00"},
    ]
    assert {p.date for p in open_source(dump(tmp_path, records))} == {WHEN}  # type: ignore[union-attr]


def test_malformed_dicts_are_bad_records_and_the_rest_is_read(tmp_path: Path) -> None:
    base = {
        "_": "Message",
        "date": "2024-08-07T06:30:00+00:00",
        "peer_id": {"_": "PeerChannel", "channel_id": 9},
    }
    records = [
        {**base, "id": 1},
        {**base, "_": "MessageEmpty", "id": 2},
        {**base, "id": 3, "peer_id": None},
        {**base, "id": 4, "peer_id": {"_": "PeerNowhere"}},
        {"_": "Message", "id": 5, "peer_id": base["peer_id"]},
        {**base, "id": 6, "entities": [{"_": "MessageEntityBold", "offset": "x", "length": 1}]},
        {**base, "id": 7},
    ]
    items = list(open_source(dump(tmp_path, records)))
    assert [i.message_id for i in items if isinstance(i, Post)] == [1, 7]
    bad = [i for i in items if isinstance(i, BadRecord)]
    assert [b.position for b in bad] == ["item[1]", "item[2]", "item[3]", "item[4]", "item[5]"]
    assert "not Message or MessageService" in bad[0].reason
    assert "'peer_id' must be a Peer" in bad[1].reason
    assert "missing 'date'" in bad[3].reason


def test_tl_entity_names_become_bot_api_kinds() -> None:
    assert entity_kind("MessageEntityTextUrl") == "text_link"
    assert entity_kind("MessageEntityBotCommand") == "bot_command"
    assert entity_kind("MessageEntityStrike") == "strikethrough"
    assert entity_kind("InputMessageEntityMentionName") == "mention_name"
    assert entity_kind("MessageEntityBlockquote") == "blockquote"
