"""Format detection and the errors for files that are no known format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.domain.errors import SourceError
from bot.sources import FORMATS, open_source

POST = {"channel": "@c_one", "id": 1, "date": 0, "text": "x"}
TELETHON = {"_": "Message", "id": 1, "peer_id": {"_": "PeerChannel", "channel_id": 9}, "date": 0}
NKTKLN = {
    "message_id": 1,
    "sender_id": -1009,
    "text": "x",
    "date": "2024-01-01T00:00:00+00:00",
    "channel": "T",
}
CUAS = {
    "channel": "rybar",
    "channel_title": "Рыбарь",
    "message_id": "1",
    "post_date": "2024-01-01T00:00:00+00:00",
    "content": "x",
}


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("\ufeff# comment\n" + json.dumps(POST) + "\n", "jsonl"),
        (json.dumps({"event": "delete", "channel": "@c_one", "ids": [1]}) + "\n", "jsonl"),
        (json.dumps(TELETHON) + "\n" + json.dumps(TELETHON) + "\n", "telethon"),
        (json.dumps([TELETHON]), "telethon"),
        (json.dumps({"name": "n", "type": "public_channel", "id": 5, "messages": []}, indent=1), "tdesktop"),
        (json.dumps({"name": "n", "type": "public_channel", "id": 5, "messages": []}), "tdesktop"),
        (json.dumps({"about": "a", "chats": {"list": []}}, indent=2), "tdesktop"),
        (json.dumps([NKTKLN], indent=4), "nktkln"),
        (json.dumps([CUAS], indent=2), "cuas"),
    ],
)
def test_format_is_detected_from_content(tmp_path: Path, content: str, expected: str) -> None:
    assert open_source(write(tmp_path, "input.data", content)).format == expected


def test_a_jsonl_file_whose_first_line_is_broken_is_still_recognised(tmp_path: Path) -> None:
    path = write(tmp_path, "p.jsonl", '{"channel": oops}\n' + json.dumps(POST) + "\n")
    source = open_source(path)
    assert source.format == "jsonl"
    assert [type(i).__name__ for i in source] == ["BadRecord", "Post"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<html><body>", "not a telewatch JSONL, Telegram Desktop export or Telethon dump (first byte '<')"),
        ("", "the file is empty"),
        ("  \n# only a comment\n", "the file is empty"),
        ("[]", "an empty JSON array holds no posts"),
        ("[1, 2]", "a JSON array of int"),
        (json.dumps({"hello": 1}) + "\n", "the first record has keys: hello"),
        (json.dumps({"hello": 1}, indent=1), "the top-level object has keys: hello"),
        ('[{"a": ', "the JSON ends early"),
        (json.dumps([POST]), "telewatch JSONL wants one object per line"),
    ],
)
def test_unknown_content_is_refused_with_a_one_line_reason(
    tmp_path: Path, content: str, message: str
) -> None:
    path = write(tmp_path, "input.data", content)
    with pytest.raises(SourceError) as caught:
        open_source(path)
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(path))
    assert "\n" not in str(caught.value)


def test_an_explicit_format_skips_detection_and_an_empty_jsonl_is_empty(tmp_path: Path) -> None:
    assert list(open_source(write(tmp_path, "e.jsonl", ""), format="jsonl")) == []


def test_unknown_format_names_and_missing_files_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "p.jsonl", json.dumps(POST))
    with pytest.raises(SourceError, match="unknown source format 'csv'; use one of: jsonl, tdesktop"):
        open_source(path, format="csv")
    with pytest.raises(SourceError, match="no such file"):
        open_source(tmp_path / "missing.jsonl")
    with pytest.raises(SourceError, match=r"a directory without result\.json"):
        open_source(tmp_path)


def test_every_format_has_a_name_and_description() -> None:
    assert set(FORMATS) == {"jsonl", "tdesktop", "telethon", "nktkln", "cuas"}
    assert all(cls.description for cls in FORMATS.values())


def test_a_fifo_is_named_not_a_regular_file(tmp_path: Path) -> None:
    """#65: a named pipe exists: "not a regular file", not "no such file"."""
    import os

    fifo = tmp_path / "posts.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match="not a regular file"):
        open_source(fifo)
