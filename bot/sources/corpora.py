"""Readers for two public research corpora of channel posts (JSON arrays), used for replays and benchmarks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.domain.models import ChannelRef, Post
from bot.sources.base import CountingReader, Source, stream_array
from bot.sources.fields import (
    FieldError,
    bare_channel_id,
    optional_int,
    optional_str,
    parse_date,
    required_int,
    text_field,
)
from bot.sources.records import SourceItem


class NktklnSource(Source):
    """NKTKLN/telegram-news-classifier: [{message_id, sender_id, text, date, channel (title), category}]."""

    format = "nktkln"
    description = "NKTKLN news corpus (JSON array)"

    def _read(self, reader: CountingReader) -> Iterator[SourceItem]:
        yield from stream_array(reader, "item", "item", NktklnConverter())


class NktklnConverter:
    """One corpus record to a Post; lean, since benchmarks import hundreds of thousands of them."""

    __slots__ = ("_channels",)

    def __init__(self) -> None:
        self._channels: dict[tuple[Any, Any], ChannelRef] = {}

    def __call__(self, m: Mapping[str, Any]) -> Post:
        sender = m.get("sender_id")
        title = m.get("channel")
        channel = self._channels.get((sender, title))
        if channel is None:
            tg_id = required_int(m, "sender_id")
            channel = ChannelRef(tg_id=bare_channel_id(tg_id), title=optional_str(m, "channel"))
            self._channels[(sender, title)] = channel
        message_id = m.get("message_id")
        if type(message_id) is not int:
            message_id = required_int(m, "message_id")
        date = m.get("date")
        try:
            # the corpus writes "2024-12-04T09:00:28+00:00" throughout; fall back for anything else
            when = datetime.fromisoformat(date)  # type: ignore[arg-type]
            if when.tzinfo is not UTC:
                when = parse_date(date)
        except (TypeError, ValueError):
            when = parse_date(date) if date is not None else _missing("date")
        text = m.get("text")
        return Post(
            channel=channel,
            message_id=message_id,
            date=when,
            text=text if type(text) is str else text_field(m, "text"),
        )


class CuasSource(Source):
    """MarcellusVR007 drone/C-UAS OSINT dump: [{channel, channel_title, message_id, post_date, content, ...}]."""

    format = "cuas"
    description = "C-UAS milblogger corpus (JSON array)"

    def _read(self, reader: CountingReader) -> Iterator[SourceItem]:
        yield from stream_array(reader, "item", "item", CuasConverter())


class CuasConverter:
    """One corpus record to a Post (`content` is the original text; `content_english` is dropped)."""

    __slots__ = ("_channels",)

    def __init__(self) -> None:
        self._channels: dict[tuple[Any, Any], ChannelRef] = {}

    def __call__(self, m: Mapping[str, Any]) -> Post:
        key = (m.get("channel"), m.get("channel_title"))
        channel = self._channels.get(key)
        if channel is None:
            name = optional_str(m, "channel")
            if name is None:
                raise FieldError("missing 'channel'")
            channel = ChannelRef(username=name.lstrip("@"), title=optional_str(m, "channel_title"))
            self._channels[key] = channel
        if "post_date" not in m:
            raise FieldError("missing 'post_date'")
        return Post(
            channel=channel,
            message_id=required_int(m, "message_id"),
            date=parse_date(m["post_date"], "post_date"),
            text=text_field(m, "content"),
            views=optional_int(m, "views"),
            forwards=optional_int(m, "forwards"),
        )


def _missing(key: str) -> datetime:
    raise FieldError(f"missing '{key}'")
