"""Telegram Desktop "Export chat history" JSON (result.json): one chat, or the "export all chats" shape."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ijson  # type: ignore[import-untyped]  # no type information shipped

from bot.domain.errors import SourceError
from bot.domain.models import ChannelRef, ForwardOrigin, Media, Post, TextEntity
from bot.sources.base import (
    CountingReader,
    Source,
    convert_or_reason,
    json_error_reason,
    stream_array,
)
from bot.sources.encoding import open_utf8
from bot.sources.fields import FieldError, optional_int, parse_date, required_int, utf16_len
from bot.sources.limits import GuardedReader, NestingError
from bot.sources.records import BadRecord, SourceItem

CHANNEL_TYPES = frozenset({"public_channel", "private_channel"})
# tdesktop media_type -> our Media.kind
MEDIA_KINDS = {
    "video_file": "video",
    "video_message": "video",
    "animation": "video",
    "voice_message": "voice",
    "audio_file": "audio",
    "sticker": "sticker",
}
ENTITY_KINDS = {"link": "url"}  # tdesktop names the rest as the Bot API does
OTHER_MEDIA_KEYS = (
    "contact_information",
    "game_title",
    "invoice_information",
    "todo_list",
    "giveaway_information",
)
_ALL_CHAT_SECTIONS = ("chats.list.item", "left_chats.list.item")


@dataclass(frozen=True, slots=True)
class ExportHeader:
    """What the top of result.json says: one chat (name/type/id) or an export of all chats."""

    all_chats: bool
    name: str | None = None
    type: str | None = None
    id: int | None = None


def read_header(path: Path, name: str | None = None) -> ExportHeader:
    """Scan the top-level keys before the message list (tdesktop writes them first)."""
    name = name or str(path)
    found: dict[str, Any] = {}
    prefix, value = "", None
    with open_utf8(path) as raw:
        try:
            for prefix, event, value in ijson.parse(GuardedReader(raw)):
                if prefix == "" and event not in ("start_map", "map_key", "end_map"):
                    raise SourceError(f"{name}: not a Telegram Desktop export (the top level is no object)")
                if prefix == "" and event == "map_key":
                    if value in ("messages", "chats", "left_chats"):
                        break
                elif prefix in ("name", "type", "id") and event in ("string", "number"):
                    found[prefix] = value
                elif prefix == "" and event == "end_map":
                    break
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            raise SourceError(f"{name}: {json_error_reason(exc)}") from None
        except NestingError as exc:
            raise SourceError(f"{name}: {exc}") from None
    if prefix == "" and value in ("chats", "left_chats"):
        return ExportHeader(all_chats=True)
    if "id" not in found:
        raise SourceError(
            f"{name}: a Telegram Desktop export without the chat 'id' before 'messages'",
            hint="export the chat again with Telegram Desktop (Export chat history, JSON format)",
        )
    return ExportHeader(False, found.get("name"), found.get("type"), int(found["id"]))


class TdesktopSource(Source):
    """Streams the messages of a Telegram Desktop JSON export with ijson; memory stays flat."""

    format = "tdesktop"
    description = "Telegram Desktop export (result.json)"

    def __init__(self, path: Path, *, header: ExportHeader | None = None, name: str | None = None) -> None:
        self.header = header or read_header(path, name)
        channel = None
        if not self.header.all_chats and self.header.id is not None:
            channel = ChannelRef(tg_id=self.header.id, title=self.header.name)
        super().__init__(path, channel=channel, name=name)

    def _read(self, reader: CountingReader) -> Iterator[SourceItem]:
        if self.channel is not None:
            convert = MessageConverter(
                self.channel, is_channel=self.header.type in CHANNEL_TYPES, base=self.path.parent
            )
            yield from stream_array(reader, "messages.item", "messages", convert)
        else:
            yield from _read_all_chats(reader, self.path.parent)


def _read_all_chats(reader: CountingReader, base: Path | None = None) -> Iterator[SourceItem]:
    """The "export all chats" shape: chats.list[] and left_chats.list[], each with its messages."""
    chat_counts = {section: -1 for section in _ALL_CHAT_SECTIONS}
    section = _ALL_CHAT_SECTIONS[0]
    header: dict[str, Any] = {}
    convert: MessageConverter | None = None
    index = -1
    events = ijson.parse(reader, use_float=True)
    try:
        for prefix, event, value in events:
            if prefix in chat_counts and event == "start_map":
                section, header, convert, index = prefix, {}, None, -1
                chat_counts[section] += 1
            elif prefix.startswith(section) and event in ("string", "number"):
                key = prefix[len(section) + 1 :]
                if key in ("name", "type", "id"):
                    header[key] = value
            elif prefix == section + ".messages.item" and event == "start_map":
                index += 1
                message = _build_object(events)
                position = f"{section.split('.')[0]}.list[{chat_counts[section]}].messages[{index}]"
                if convert is None:
                    if "id" not in header:
                        yield BadRecord(position, "the chat has no 'id' before its messages")
                        continue
                    ref = ChannelRef(tg_id=int(header["id"]), title=header.get("name"))
                    convert = MessageConverter(ref, is_channel=header.get("type") in CHANNEL_TYPES, base=base)
                result = convert_or_reason(convert, message)
                yield BadRecord(position, result) if isinstance(result, str) else result
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        yield BadRecord(f"{section.split('.')[0]}.list[{chat_counts[section]}]", json_error_reason(exc))


def _build_object(events: Iterator[tuple[str, str, Any]]) -> Any:
    """Assemble the object whose start_map was just read from the remaining parse events."""
    builder = ijson.ObjectBuilder()
    builder.event("start_map", None)
    depth = 1
    for _prefix, event, value in events:
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                break
    return builder.value


class MessageConverter:
    """Turns one exported message object into a Post of the export's chat."""

    __slots__ = ("base", "channel", "is_channel")

    def __init__(self, channel: ChannelRef, *, is_channel: bool, base: Path | None = None) -> None:
        self.channel = channel
        self.is_channel = is_channel
        self.base = base  # the export's folder: its photos/ and files/ are named relative to it

    def __call__(self, m: Mapping[str, Any]) -> Post:
        kind = m.get("type")
        if kind not in ("message", "service"):
            raise FieldError(f"message type {kind!r} has no content in the export")
        is_service = kind == "service"
        text, entities = message_text(m)
        author = m.get("actor") if is_service else m.get("author")
        if author is None and not self.is_channel and not is_service:
            author = m.get("from")  # in groups and private chats the sender is the author
        return Post(
            channel=self.channel,
            message_id=required_int(m, "id"),
            date=_date(m, "date"),
            text=text,
            entities=entities,
            media=message_media(m, self.base),
            forward=_forward(m),
            reply_to=optional_int(m, "reply_to_message_id"),
            edit_date=_date(m, "edited") if "edited" in m or "edited_unixtime" in m else None,
            author=author if isinstance(author, str) else None,
            is_service=is_service,
        )


