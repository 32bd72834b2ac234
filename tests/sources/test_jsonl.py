"""telewatch JSONL: posts, edits, deletions, delays, bad lines, and the writer's round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.models import ChannelRef, ForwardOrigin, Media, Post, TextEntity
from bot.sources import BadRecord, Deletion, Pause, encode_record, open_source
from bot.sources.fields import FieldError, parse_channel, utf16_len


def write_lines(tmp_path: Path, *lines: object) -> Path:
    path = tmp_path / "posts.jsonl"
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines)
        + "\n",
        encoding="utf-8",
    )
    return path


def test_a_full_post_line_gives_every_field(tmp_path: Path) -> None:
    text = "🔥 Эвакуация в Судже: https://example.org"
    path = write_lines(
        tmp_path,
        {
            "channel": "@gubernator_test",
            "channel_id": 1001,
            "channel_title": "Губернатор",
            "id": 7,
            "date": "2024-08-07T09:30:00+03:00",
            "text": text,
            "entities": [
                {"type": "bold", "offset": 3, "length": 9},
                {"type": "url", "offset": 22, "length": 19},
            ],
            "media": [
                "photo",
                {"type": "document", "file_name": "a.pdf", "mime_type": "application/pdf", "size": 9},
            ],
            "forward": {"channel_id": -1000000000555, "message_id": 3, "name": "Source"},
            "reply_to": 5,
            "grouped_id": 99,
            "views": 1200,
            "forwards": 4,
            "author": "Press office",
        },
    )
    [post] = list(open_source(path))
    assert post == Post(
        channel=ChannelRef(tg_id=1001, username="gubernator_test", title="Губернатор"),
        message_id=7,
        date=datetime(2024, 8, 7, 6, 30, tzinfo=UTC),
        text=text,
        entities=(TextEntity("bold", 3, 9), TextEntity("url", 22, 19, "https://example.org")),
        media=(Media("photo"), Media("document", "a.pdf", "application/pdf", 9)),
        forward=ForwardOrigin(channel_tg_id=555, message_id=3, name="Source"),
        reply_to=5,
        grouped_id=99,
        views=1200,
        forwards=4,
        author="Press office",
    )


def test_channel_may_be_a_name_link_or_marked_id_and_dates_unix_seconds(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path,
        {"channel": "plain_name", "id": 1, "date": 1723012200},
        {"channel": "https://t.me/linked_name", "id": 2, "date": "1723012200"},
        {"channel": -1001234567890, "id": 3, "date": "2024-08-07T06:30:00Z"},
        {"channel": "777", "id": 4, "date": "2024-08-07T06:30:00"},
    )
    posts = list(open_source(path))
    assert [p.channel for p in posts] == [  # type: ignore[union-attr]
        ChannelRef(username="plain_name"),
        ChannelRef(username="linked_name"),
        ChannelRef(tg_id=1234567890),
        ChannelRef(tg_id=777),
    ]
    assert {p.date for p in posts} == {datetime(2024, 8, 7, 6, 30, tzinfo=UTC)}  # type: ignore[union-attr]


def test_edit_is_a_post_with_edit_date_and_delete_gives_a_deletion(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path,
        {"event": "edit", "channel": "@c_one", "id": 3, "date": 0, "edit_date": 60, "text": "new"},
        {"event": "delete", "channel": "@c_one", "ids": [3, "4"], "date": 120},
    )
    edit, deletion = list(open_source(path))
    assert isinstance(edit, Post)
    assert edit.edit_date == datetime(1970, 1, 1, 0, 1, tzinfo=UTC)
    assert deletion == Deletion(
        ChannelRef(username="c_one"), (3, 4), "line 2", datetime(1970, 1, 1, 0, 2, tzinfo=UTC)
    )


def test_delay_yields_a_pause_before_its_record(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path,
        {"channel": "@c_one", "id": 1, "date": 0, "delay": 0},
        {"channel": "@c_one", "id": 2, "date": 0, "delay": 0.25},
    )
    kinds = [type(item).__name__ for item in open_source(path)]
    assert kinds == ["Post", "Pause", "Post"]
    assert next(i for i in open_source(path) if isinstance(i, Pause)) == Pause(0.25, "line 2")


def test_bad_lines_are_reported_with_their_line_and_the_stream_goes_on(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path,
        "# a comment, then a blank line",
        "",
        {"channel": "@c_one", "id": 1, "date": 0},
        '{"channel": "@c_one", "id": 2,',
        {"channel": "@c_one", "date": 0},
        {"channel": "@c_one", "id": "two", "date": 0},
        {"channel": "#bad", "id": 5, "date": 0},
        {"channel": "@c_one", "id": 6, "date": "yesterday"},
        {"event": "edit", "channel": "@c_one", "id": 7, "date": 0},
        {"event": "delete", "channel": "@c_one", "ids": []},
        {"event": "pin", "channel": "@c_one", "id": 9, "date": 0},
        {
            "channel": "@c_one",
            "id": 10,
            "date": 0,
            "text": "ab",
            "entities": [{"type": "bold", "offset": 1, "length": 5}],
        },
        {"channel": "@c_one", "id": 11, "date": 0, "delay": -1},
        {"channel": "@c_one", "id": 12, "date": 0, "entities": "bold"},
        "[1, 2]",
        {"channel": "@c_one", "id": 14, "date": 0},
    )
    items = list(open_source(path))
    bad = {item.position: item.reason for item in items if isinstance(item, BadRecord)}
    assert [i.message_id for i in items if isinstance(i, Post)] == [1, 14]
    assert list(bad) == [f"line {n}" for n in range(4, 16)]
    assert bad["line 4"].startswith("invalid JSON")
    assert bad["line 5"] == "missing 'id'"
    assert "'id' must be an integer" in bad["line 6"]
    assert "'channel' must be @username" in bad["line 7"]
    assert "'date' is not a date" in bad["line 8"]
    assert "needs 'edit_date'" in bad["line 9"]
    assert "needs 'ids'" in bad["line 10"]
    assert "'event' must be one of" in bad["line 11"]
    assert "outside the text" in bad["line 12"]
    assert "'delay'" in bad["line 13"]
    assert "'entities' must be a list" in bad["line 14"]
    assert "expected a JSON object" in bad["line 15"]


def test_entity_offsets_are_checked_in_utf16_units(tmp_path: Path) -> None:
    """An emoji outside the BMP takes two units: an entity covering it and the next word fits."""
    text = "😀 Суджа"
    assert utf16_len(text) == 8
    path = write_lines(
        tmp_path,
        {
            "channel": "@c_one",
            "id": 1,
            "date": 0,
            "text": text,
            "entities": [{"type": "bold", "offset": 3, "length": 5}],
        },
    )
    [post] = list(open_source(path))
    assert isinstance(post, Post)
    assert post.entities == (TextEntity("bold", 3, 5),)


def test_bytes_read_reaches_the_size_hint(tmp_path: Path) -> None:
    path = write_lines(tmp_path, *({"channel": "@c_one", "id": n, "date": 0} for n in range(1, 50)))
    source = open_source(path)
    assert source.bytes_read == 0
    assert sum(1 for _ in source) == 49
    assert source.bytes_read == source.size_hint() == path.stat().st_size


_texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
_posts = st.builds(
    Post,
    channel=st.one_of(
        st.builds(
            ChannelRef, tg_id=st.integers(1, 10**12 - 1), title=st.none() | st.text(min_size=1, max_size=5)
        ),
        st.builds(
            ChannelRef,
            # Telegram's rules, as the one reference parser applies them: no trailing or double underscore
            username=st.from_regex(r"[a-z](?:[a-z0-9]|_(?!_)){3,9}[a-z0-9]", fullmatch=True).filter(
                lambda name: "__" not in name
            ),
            tg_id=st.none() | st.integers(1, 10**9),
        ),
    ),
    message_id=st.integers(1, 2**31),
    date=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    text=_texts,
    media=st.lists(
        st.builds(Media, kind=st.sampled_from(["photo", "video"]), size=st.none() | st.integers(0, 99)),
        max_size=2,
    ).map(tuple),
    forward=st.none()
    | st.builds(
        ForwardOrigin,
        channel_tg_id=st.none() | st.integers(1, 10**9),
        message_id=st.none() | st.integers(1, 99),
        name=st.none() | st.text(min_size=1, max_size=5),
    ),
    reply_to=st.none() | st.integers(1, 99),
    views=st.none() | st.integers(0, 10**6),
    author=st.none() | st.text(min_size=1, max_size=5),
    is_service=st.booleans(),
)


@given(posts=st.lists(_posts, min_size=1, max_size=5))
def test_encoded_posts_read_back_equal(posts: list[Post]) -> None:
    """Whatever telewatch writes as JSONL it reads back as the same posts."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "round.jsonl"
        path.write_text("".join(encode_record(p) + "\n" for p in posts), encoding="utf-8")
        assert list(open_source(path, format="jsonl")) == posts


