"""Hostile input to every reader: a SourceError (one line) or per-record reports, never another exception."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.errors import SourceError
from bot.domain.models import Post
from bot.sources import BadRecord, open_source
from bot.sources.detect import FORMATS
from bot.sources.limits import MAX_DEPTH, MAX_TEXT_CHARS, DepthGuard, NestingError

POST = {"channel": "@alpha", "id": 1, "date": "2024-08-07T06:30:00+00:00", "text": "эвакуация"}
SAMPLES: dict[str, bytes] = {
    "jsonl": "\n".join(json.dumps({**POST, "id": i}, ensure_ascii=False) for i in (1, 2, 3)).encode(),
    "tdesktop": json.dumps(
        {
            "name": "Alpha",
            "type": "public_channel",
            "id": 1,
            "messages": [
                {
                    "id": 1,
                    "type": "message",
                    "date": "2024-08-07T06:30:00",
                    "date_unixtime": "1723012200",
                    "text": ["a ", {"type": "bold", "text": "b"}],
                    "text_entities": [],
                }
            ],
        },
        ensure_ascii=False,
    ).encode(),
    "telethon": json.dumps(
        [
            {
                "_": "Message",
                "id": 1,
                "peer_id": {"_": "PeerChannel", "channel_id": 1},
                "date": "2024-08-07T06:30:00+00:00",
                "message": "a",
                "entities": [],
            }
        ]
    ).encode(),
    "nktkln": json.dumps(
        [{"message_id": 1, "sender_id": 1, "text": "a", "date": "2024-08-07 06:30:00", "channel": "A"}]
    ).encode(),
    "cuas": json.dumps([{"post_date": "2024-08-07", "content": "a", "channel": "A", "id": 1}]).encode(),
}
ODD = [
    b"\xef\xbb\xbf",
    b"\x00",
    "\u200f".encode(),
    "\u202e".encode(),
    b"\xed\xa0\x80",
    b"\xff",
    b'"',
    b"\\",
    b"[" * 300,
    b"{" * 300,
    b"\n",
    b"\r\n",
    b"#",
    "\ud83d".encode("utf-8", "surrogatepass"),
]


@contextmanager
def _file(data: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.json"
        path.write_bytes(data)
        yield path


def _read_all(data: bytes, fmt: str | None) -> list[object]:
    """Every item a reader yields; a SourceError is a clean answer too."""
    with _file(data) as path:
        try:
            return list(open_source(path, format=fmt))
        except SourceError as e:
            message = str(e)
        assert "\n" not in message, "a source error is one line"
        return []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(sorted(SAMPLES)),
    detect=st.booleans(),
    cut=st.integers(0, 400),
    junk=st.sampled_from(ODD),
    at=st.integers(0, 400),
)
def test_a_broken_file_of_any_format_reads_cleanly(
    fmt: str, detect: bool, cut: int, junk: bytes, at: int
) -> None:
    data = SAMPLES[fmt][: len(SAMPLES[fmt]) - cut]
    items = _read_all(data[:at] + junk + data[at:], None if detect else fmt)
    assert all(isinstance(i, Post | BadRecord) or type(i).__name__ in ("Deletion", "Pause") for i in items)


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=300), fmt=st.sampled_from([None, *FORMATS]))
def test_random_bytes_read_cleanly(data: bytes, fmt: str | None) -> None:
    _read_all(data, fmt)


@pytest.mark.parametrize("fmt", [None, *FORMATS])
@pytest.mark.parametrize(
    "data",
    [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000],
    ids=["brackets", "objects"],
)
def test_deep_nesting_is_one_clean_error_or_report(data: bytes, fmt: str | None) -> None:
    items = _read_all(data, fmt)
    assert not any(isinstance(i, Post) for i in items)


def test_a_deep_jsonl_line_is_reported_and_the_next_line_still_read() -> None:
    deep = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    line = json.dumps(POST, ensure_ascii=False).encode()
    items = _read_all(line + b"\n" + deep + b"\n" + line.replace(b'"id": 1', b'"id": 2'), "jsonl")
    assert [type(i).__name__ for i in items] == ["Post", "BadRecord", "Post"]
    assert isinstance(items[1], BadRecord)
    assert items[1].position == "line 2"
    assert "nested too deeply" in items[1].reason


def test_a_deep_telegram_desktop_export_names_the_file_and_bytes() -> None:
    head = b'{"name":"A","type":"public_channel","id":1,"messages":[{"id":1,"text":'
    with (
        _file(head + b"[" * 100_000) as path,
        pytest.raises(SourceError, match=r"input.json: JSON nested deeper"),
    ):
        list(open_source(path, format="tdesktop"))


def test_a_post_over_the_text_cap_is_reported_and_skipped() -> None:
    big = json.dumps({**POST, "text": "a" * (MAX_TEXT_CHARS + 1)}).encode()
    items = _read_all(big + b"\n" + SAMPLES["jsonl"], None)
    assert isinstance(items[0], BadRecord)
    assert "65,536-character limit" in items[0].reason
    assert [i.message_id for i in items[1:] if isinstance(i, Post)] == [1, 2, 3]


def test_a_huge_first_record_is_detected_from_the_head_alone() -> None:
    record = {"channel": "@alpha", "id": 1, "date": "2024-08-07T06:30:00+00:00", "text": "э" * 3_000_000}
    with _file(json.dumps(record, ensure_ascii=False).encode()) as path:
        source = open_source(path)
        assert source.format == "jsonl"
        [item] = list(source)
    assert isinstance(item, BadRecord)
    assert "skipped" in item.reason


@settings(max_examples=60, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.text(max_size=5), lambda c: st.lists(c) | st.dictionaries(st.text(max_size=3), c)
    ),
    chunk=st.integers(1, 20),
)
def test_the_depth_guard_never_rejects_shallow_json(value: object, chunk: int) -> None:
    data = json.dumps(value).encode()
    guard = DepthGuard()
    for i in range(0, len(data), chunk):
        guard.feed(data[i : i + chunk])


@settings(max_examples=40, deadline=None)
@given(depth=st.integers(MAX_DEPTH + 1, MAX_DEPTH * 4), chunk=st.integers(1, 4096), text=st.text(max_size=20))
def test_the_depth_guard_rejects_deep_json(depth: int, chunk: int, text: str) -> None:
    data = (json.dumps(text) + "," + "[" * depth + "]" * depth).encode()
    with pytest.raises(NestingError):
        _feed_all(data, chunk)


def _feed_all(data: bytes, chunk: int) -> None:
    guard = DepthGuard()
    for i in range(0, len(data), chunk):
        guard.feed(data[i : i + chunk])


def test_out_of_range_integers_and_lone_surrogates_are_handled_by_every_reader() -> None:
    huge = str(10**22)  # a digit string: the streaming JSON parser itself stops at a 64-bit overflow
    desktop = {
        "name": "A",
        "type": "public_channel",
        "id": 1,
        "messages": [
            {"id": huge, "type": "message", "date": "2024-08-07T09:30:00", "text": "a"},
            {"id": 2, "type": "message", "date": "2024-08-07T09:30:00", "text": "b \ud800"},
        ],
    }
    dump = [
        {
            "_": "Message",
            "id": 1,
            "peer_id": {"_": "PeerChannel", "channel_id": 5},
            "date": "2024-08-07",
            "message": "a",
            "views": huge,
        },
        {
            "_": "Message",
            "id": 2,
            "peer_id": {"_": "PeerChannel", "channel_id": 5},
            "date": "2024-08-07",
            "message": "b \udc00",
        },
    ]
    for data, fmt in ((desktop, "tdesktop"), (dump, "telethon")):
        items = _read_all(json.dumps(data).encode(), fmt)
        assert isinstance(items[0], BadRecord), (fmt, items)
        assert "out of range" in items[0].reason
        # the streaming parser itself may turn a lone surrogate into "?" or stop at it: never a crash
        second = items[1]
        assert isinstance(second, BadRecord) or (
            isinstance(second, Post) and second.text in ("b \ufffd", "b ?")
        ), (fmt, items)
