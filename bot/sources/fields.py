"""Small, fast field readers shared by the source formats; a bad value raises FieldError."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.domain.errors import ConfigError
from bot.domain.models import ChannelRef, TextEntity
from bot.domain.numbers import INT64_MAX, INT64_MIN
from bot.domain.refs import RefKind, parse_channel_ref

# Telegram "marks" channel ids as -(10**12 + id) in bot-API style ids (-1001234567890).
_CHANNEL_MARK = 1_000_000_000_000
_SURROGATE = re.compile("[\ud800-\udfff]")
_DATETIME_REPR = re.compile(r"datetime\.datetime\(([\d,\s]+)(?:,\s*tzinfo=([^)]*\)?))?\)")


class FieldError(ValueError):
    """A record's field is missing or has a value of the wrong kind; the text becomes a BadRecord reason."""


def bare_channel_id(value: int) -> int:
    """The bare positive id of a channel: -1001234 and 1234 both give 1234."""
    if value >= 0:
        return value
    if value <= -_CHANNEL_MARK:
        return -value - _CHANNEL_MARK
    return -value


def to_utc(value: datetime) -> datetime:
    """A timezone-aware UTC datetime; a naive one is taken to be UTC already."""
    tz = value.tzinfo
    if tz is UTC:
        return value
    if tz is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_date(value: object, key: str = "date") -> datetime:
    """Read an ISO-8601 string, unix seconds (number or digit string) or a `datetime.datetime(...)` repr."""
    if isinstance(value, str):
        try:
            return to_utc(datetime.fromisoformat(value))
        except ValueError:
            pass
        except OverflowError:  # a valid date whose zone moves it past the calendar's ends
            raise FieldError(f"'{key}' is out of range: {value[:40]!r}") from None
        text = value.strip()
        if text.isdigit():
            return _from_unix(int(text), key)
        found = _DATETIME_REPR.fullmatch(text)
        if found:
            parts = [int(p) for p in found.group(1).split(",") if p.strip()]
            if 3 <= len(parts) <= 7:
                year, month, day, hour, minute, second, micro = (*parts, 0, 0, 0, 0)[:7]
                try:
                    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
                except (ValueError, OverflowError):
                    raise FieldError(f"'{key}' is not a valid date: {value[:40]!r}") from None
        raise FieldError(f"'{key}' is not a date: {value[:40]!r}")
    if isinstance(value, bool):
        raise FieldError(f"'{key}' is not a date: {value!r}")
    if isinstance(value, int | float):
        return _from_unix(value, key)
    raise FieldError(f"'{key}' is not a date: {value!r}")


def _from_unix(value: float, key: str) -> datetime:
    """Unix seconds as a UTC datetime; one beyond the calendar (or the platform's time_t) is a FieldError."""
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise FieldError(f"'{key}' is out of range as unix seconds: {str(value)[:40]}") from None


def optional_date(record: Mapping[str, object], key: str) -> datetime | None:
    """A date field that may be absent or null."""
    value = record.get(key)
    if value is None or value == "":
        return None
    return parse_date(value, key)


def required_int(record: Mapping[str, object], key: str) -> int:
    """An integer field that must be present (a digit string is accepted too)."""
    value = record.get(key)
    if value is None:
        raise FieldError(f"missing '{key}'")
    return _as_int(value, key)


def optional_int(record: Mapping[str, object], key: str) -> int | None:
    """An integer field that may be absent or null."""
    value = record.get(key)
    if value is None:
        return None
    return _as_int(value, key)


def _as_int(value: object, key: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return check_int64(value, key)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return check_int64(int(value), key)
    raise FieldError(f"'{key}' must be an integer (got {value!r})")


def optional_str(record: Mapping[str, object], key: str) -> str | None:
    """A string field that may be absent, null or empty (empty gives None)."""
    value = record.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    raise FieldError(f"'{key}' must be a string (got {value!r})")


def text_field(record: Mapping[str, object], key: str) -> str:
    """A text field; absent or null gives the empty string."""
    value = record.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    raise FieldError(f"'{key}' must be a string (got {type(value).__name__})")


def parse_channel(value: object, *, tg_id: int | None = None, title: str | None = None) -> ChannelRef:
    """Read a record's channel with the one reference parser (bot.domain.refs): @name, name, a t.me link,
    or a numeric id (bare or -100 marked); an invite link names no channel a record can belong to."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise FieldError(f"'channel' must be @username, a t.me link or a numeric id (got {value!r})")
    try:
        parsed = parse_channel_ref(str(value))
    except ConfigError as e:
        raise FieldError(
            f"'channel' must be @username, a t.me link or a numeric id (got {value!r}: {e.problem})"
        ) from None
    if parsed.kind is RefKind.ID:
        return ChannelRef(tg_id=parsed.tg_id, title=title)
    if parsed.kind is RefKind.USERNAME:
        return ChannelRef(tg_id=tg_id, username=parsed.username, title=title)
    raise FieldError(
        f"'channel' must be @username, a t.me link or a numeric id (got {value!r}: an invite link)"
    )


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of `text` an entity covers (offset/length in UTF-16 code units)."""
    data = text.encode("utf-16-le")
    return data[2 * offset : 2 * (offset + length)].decode("utf-16-le", errors="replace")


def check_entity(entity: TextEntity, text_units: int) -> TextEntity:
    """Reject an entity that lies outside its text."""
    if entity.offset < 0 or entity.length < 0 or entity.offset + entity.length > text_units:
        raise FieldError(
            f"entity {entity.kind} at {entity.offset}+{entity.length} lies outside the text "
            f"({text_units} UTF-16 units)"
        )
    return entity


def check_int64(value: int, key: str) -> int:
    """The integer itself when it fits a signed 64-bit column; FieldError otherwise."""
    if INT64_MIN <= value <= INT64_MAX:
        return value
    shown = str(value) if value.bit_length() < 200 else f"a {len(str(value))}-digit number"
    raise FieldError(f"'{key}' is out of range (must fit in a signed 64-bit integer; got {shown})")


def clean_text(text: str) -> str:
    """The text with lone UTF-16 surrogates (not storable as UTF-8) replaced by U+FFFD (same UTF-16 length)."""
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub("\ufffd", text)


def storable(item: Any, key: str = "") -> Any:
    """A converted record made safe to store: every integer fits 64 bits (FieldError if not), every
    string is cleaned of lone surrogates. Walks the record's dataclasses and tuples; unchanged
    parts are returned as they are."""
    if isinstance(item, str):
        return clean_text(item)
    if isinstance(item, bool) or item is None:
        return item
    if isinstance(item, int):
        return check_int64(item, key or "integer")
    if isinstance(item, tuple):
        cleaned = tuple(storable(part, key) for part in item)
        return item if all(a is b for a, b in zip(cleaned, item, strict=True)) else cleaned
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        changes = {}
        for field in dataclasses.fields(item):
            value = getattr(item, field.name)
            new = storable(value, field.name)
            if new is not value:
                changes[field.name] = new
        return dataclasses.replace(item, **changes) if changes else item
    return item