def _date(m: Mapping[str, Any], key: str) -> Any:
    # "date" is the exporting machine's local time without a zone; date_unixtime is exact
    unix = m.get(key + "_unixtime")
    if unix is not None:
        return parse_date(unix, key + "_unixtime")
    if key not in m:
        raise FieldError(f"missing '{key}'")
    return parse_date(m[key], key)


def message_text(m: Mapping[str, Any]) -> tuple[str, tuple[TextEntity, ...]]:
    """The plain text and its entities, from `text` (a string or a list of strings and entity objects)."""
    text = m.get("text", "")
    if isinstance(text, str):
        parts = m.get("text_entities")
        if not parts or not isinstance(parts, list):
            return text, ()
        joined, entities = _from_parts(parts)
        # a hand-edited export may disagree with itself; offsets into another text would be wrong
        return (text, entities) if joined == text else (text, ())
    if isinstance(text, list):
        return _from_parts(text)
    raise FieldError(f"'text' must be a string or a list (got {type(text).__name__})")


def _from_parts(parts: list[Any]) -> tuple[str, tuple[TextEntity, ...]]:
    chunks: list[str] = []
    entities: list[TextEntity] = []
    offset = 0
    for part in parts:
        if isinstance(part, str):
            chunks.append(part)
            offset += utf16_len(part)
            continue
        piece = part.get("text", "")
        if not isinstance(piece, str):
            raise FieldError(f"an entity's 'text' must be a string (got {piece!r})")
        length = utf16_len(piece)
        kind = part.get("type", "plain")
        if kind != "plain":
            kind = ENTITY_KINDS.get(kind, kind)
            url = part.get("href") or (piece if kind == "url" else None)
            entities.append(TextEntity(kind=kind, offset=offset, length=length, url=url))
        chunks.append(piece)
        offset += length
    return "".join(chunks), tuple(entities)


def shipped_file(value: Any, base: Path | None) -> str | None:
    """The path of a file the export ships ("photos/photo_1@...jpg"), or None for the placeholder
    tdesktop writes when files were not exported ("(File not included. ...)")."""
    if base is None or not isinstance(value, str) or not value or value.startswith("("):
        return None
    rel = Path(value)
    if rel.is_absolute() or ".." in rel.parts:
        return None  # an export names its files inside its own folder; anything else is ignored
    return str(base / rel)


def message_media(m: Mapping[str, Any], base: Path | None = None) -> tuple[Media, ...]:
    """The attachments of an exported message, by the keys tdesktop writes for each kind."""
    found: list[Media] = []
    if "photo" in m:
        found.append(
            Media(kind="photo", size=m.get("photo_file_size"), local_path=shipped_file(m["photo"], base))
        )
    if "file" in m or "media_type" in m:
        found.append(
            Media(
                kind=MEDIA_KINDS.get(m.get("media_type") or "", "document"),
                file_name=m.get("file_name"),
                mime_type=m.get("mime_type"),
                size=m.get("file_size"),
                local_path=shipped_file(m.get("file"), base),
            )
        )
    if "poll" in m:
        found.append(Media(kind="poll"))
    if m.get("location_information") or "place_name" in m:
        found.append(Media(kind="geo"))
    if any(key in m for key in OTHER_MEDIA_KEYS):
        found.append(Media(kind="other"))
    return tuple(found)


def _forward(m: Mapping[str, Any]) -> ForwardOrigin | None:
    name = m.get("forwarded_from")
    source_id = m.get("forwarded_from_id")
    if name is None and source_id is None:
        return None
    channel_id = None
    if isinstance(source_id, str) and source_id.startswith("channel") and source_id[7:].isdigit():
        channel_id = int(source_id[7:])
    return ForwardOrigin(channel_tg_id=channel_id, name=name if isinstance(name, str) else None)
