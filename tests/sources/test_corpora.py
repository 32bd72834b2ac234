"""The two research corpora: NKTKLN news arrays and the C-UAS milblogger array."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from bot.domain.models import ChannelRef, Post
from bot.sources import BadRecord, open_source


def test_nktkln_records_become_posts_of_the_sender_channel(tmp_path: Path) -> None:
    records = [
        {
            "message_id": 2,
            "sender_id": -1001000724666,
            "text": "Эвакуация",
            "date": "2024-12-04T09:00:28+00:00",
            "channel": "Naked Science",
            "category": "science",
        },
        {
            "message_id": 1,
            "sender_id": -1001000724666,
            "text": None,
            "date": "2024-12-04T12:00:28+03:00",
            "channel": "Naked Science",
        },
        {"message_id": 3, "sender_id": -1001000724666, "text": "x", "channel": "Naked Science"},
        {"message_id": "four", "sender_id": -1001000724666, "text": "x", "date": "2024-12-04T09:00:28+00:00"},
        {"message_id": 5, "sender_id": None, "text": "x", "date": "2024-12-04T09:00:28+00:00"},
    ]
    path = tmp_path / "1001000724666_messages.json"
    path.write_text(json.dumps(records, ensure_ascii=False, indent=4), encoding="utf-8")
    source = open_source(path)
    assert source.format == "nktkln"
    items = list(source)
    first, second = items[:2]
    channel = ChannelRef(tg_id=1000724666, title="Naked Science")
    when = datetime(2024, 12, 4, 9, 0, 28, tzinfo=UTC)
    assert first == Post(channel=channel, message_id=2, date=when, text="Эвакуация")
    assert second == Post(channel=channel, message_id=1, date=when, text="")
    assert [(b.position, b.reason) for b in items[2:]] == [  # type: ignore[union-attr]
        ("item[2]", "missing 'date'"),
        ("item[3]", "'message_id' must be an integer (got 'four')"),
        ("item[4]", "missing 'sender_id'"),
    ]


def test_cuas_records_use_content_and_the_channel_username(tmp_path: Path) -> None:
    records = [
        {
            "channel": "rybar",
            "channel_title": "Рыбарь",
            "message_id": "74210",
            "post_date": "2025-11-18T18:55:08+00:00",
            "post_url": "https://t.me/rybar/74210",
            "content": "Обстрел",
            "content_english": "Shelling",
            "views": 5,
            "forwards": 1,
        },
        {"channel": "rybar", "message_id": "1", "content": "x"},
    ]
    path = tmp_path / "cuas.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    post, bad = list(open_source(path))
    assert post == Post(
        channel=ChannelRef(username="rybar", title="Рыбарь"),
        message_id=74210,
        date=datetime(2025, 11, 18, 18, 55, 8, tzinfo=UTC),
        text="Обстрел",
        views=5,
        forwards=1,
    )
    assert bad == BadRecord("item[1]", "missing 'post_date'")
