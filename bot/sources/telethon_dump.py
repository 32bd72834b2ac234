"""Telethon `Message.to_dict()` dumps (a JSON array or JSONL of dicts), read without importing Telethon."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from bot.domain.models import ChannelRef, ForwardOrigin, Media, Post, TextEntity
from bot.sources.base import (
    OVERLONG,
    CountingReader,
    Source,
    convert_or_reason,
    overlong_reason,
    stream_array,
)
from bot.sources.encoding import open_utf8
from bot.sources.fields import (
    FieldError,
    optional_date,
    optional_int,
    optional_str,
    parse_date,
    required_int,
    text_field,
    utf16_slice,
)
from bot.sources.limits import nesting_reason, too_deep
from bot.sources.records import BadRecord, SourceItem

MESSAGE_TYPES = frozenset({"Message", "MessageService"})
PEER_ID_KEYS = {"PeerChannel": "channel_id", "PeerChat": "chat_id", "PeerUser": "user_id"}
# TL entity names whose snake_case differs from the Bot API names we store
ENTITY_RENAMES = {"TextUrl": "text_link", "Strike": "strikethrough"}
MEDIA_KINDS = {
    "MessageMediaPhoto": "photo",
    "MessageMediaPoll": "poll",
    "MessageMediaGeo": "geo",
    "MessageMediaGeoLive": "geo",
    "MessageMediaVenue": "geo",
    "MessageMediaWebPage": "webpage",
}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class TelethonSource(Source):
    """Reads a JSON array (streamed) or JSONL of Telethon message dicts."""

    format = "telethon"
    description = "Telethon Message.to_dict() dump"

    def _read(self, reader: CountingReader) -> Iterator[SourceItem]:
        convert = TelethonConverter()
        if _first_byte(self.path) == b"[":
            yield from stream_array(reader, "item", "item", convert)
            return
        for number, line in enumerate(reader.lines(), start=1):
            if line is OVERLONG:
                yield BadRecord(f"line {number}", overlong_reason())
                continue
            stripped = line.strip()
            if not stripped or stripped.startswith(b"#"):  # blank and comment lines, as in telewatch JSONL
                continue
            if too_deep(stripped):
                yield BadRecord(f"line {number}", nesting_reason())
                continue
            try:
                obj = json.loads(stripped)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                yield BadRecord(f"line {number}", f"invalid JSON: {exc}")
                continue
            except RecursionError:
                yield BadRecord(f"line {number}", nesting_reason())
                continue
            result = convert_or_reason(convert, obj)
            yield BadRecord(f"line {number}", result) if isinstance(result, str) else result


def _first_byte(path: Path) -> bytes:
    with open_utf8(path) as raw:
        head = raw.read(4096)
    while head.lstrip().startswith(b"#"):  # comment lines, as in telewatch JSONL
        head = head.lstrip().partition(b"\n")[2]
    return head.lstrip()[:1]


class TelethonConverter:
    """Turns one `Message.to_dict()` dict into a Post; caches channel refs and entity names."""

    __slots__ = ("_channels", "_kinds")

    def __init__(self) -> None:
        self._channels: dict[int, ChannelRef] = {}
        self._kinds: dict[str, str] = {}

    def __call__(self, m: Mapping[str, Any]) -> Post:
        kind = m.get("_")
        if kind not in MESSAGE_TYPES:
            raise FieldError(f"'_' is {kind!r}, not Message or MessageService")
        if "date" not in m:
            raise FieldError("missing 'date'")
        text = text_field(m, "message")
        reply = m.get("reply_to")
        return Post(
            channel=self._channel(m.get("peer_id") or m.get("to_id")),
            message_id=required_int(m, "id"),
            date=parse_date(m["date"]),
            text=text,
            entities=tuple(self._entity(e, text) for e in m.get("entities") or ()),
            media=media_of(m.get("media")),
            forward=forward_of(m.get("fwd_from")),
            reply_to=optional_int(reply, "reply_to_msg_id") if isinstance(reply, dict) else None,
            grouped_id=optional_int(m, "grouped_id"),
            views=optional_int(m, "views"),
            forwards=optional_int(m, "forwards"),
            edit_date=optional_date(m, "edit_date"),
            author=optional_str(m, "post_author"),
            is_service=kind == "MessageService",
        )

    def _channel(self, peer: object) -> ChannelRef:
        if not isinstance(peer, dict):
            raise FieldError(f"'peer_id' must be a Peer object (got {peer!r})")
        key = PEER_ID_KEYS.get(peer.get("_", ""))
        if key is None:
            raise FieldError(f"'peer_id' is not a PeerChannel, PeerChat or PeerUser (got {peer.get('_')!r})")
        tg_id = required_int(peer, key)
        ref = self._channels.get(tg_id)
        if ref is None:
            ref = self._channels[tg_id] = ChannelRef(tg_id=tg_id)
        return ref

    def _entity(self, raw: Mapping[str, Any], text: str) -> TextEntity:
        name = raw.get("_", "")
        kind = self._kinds.get(name)
        if kind is None:
            kind = self._kinds[name] = entity_kind(name)
        offset = required_int(raw, "offset")
        length = required_int(raw, "length")
        url = raw.get("url")
        if url is None and kind == "url":
            url = utf16_slice(text, offset, length)
        return TextEntity(kind=kind, offset=offset, length=length, url=url)


def entity_kind(tl_name: str) -> str:
    """MessageEntityTextUrl -> text_link, MessageEntityBotCommand -> bot_command."""
    bare = tl_name.removeprefix("Input").removeprefix("MessageEntity")
    return ENTITY_RENAMES.get(bare) or _CAMEL.sub("_", bare).lower() or "unknown"


def media_of(media: object) -> tuple[Media, ...]:
    """The attachment of a message (Telethon gives at most one; albums are several messages)."""
    if not isinstance(media, dict):
        return ()
    name = media.get("_", "")
    if name == "MessageMediaEmpty":
        return ()
    if name == "MessageMediaDocument":
        return (_document(media.get("document")),)
    return (Media(kind=MEDIA_KINDS.get(name, "other")),)


def _document(doc: object) -> Media:
    if not isinstance(doc, dict):
        return Media(kind="document")
    kind = "document"
    file_name = None
    for attr in doc.get("attributes") or ():
        name = attr.get("_")
        if name == "DocumentAttributeFilename":
            file_name = attr.get("file_name")
        elif name == "DocumentAttributeSticker":
            kind = "sticker"
        elif name == "DocumentAttributeAudio" and kind == "document":
            kind = "voice" if attr.get("voice") else "audio"
        elif name in ("DocumentAttributeVideo", "DocumentAttributeAnimated") and kind == "document":
            kind = "video"
    size = doc.get("size")
    return Media(
        kind=kind,
        file_name=file_name,
        mime_type=doc.get("mime_type"),
        size=size if isinstance(size, int) else None,
    )


def forward_of(header: object) -> ForwardOrigin | None:
    """A MessageFwdHeader dict as a ForwardOrigin."""
    if not isinstance(header, dict):
        return None
    peer = header.get("from_id")
    channel_id = None
    if isinstance(peer, dict) and peer.get("_") == "PeerChannel":
        channel_id = optional_int(peer, "channel_id")
    return ForwardOrigin(
        channel_tg_id=channel_id,
        message_id=optional_int(header, "channel_post"),
        name=optional_str(header, "from_name"),
        date=optional_date(header, "date"),
    )