def test_encoded_deletion_reads_back(tmp_path: Path) -> None:
    deletion = Deletion(ChannelRef(tg_id=5, username="c_one"), (1, 2), "line 1")
    path = tmp_path / "d.jsonl"
    path.write_text(encode_record(deletion, delay=1.5) + "\n", encoding="utf-8")
    assert list(open_source(path)) == [Pause(1.5, "line 1"), deletion]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("@gov_region", ("gov_region", None)),
        ("gov_region", ("gov_region", None)),
        ("https://t.me/s/gov_region", ("gov_region", None)),
        ("t.me/gov_region/123", ("gov_region", None)),
        ("https://gov_region.t.me", ("gov_region", None)),
        (-1001234567890, (None, 1234567890)),
        ("-1001234567890", (None, 1234567890)),
        (1234567890, (None, 1234567890)),
        ("https://t.me/c/1234567890/5", (None, 1234567890)),
    ],
)
def test_a_records_channel_is_read_by_the_one_reference_parser(
    value: object, expected: tuple[str | None, int | None]
) -> None:
    ref = parse_channel(value, title="T")
    assert (ref.username, ref.tg_id) == expected
    assert ref.title == "T"


@pytest.mark.parametrize(
    "value",
    ["#bad", "ab", "name__x", "https://t.me/+AbCdEfGh12", "https://example.org/x", -12345, 0, True, 1.5],
)
def test_a_channel_the_reference_parser_refuses_is_a_bad_record(value: object) -> None:
    with pytest.raises(FieldError, match="'channel' must be @username"):
        parse_channel(value)
