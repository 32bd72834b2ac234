"""open_source(): pick the reader for a file, from the caller's choice or from the file's first bytes."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ijson  # type: ignore[import-untyped]  # no type information shipped

from bot.domain.errors import SourceError
from bot.sources.base import Source, json_error_reason
from bot.sources.corpora import CuasSource, NktklnSource
from bot.sources.encoding import legacy_codec, open_utf8
from bot.sources.jsonl import JsonlSource
from bot.sources.limits import GuardedReader, NestingError, too_deep
from bot.sources.tdesktop import TdesktopSource
from bot.sources.telethon_dump import MESSAGE_TYPES, TelethonSource

FORMATS: dict[str, type[Source]] = {
    cls.format: cls for cls in (JsonlSource, TdesktopSource, TelethonSource, NktklnSource, CuasSource)
}
_HEAD_BYTES = 1 << 20
_PROBE_LINES = 20
_WHAT = "not a telewatch JSONL, Telegram Desktop export or Telethon dump"
_HINT = "name the format with --format (" + ", ".join(FORMATS) + ")"


def open_source(path: Path | str, *, format: str | None = None, name: str | None = None) -> Source:
    """A Source for `path` in the given format, or the one its content shows; SourceError if none fits.

    A directory holding a Telegram Desktop export's result.json may be given for the file. `name` is
    what messages call the input ("standard input" for a spooled copy); the path by default.
    """
    path = Path(path)
    name = name or str(path)
    if path.is_dir():
        if not (path / "result.json").is_file():
            raise SourceError(f"{name}: a directory without result.json", hint="give the file to import")
        path = path / "result.json"
        name = str(path) if name == str(path.parent) else name
    if not path.is_file():
        if path.exists():  # a FIFO, a socket, a device: it is there, but it is no file to read twice
            raise SourceError(
                f"{name}: not a regular file",
                hint="save it to a file first, or pipe it in: telewatch import - < FILE",
            )
        raise SourceError(f"{name}: no such file")
    if format is None:
        format = detect_format(path, name)
    cls = FORMATS.get(format)
    if cls is None:
        raise SourceError(f"unknown source format {format!r}; use one of: {', '.join(FORMATS)}")
    return cls(path, name=name)


def detect_format(path: Path, name: str | None = None) -> str:
    """The format name of a file, from its first bytes and the keys of its first record; `name` is what
    messages call it (the path by default)."""
    name = name or str(path)
    with open_utf8(path) as raw:
        head = raw.read(_HEAD_BYTES)  # UTF-8 without a byte-order mark, whatever the file's encoding
    legacy = legacy_codec(head, complete=len(head) < _HEAD_BYTES)
    if legacy:
        raise SourceError(
            f"{name}: not UTF-8 (looks like {legacy}?) — convert it with: "
            f"iconv -f {legacy} -t utf-8 {name} > {name}.utf8",
            hint="then import the converted file",
        )
    if legacy is not None:
        raise SourceError(
            f"{name}: not UTF-8 text, and no known encoding fits",
            hint="convert it to UTF-8 first, e.g. iconv -f <its encoding> -t utf-8 FILE > FILE.utf8",
        )
    body = _skip_comments(head)
    if not body:
        raise SourceError(f"{name}: the file is empty (or holds only comments)")
    first = body[:1]
    if first == b"[":
        return _detect_array(path, name)
    if first == b"{":
        skipped = head[: len(head) - len(body)].count(b"\n")
        return _detect_object(name, body, complete=len(head) < _HEAD_BYTES, first_line=skipped + 1)
    shown = body[:4].decode("utf-8", errors="replace")[:1]
    raise SourceError(f"{name}: {_WHAT} (first byte {shown!r})", hint=_HINT)


def classify(record: Mapping[str, Any]) -> str | None:
    """The format a decoded first record (or top-level object) belongs to, by its keys."""
    if record.get("_") in MESSAGE_TYPES:
        return "telethon"
    if "messages" in record or "chats" in record:
        return "tdesktop"
    if "sender_id" in record and "message_id" in record:
        return "nktkln"
    if "post_date" in record and "content" in record:
        return "cuas"
    if "channel" in record and ("id" in record or "event" in record):
        return "jsonl"
    return None


def _skip_comments(head: bytes) -> bytes:
    """The head without leading whitespace and '#' comment lines (telewatch JSONL allows them)."""
    body = head.lstrip()
    while body.startswith(b"#"):
        newline = body.find(b"\n")
        body = b"" if newline < 0 else body[newline + 1 :].lstrip()
    return body


def _detect_object(name: str, body: bytes, *, complete: bool, first_line: int) -> str:
    """By the top-level object's keys (a document, or a JSONL file's first record); when they say
    nothing, by the first records that are whole lines (a JSONL file whose first record is broken).
    A line inside a document (one odd message of an export) never decides the format."""
    try:
        top: dict[str, Any] | None = _top_level_keys(name, body, complete=complete)
        problem: SourceError | None = None
    except SourceError as exc:
        top, problem = None, exc
    found = classify(top) if top else None
    if found is not None:
        return found
    lines = body.split(b"\n")
    if not complete:
        lines = lines[:-1]  # the last line may be cut off by the head limit
    probed = 0
    what = "the top-level object"
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith(b"#"):
            continue
        probed += 1
        if probed > _PROBE_LINES:
            break
        try:
            if too_deep(stripped):
                continue  # a bad record (the reader reports it), or a document whose depth `problem` names
            record = json.loads(stripped)
        except RecursionError:
            continue
        except ValueError:
            if probed == 1 and stripped == b"{":
                break  # a pretty-printed document: read its top-level keys instead
            continue
        if isinstance(record, dict) and (found := classify(record)) is not None:
            return found
        if probed == 1 and isinstance(record, dict):
            what = "the first record"  # a one-line object: JSONL-like
    if top is None and problem is not None:
        raise problem
    return _known(name, top or {}, what)


def _known(name: str, record: Mapping[str, Any], what: str) -> str:
    found = classify(record)
    if found is None:
        keys = ", ".join(sorted(record)[:12]) or "none"
        raise SourceError(f"{name}: {_WHAT} ({what} has keys: {keys})", hint=_HINT)
    return found


def _top_level_keys(name: str, head: bytes, *, complete: bool) -> dict[str, Any]:
    """Keys (with scalar values) of the top-level object in the head, up to 'messages'/'chats' or its end.

    When the head is cut off, the keys seen before the cut are all there is to go by.
    """
    keys: dict[str, Any] = {}
    if not complete:
        head = _whole_characters(head)
    with io.BytesIO(head) as raw:
        try:
            for prefix, event, value in ijson.parse(GuardedReader(raw)):
                if prefix == "" and event == "map_key":
                    keys[value] = None
                    if value in ("messages", "chats"):
                        break
                elif prefix == "" and event == "end_map":
                    break
                elif prefix in keys and event in ("string", "number", "boolean"):
                    keys[prefix] = value
        except ijson.IncompleteJSONError as exc:
            # a cut head may also end inside an escape or a number: keys seen before the cut still count
            if complete or not keys:
                raise SourceError(f"{name}: {_WHAT} ({json_error_reason(exc)})", hint=_HINT) from None
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            raise SourceError(f"{name}: {_WHAT} ({json_error_reason(exc)})", hint=_HINT) from None
        except NestingError as exc:
            raise SourceError(f"{name}: {exc}") from None
    return keys


def _whole_characters(data: bytes) -> bytes:
    """`data` without a UTF-8 sequence that the head limit may have cut (or the last whole one)."""
    end = len(data)
    while end > 0 and len(data) - end < 3 and data[end - 1] & 0xC0 == 0x80:
        end -= 1
    if end > 0 and data[end - 1] >= 0xC0:
        end -= 1
    return data[:end]


def _detect_array(path: Path, name: str) -> str:
    with open_utf8(path) as raw:
        try:
            first = next(iter(ijson.items(GuardedReader(raw), "item", use_float=True)), None)
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            raise SourceError(f"{name}: {_WHAT} ({json_error_reason(exc)})", hint=_HINT) from None
        except NestingError as exc:
            raise SourceError(f"{name}: {exc}") from None
    if first is None:
        raise SourceError(f"{name}: an empty JSON array holds no posts")
    if not isinstance(first, dict):
        raise SourceError(f"{name}: {_WHAT} (a JSON array of {type(first).__name__})", hint=_HINT)
    found = _known(name, first, "the first element")
    if found in ("jsonl", "tdesktop"):
        raise SourceError(
            f"{name}: a JSON array of {found} records; telewatch JSONL wants one object per line",
            hint="convert with: jq -c '.[]' FILE > FILE.jsonl",
        )
    return found
