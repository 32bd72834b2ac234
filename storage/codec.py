"""Turning domain dataclasses into column values and back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.domain.models import Channel, ForwardOrigin, Media, Post, TextEntity


def to_iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 text that sorts chronologically; naive datetimes are taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def must_iso(value: str) -> datetime:
    parsed = from_iso(value)
    assert parsed is not None
    return parsed


def entities_json(entities: tuple[TextEntity, ...]) -> str | None:
    if not entities:
        return None
    return json.dumps(
        [
            {"kind": e.kind, "offset": e.offset, "length": e.length, **({"url": e.url} if e.url else {})}
            for e in entities
        ],
        ensure_ascii=False,
    )


def entities_from(value: str | None) -> tuple[TextEntity, ...]:
    if not value:
        return ()
    return tuple(
        TextEntity(kind=e["kind"], offset=e["offset"], length=e["length"], url=e.get("url"))
        for e in json.loads(value)
    )


def media_json(media: tuple[Media, ...]) -> str | None:
    if not media:
        return None
    return json.dumps(
        [{k: v for k, v in _media_dict(m).items() if v is not None} for m in media], ensure_ascii=False
    )


def _media_dict(m: Media) -> dict[str, Any]:
    return {
        "kind": m.kind,
        "file_name": m.file_name,
        "mime_type": m.mime_type,
        "size": m.size,
        "message_id": m.message_id,
        "file_ref": m.file_ref,
        "local_path": m.local_path,
    }


def media_from(value: str | None) -> tuple[Media, ...]:
    if not value:
        return ()
    return tuple(
        Media(
            kind=m["kind"],
            file_name=m.get("file_name"),
            mime_type=m.get("mime_type"),
            size=m.get("size"),
            message_id=m.get("message_id"),
            file_ref=m.get("file_ref"),
            local_path=m.get("local_path"),
        )
        for m in json.loads(value)
    )


def forward_json(forward: ForwardOrigin | None) -> str | None:
    if forward is None:
        return None
    data = {
        "channel_tg_id": forward.channel_tg_id,
        "message_id": forward.message_id,
        "name": forward.name,
        "date": to_iso(forward.date),
    }
    return json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False)


def forward_from(value: str | None) -> ForwardOrigin | None:
    if not value:
        return None
    data = json.loads(value)
    return ForwardOrigin(
        channel_tg_id=data.get("channel_tg_id"),
        message_id=data.get("message_id"),
        name=data.get("name"),
        date=from_iso(data.get("date")),
    )


def channel_from_row(row: Any) -> Channel:
    return Channel(
        id=row["id"],
        tg_id=row["tg_id"],
        username=row["username"],
        title=row["title"],
        label=row["label"],
        tags=tuple(json.loads(row["tags"] or "[]")),
    )


def post_from_row(row: Any, channel: Channel) -> Post:
    """A posts row (selected with every column) as a Post of `channel`."""
    return Post(
        channel=channel.ref,
        message_id=row["message_id"],
        date=must_iso(row["date"]),
        text=row["text"],
        entities=entities_from(row["entities"]),
        media=media_from(row["media"]),
        forward=forward_from(row["forward"]),
        reply_to=row["reply_to"],
        grouped_id=row["grouped_id"],
        views=row["views"],
        forwards=row["forwards"],
        edit_date=from_iso(row["edit_date"]),
        author=row["author"],
        is_service=bool(row["is_service"]),
    )
