"""Telegram Desktop exports: text shapes, entities, edits, forwards, replies, media, service messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain.errors import SourceError
from bot.domain.models import ChannelRef, ForwardOrigin, Media, Post, TextEntity
from bot.sources import BadRecord, open_source
from bot.sources.fields import utf16_slice


def message(id: object, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": id,
        "type": "message",
        "date": "2024-08-07T09:30:00",
        "date_unixtime": "1723012200",
        "from": "Губернатор",
        "from_id": "channel4242",
        "text": "",
        "text_entities": [],
    }
    base.update(fields)
    return base


def export(tmp_path: Path, messages: list[Any], **header: Any) -> Path:
    doc = {"name": "Губернатор", "type": "public_channel", "id": 4242, **header, "messages": messages}
    path = tmp_path / "result.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def only_post(path: Path) -> Post:
    [item] = list(open_source(path))
    assert isinstance(item, Post)
    return item


def test_export_channel_comes_from_the_header_and_dates_from_unixtime(tmp_path: Path) -> None:
    source = open_source(export(tmp_path, [message(1, text="Обстрел")]))
    assert source.format == "tdesktop"
    assert source.channel == ChannelRef(tg_id=4242, title="Губернатор")
    [post] = list(source)
    assert isinstance(post, Post)
    assert post.date == datetime(2024, 8, 7, 6, 30, tzinfo=UTC)  # not the local 09:30 of "date"
    assert post.text == "Обстрел"
    assert post.author is None  # in a channel "from" is the channel itself


def test_text_as_a_list_builds_text_and_utf16_entities(tmp_path: Path) -> None:
    parts = [
        "😀 ",
        {"type": "bold", "text": "Суджа"},
        ": ",
        {"type": "text_link", "text": "подробнее", "href": "https://example.org/a"},
        " ",
        {"type": "link", "text": "https://t.me/x"},
        {"type": "plain", "text": " конец"},
    ]
    post = only_post(export(tmp_path, [message(2, text=parts)]))
    assert post.text == "😀 Суджа: подробнее https://t.me/x конец"
    assert post.entities == (
        TextEntity("bold", 3, 5),
        TextEntity("text_link", 10, 9, "https://example.org/a"),
        TextEntity("url", 20, 14, "https://t.me/x"),
    )
    assert [utf16_slice(post.text, e.offset, e.length) for e in post.entities] == [
        "Суджа",
        "подробнее",
        "https://t.me/x",
    ]


def test_string_text_takes_entities_from_text_entities_only_when_they_agree(tmp_path: Path) -> None:
    agree = [{"type": "plain", "text": "Жители "}, {"type": "italic", "text": "эвакуированы"}]
    disagree = [{"type": "bold", "text": "Other text"}]
    path = export(
        tmp_path,
        [
            message(1, text="Жители эвакуированы", text_entities=agree),
            message(2, text="Жители", text_entities=disagree),
        ],
    )
    first, second = list(open_source(path))
    assert isinstance(first, Post)
    assert isinstance(second, Post)
    assert first.entities == (TextEntity("italic", 7, 12),)
    assert second.entities == ()


def test_edited_forwarded_reply_with_author(tmp_path: Path) -> None:
    post = only_post(
        export(
            tmp_path,
            [
                message(
                    3,
                    text="Повтор",
                    edited="2024-08-07T10:00:00",
                    edited_unixtime="1723014000",
                    forwarded_from="Минобороны",
                    forwarded_from_id="channel555",
                    reply_to_message_id=1,
                    author="Пресс-служба",
                )
            ],
        )
    )
    assert post.edit_date == datetime(2024, 8, 7, 7, 0, tzinfo=UTC)
    assert post.forward == ForwardOrigin(channel_tg_id=555, name="Минобороны")
    assert post.reply_to == 1
    assert post.author == "Пресс-служба"


def test_forward_from_a_user_keeps_only_the_name(tmp_path: Path) -> None:
    post = only_post(export(tmp_path, [message(3, forwarded_from="Ivan", forwarded_from_id="user12")]))
    assert post.forward == ForwardOrigin(name="Ivan")


def test_files_the_export_does_not_ship_or_names_outside_it_are_not_linked(tmp_path: Path) -> None:
    messages = [
        message(1, photo="(File not included. Change data exporting settings to download.)"),
        message(2, file="../../etc/passwd", media_type="video_file"),
        message(3, file="/etc/passwd", media_type="video_file"),
    ]
    posts = list(open_source(export(tmp_path, messages)))
    assert [m.local_path for p in posts for m in p.media] == [None, None, None]  # type: ignore[union-attr]


def test_media_kinds_are_mapped(tmp_path: Path) -> None:
    messages = [
        message(1, photo="photos/p.jpg", photo_file_size=10, width=1, height=1),
        message(
            2, file="f.mp4", file_name="f.mp4", media_type="video_file", mime_type="video/mp4", file_size=5
        ),
        message(3, file="v.ogg", media_type="voice_message", mime_type="audio/ogg"),
        message(4, file="s.webp", media_type="sticker"),
        message(5, file="doc.pdf", file_name="doc.pdf", mime_type="application/pdf"),
        message(6, poll={"question": "?", "answers": []}),
        message(7, location_information={"latitude": 51.2, "longitude": 35.3}),
        message(8, contact_information={"first_name": "A"}),
        message(9, location_information=None),
    ]
    posts = list(open_source(export(tmp_path, messages)))
    shipped = {name: str(tmp_path / name) for name in ("photos/p.jpg", "f.mp4", "v.ogg", "s.webp", "doc.pdf")}
    assert [p.media for p in posts] == [  # type: ignore[union-attr]
        (Media("photo", size=10, local_path=shipped["photos/p.jpg"]),),
        (Media("video", "f.mp4", "video/mp4", 5, local_path=shipped["f.mp4"]),),
        (Media("voice", mime_type="audio/ogg", local_path=shipped["v.ogg"]),),
        (Media("sticker", local_path=shipped["s.webp"]),),
        (Media("document", "doc.pdf", "application/pdf", local_path=shipped["doc.pdf"]),),
        (Media("poll"),),
        (Media("geo"),),
        (Media("other"),),
        (),
    ]


def test_service_messages_are_kept_and_marked(tmp_path: Path) -> None:
    service = {
        "id": 4,
        "type": "service",
        "date_unixtime": "1723012200",
        "actor": "Губернатор",
        "actor_id": "channel4242",
        "action": "pin_message",
        "message_id": 3,
        "text": "",
        "text_entities": [],
    }
    post = only_post(export(tmp_path, [service]))
    assert post.is_service
    assert post.text == ""
    assert post.author == "Губернатор"


def test_in_a_group_the_sender_is_the_author(tmp_path: Path) -> None:
    post = only_post(export(tmp_path, [message(1, **{"from": "Ivan"})], type="private_group"))
    assert post.author == "Ivan"


def test_malformed_messages_become_bad_records_with_their_index(tmp_path: Path) -> None:
    messages: list[Any] = [
        message(1),
        {"id": 2, "type": "unsupported"},
        message(3, text=17),
        "not an object",
        {"id": 5, "type": "message", "text": ""},
        message("six"),
        message(7),
    ]
    items = list(open_source(export(tmp_path, messages)))
    assert [i.message_id for i in items if isinstance(i, Post)] == [1, 7]
    bad = [(i.position, i.reason) for i in items if isinstance(i, BadRecord)]
    assert [p for p, _ in bad] == ["messages[1]", "messages[2]", "messages[3]", "messages[4]", "messages[5]"]
    assert "'unsupported' has no content" in bad[0][1]
    assert "'text' must be a string or a list" in bad[1][1]
    assert "expected a JSON object" in bad[2][1]
    assert "missing 'date'" in bad[3][1]
    assert "'id' must be an integer" in bad[4][1]


def test_a_truncated_export_yields_what_it_holds_then_one_bad_record(tmp_path: Path) -> None:
    path = export(tmp_path, [message(n, text=f"пост {n}") for n in range(1, 6)])
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"\xd0\xbf\xd0\xbe\xd1\x81\xd1\x82 4")])  # cut inside message 4
    items = list(open_source(path))
    assert [i.message_id for i in items if isinstance(i, Post)] == [1, 2, 3]
    assert items[-1] == BadRecord("messages[3]", "the JSON ends early (is the file truncated?)")


def test_export_without_chat_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"name": "x", "messages": [message(1)]}), encoding="utf-8")
    with pytest.raises(SourceError, match="without the chat 'id'"):
        open_source(path)


def test_a_directory_with_result_json_can_be_given(tmp_path: Path) -> None:
    export(tmp_path, [message(1)])
    assert open_source(tmp_path).path == tmp_path / "result.json"


def test_export_of_all_chats_streams_every_chat_with_its_own_channel(tmp_path: Path) -> None:
    doc = {
        "about": "export",
        "chats": {
            "about": "chats",
            "list": [
                {"name": "A", "type": "public_channel", "id": 1, "messages": [message(1), message(2)]},
                {"name": "B", "type": "private_group", "id": 2, "messages": [message(1, text=5)]},
            ],
        },
        "left_chats": {"list": [{"name": "C", "type": "private_channel", "id": 3, "messages": [message(9)]}]},
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    source = open_source(path)
    assert source.format == "tdesktop"
    assert source.channel is None
    items = list(source)
    posts = [(i.channel.tg_id, i.message_id) for i in items if isinstance(i, Post)]
    assert posts == [(1, 1), (1, 2), (3, 9)]
    assert [i.position for i in items if isinstance(i, BadRecord)] == ["chats.list[1].messages[0]"]
    assert source.bytes_read == source.size_hint()


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"date_unixtime": "99999999999999999999"}, "'date_unixtime' is out of range as unix seconds"),
        ({"date_unixtime": None, "date": "datetime.datetime(2024, 13, 45)"}, "'date' is not a valid date"),
        ({"edited_unixtime": "99999999999999999999"}, "'edited_unixtime' is out of range"),
    ],
)
def test_a_date_beyond_the_calendar_is_one_bad_record_not_the_end_of_the_import(
    tmp_path: Path, fields: dict[str, Any], reason: str
) -> None:
    # An OverflowError here stopped the import with nothing stored, the good messages before it too.
    items = list(open_source(export(tmp_path, [message(1), message(2, **fields), message(3)])))
    assert [i.message_id for i in items if isinstance(i, Post)] == [1, 3]
    [bad] = [i for i in items if isinstance(i, BadRecord)]
    assert bad.position == "messages[1]"
    assert reason in bad.reason
