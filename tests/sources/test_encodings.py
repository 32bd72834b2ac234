"""Byte-order marks and encodings: UTF-8/16/32 files (with or without a mark) read as their text, a
legacy code page is named with the iconv line that converts it, a comment after a BOM is a comment;
a Telegram Desktop export is recognised by its top-level shape, whatever its messages look like."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.domain.errors import SourceError
from bot.domain.models import Post
from bot.sources import BadRecord, open_source

TEXT = "Жителей Суджанского района эвакуировали"
POST = {"channel": "@gov_test", "id": 1, "date": "2024-08-06T08:00:00Z", "text": TEXT}
TELETHON = {
    "_": "Message",
    "id": 9,
    "peer_id": {"_": "PeerChannel", "channel_id": 77},
    "date": "2024-08-06 10:00:00+00:00",
    "message": TEXT,
}
JSONL = "# exported by hand\n\n" + json.dumps(POST, ensure_ascii=False) + "\n"


def items(path: Path, fmt: str | None = None) -> tuple[list[Post], list[BadRecord]]:
    found = list(open_source(path, format=fmt))
    return [p for p in found if isinstance(p, Post)], [b for b in found if isinstance(b, BadRecord)]


@pytest.mark.parametrize(
    ("codec", "bom"),
    [
        ("utf-8", b"\xef\xbb\xbf"),
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
        ("utf-32-le", b"\xff\xfe\x00\x00"),
        ("utf-32-be", b"\x00\x00\xfe\xff"),
        ("utf-16-le", b""),
        ("utf-16-be", b""),
        ("utf-32-le", b""),
    ],
)
@pytest.mark.parametrize("fmt", [None, "jsonl"])
def test_unicode_files_with_or_without_a_mark_read_as_text(
    tmp_path: Path, codec: str, bom: bytes, fmt: str | None
) -> None:
    path = tmp_path / "p.jsonl"
    path.write_bytes(bom + JSONL.encode(codec))
    posts, bad = items(path, fmt)
    assert bad == []  # the '#' line after the mark is a comment, not a bad record
    assert [p.text for p in posts] == [TEXT]


def test_a_telethon_dump_in_utf16_with_comments_reads(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    content = "# dump\n" + json.dumps(TELETHON, ensure_ascii=False) + "\n"
    path.write_bytes(b"\xff\xfe" + content.encode("utf-16-le"))
    posts, bad = items(path)
    assert (len(posts), bad) == (1, [])


def test_a_utf16_telegram_desktop_export_reads(tmp_path: Path) -> None:
    export = {"name": "n", "type": "public_channel", "id": 5, "messages": [
        {"id": 1, "type": "message", "date": "2024-08-06T08:00:00", "text": TEXT}]}  # fmt: skip
    path = tmp_path / "result.json"
    path.write_bytes(b"\xff\xfe" + json.dumps(export, ensure_ascii=False, indent=1).encode("utf-16-le"))
    posts, bad = items(path)
    assert ([p.text for p in posts], bad) == ([TEXT], [])


@pytest.mark.parametrize("codec", ["cp1251", "koi8-r"])
def test_a_legacy_cyrillic_file_is_named_with_the_iconv_line(tmp_path: Path, codec: str) -> None:
    path = tmp_path / "old.jsonl"
    path.write_bytes(JSONL.encode(codec))
    with pytest.raises(SourceError) as info:
        open_source(path)
    message = info.value.message
    assert message.startswith(f"{path}: not UTF-8 (looks like {codec}?)"), message
    assert f"iconv -f {codec} -t utf-8" in message
    assert "lexical error" not in message


def test_a_file_in_an_unknown_8bit_encoding_says_it_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_bytes(json.dumps(POST).encode()[:-2] + b'\x80\x81\x82"}\n')
    with pytest.raises(SourceError, match=r"not UTF-8"):
        open_source(path)


def test_an_export_is_recognised_by_its_shape_whatever_its_messages(tmp_path: Path) -> None:
    """The first line holds the export's own keys; a later line is one whole (odd) message."""
    path = tmp_path / "result.json"
    path.write_text(
        '{"name": "X", "type": "public_channel", "id": 1, "messages": [\n'
        f'  {{"id": 1, "type": "message", "date": "2024-08-06T08:00:00", "text": "{TEXT}"}},\n'
        '  {"id": 2, "type": "unsupported"}\n'
        "]}\n",
        encoding="utf-8",
    )
    source = open_source(path)
    assert source.format == "tdesktop"
    posts, bad = items(path)
    assert [p.text for p in posts] == [TEXT]
    assert [b.position for b in bad] == ["messages[1]"]
    assert "unsupported" in bad[0].reason


def test_an_unknown_document_names_its_top_level_keys_not_a_nested_record(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"title": "X", "items": [\n  {"id": 2, "type": "unsupported"}\n]}\n', encoding="utf-8")
    with pytest.raises(SourceError, match=r"has keys: items, title"):
        open_source(path)
