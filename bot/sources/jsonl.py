"""telewatch JSONL: one post, edit or deletion per line; the replay and interchange format."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from bot.domain.models import ChannelRef, ForwardOrigin, Media, Post, TextEntity
from bot.sources.base import OVERLONG, CountingReader, Source, convert_or_reason, overlong_reason
from bot.sources.fields import (
    FieldError,
    bare_channel_id,
    check_entity,
    optional_date,
    optional_int,
    optional_str,
    parse_channel,
    parse_date,
    required_int,
    text_field,
    utf16_len,
    utf16_slice,
)
from bot.sources.limits import nesting_reason, too_deep
from bot.sources.records import BadRecord, Deletion, Pause, SourceItem

EVENTS = ("post", "edit", "delete")


class JsonlSource(Source):
    """Reads telewatch JSONL; blank lines and lines starting with '#' are skipped."""

    format = "jsonl"
    description = "telewatch JSONL"

    def _read(self, reader: CountingReader) -> Iterator[SourceItem]:
        channels: dict[tuple[object, object, object], ChannelRef] = {}
        parse = _RecordParser(channels)
        for number, line in enumerate(reader.lines(), start=1):
            position = f"line {number}"
            if line is OVERLONG:
                yield BadRecord(position, overlong_reason())
                continue
            stripped = line.strip()
            if not stripped or stripped.startswith(b"#"):
                continue
            if too_deep(stripped):
                yield BadRecord(position, nesting_reason())
                continue
            try:
                obj = json.loads(stripped)
            except UnicodeDecodeError:
                yield BadRecord(position, "not UTF-8 text")
                continue
            except json.JSONDecodeError as exc:
                yield BadRecord(position, f"invalid JSON: {exc.msg} (column {exc.colno})")
                continue
            except RecursionError:
                yield BadRecord(position, nesting_reason())
                continue
            if isinstance(obj, dict) and "delay" in obj:
                delay = obj["delay"]
                if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
                    yield BadRecord(position, f"'delay' must be a number of seconds >= 0 (got {delay!r})")
                    continue
                if delay > 0:
                    yield Pause(float(delay), position)
            result = convert_or_reason(parse, obj)
            if isinstance(result, str):
                yield BadRecord(position, result)
            elif isinstance(result, Deletion):
                yield dataclasses.replace(result, position=position)
            else:
                yield result


class _RecordParser:
    """Turns one decoded JSONL object into a Post or a Deletion, caching channel refs."""

    __slots__ = ("_channels",)

    def __init__(self, channels: dict[tuple[object, object, object], ChannelRef]) -> None:
        self._channels = channels

    def __call__(self, obj: Mapping[str, Any]) -> Post | Deletion:
        event = obj.get("event", "post")
        if event not in EVENTS:
            raise FieldError(f"'event' must be one of {', '.join(EVENTS)} (got {event!r})")
        channel = self._channel(obj)
        if event == "delete":
            return _deletion(obj, channel)
        post = _post(obj, channel)
        if event == "edit" and post.edit_date is None:
            raise FieldError("an 'edit' event needs 'edit_date'")
        return post

    def _channel(self, obj: Mapping[str, Any]) -> ChannelRef:
        value = obj.get("channel")
        if value is None:
            raise FieldError("missing 'channel'")
        tg_id = optional_int(obj, "channel_id")
        title = optional_str(obj, "channel_title")
        if not isinstance(value, str | int):
            raise FieldError(f"'channel' must be @username, a t.me link or a numeric id (got {value!r})")
        key = (value, tg_id, title)
        ref = self._channels.get(key)
        if ref is None:
            ref = parse_channel(value, tg_id=tg_id, title=title)
            self._channels[key] = ref
        return ref


def _post(obj: Mapping[str, Any], channel: ChannelRef) -> Post:
    message_id = required_int(obj, "id")
    if message_id <= 0:
        raise FieldError(f"'id' must be a positive message id (got {message_id})")
    if "date" not in obj:
        raise FieldError("missing 'date'")
    text = text_field(obj, "text")
    service = obj.get("service", False)
    if not isinstance(service, bool):
        raise FieldError(f"'service' must be true or false (got {service!r})")
    return Post(
        channel=channel,
        message_id=message_id,
        date=parse_date(obj["date"]),
        text=text,
        entities=_entities(obj.get("entities"), text),
        media=_media(obj.get("media")),
        forward=_forward(obj.get("forward")),
        reply_to=optional_int(obj, "reply_to"),
        grouped_id=optional_int(obj, "grouped_id"),
        views=optional_int(obj, "views"),
        forwards=optional_int(obj, "forwards"),
        edit_date=optional_date(obj, "edit_date"),
        author=optional_str(obj, "author"),
        is_service=service,
    )


def _deletion(obj: Mapping[str, Any], channel: ChannelRef) -> Deletion:
    ids = obj.get("ids")
    if not isinstance(ids, list) or not ids:
        raise FieldError(f"a 'delete' event needs 'ids', a non-empty list of message ids (got {ids!r})")
    message_ids = tuple(required_int({"ids": i}, "ids") for i in ids)
    return Deletion(channel, message_ids, position="", date=optional_date(obj, "date"))


def _entities(value: object, text: str) -> tuple[TextEntity, ...]:
    if not value:
        return ()
    if not isinstance(value, list):
        raise FieldError("'entities' must be a list of {type, offset, length, url?} objects")
    units = utf16_len(text)
    found = []
    for raw in value:
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            raise FieldError(f"an entity must be an object with a 'type' (got {raw!r})")
        offset = required_int(raw, "offset")
        length = required_int(raw, "length")
        url = optional_str(raw, "url")
        if url is None and raw["type"] == "url":
            url = utf16_slice(text, offset, length)  # a plain link's URL is its text
        found.append(check_entity(TextEntity(raw["type"], offset, length, url), units))
    return tuple(found)


def _media(value: object) -> tuple[Media, ...]:
    if not value:
        return ()
    items = value if isinstance(value, list) else [value]
    found = []
    for raw in items:
        if isinstance(raw, str):
            found.append(Media(kind=raw))
        elif isinstance(raw, dict) and isinstance(raw.get("type"), str):
            found.append(
                Media(
                    kind=raw["type"],
                    file_name=optional_str(raw, "file_name"),
                    mime_type=optional_str(raw, "mime_type"),
                    size=optional_int(raw, "size"),
                )
            )
        else:
            raise FieldError(f"a media item must be a kind or an object with a 'type' (got {raw!r})")
    return tuple(found)


def _forward(value: object) -> ForwardOrigin | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise FieldError("'forward' must be an object {channel_id?, message_id?, name?, date?}")
    channel_id = optional_int(value, "channel_id")
    return ForwardOrigin(
        channel_tg_id=None if channel_id is None else bare_channel_id(channel_id),
        message_id=optional_int(value, "message_id"),
        name=optional_str(value, "name"),
        date=optional_date(value, "date"),
    )


def record_of(item: Post | Deletion, *, delay: float | None = None) -> dict[str, Any]:
    """The JSONL object for a post or a deletion (fields at their defaults are left out)."""
    out: dict[str, Any] = {}
    if isinstance(item, Deletion):
        out["event"] = "delete"
    _put_channel(out, item.channel)
    if isinstance(item, Deletion):
        out["ids"] = list(item.message_ids)
        if item.date is not None:
            out["date"] = _iso(item.date)
    else:
        _put_post(out, item)
    if delay:
        out["delay"] = delay
    return out


def encode_record(item: Post | Deletion, *, delay: float | None = None) -> str:
    """One JSONL line (without the newline) for a post or a deletion."""
    return json.dumps(record_of(item, delay=delay), ensure_ascii=False)


def _put_channel(out: dict[str, Any], ref: ChannelRef) -> None:
    if ref.username:
        out["channel"] = f"@{ref.username}"
        if ref.tg_id is not None:
            out["channel_id"] = ref.tg_id
    else:
        out["channel"] = ref.tg_id
    if ref.title:
        out["channel_title"] = ref.title


def _put_post(out: dict[str, Any], post: Post) -> None:
    out["id"] = post.message_id
    out["date"] = _iso(post.date)
    out["text"] = post.text
    if post.entities:
        out["entities"] = [_entity_record(e) for e in post.entities]
    if post.media:
        out["media"] = [_media_record(m) for m in post.media]
    if post.forward is not None:
        fwd = post.forward
        fields = {"channel_id": fwd.channel_tg_id, "message_id": fwd.message_id, "name": fwd.name}
        out["forward"] = {k: v for k, v in fields.items() if v is not None}
        if fwd.date is not None:
            out["forward"]["date"] = _iso(fwd.date)
    optional = {
        "reply_to": post.reply_to,
        "grouped_id": post.grouped_id,
        "views": post.views,
        "forwards": post.forwards,
        "edit_date": _iso(post.edit_date) if post.edit_date else None,
        "author": post.author,
    }
    out.update((k, v) for k, v in optional.items() if v is not None)
    if post.is_service:
        out["service"] = True


def _entity_record(entity: TextEntity) -> dict[str, Any]:
    out: dict[str, Any] = {"type": entity.kind, "offset": entity.offset, "length": entity.length}
    if entity.url is not None:
        out["url"] = entity.url
    return out


def _media_record(media: Media) -> dict[str, Any] | str:
    if media.file_name is None and media.mime_type is None and media.size is None:
        return media.kind
    fields = {
        "type": media.kind,
        "file_name": media.file_name,
        "mime_type": media.mime_type,
        "size": media.size,
    }
    return {k: v for k, v in fields.items() if v is not None}


def _iso(value: datetime) -> str:
    return value.isoformat()
