"""Finding stored things by what people type: a post by its row id or link."""

from __future__ import annotations

import re

from bot.domain.models import StoredPost
from bot.domain.numbers import parse_id
from bot.domain.refs import parse_post_ref
from bot.domain.storage import Storage

_DIGITS = re.compile(r"[0-9]+")


class NotAPostReference(ValueError):
    """The text is neither a post id nor a post link."""


async def find_post(storage: Storage, text: str) -> StoredPost | None:
    """A stored post by row id (42 or #42) or by link (t.me/name/123, t.me/c/<id>/123, @name/123);
    None when it is not stored. Raises NotAPostReference when `text` names no post at all (an id too
    large for any row is no id either)."""
    value = text.strip().lstrip("#")
    if _DIGITS.fullmatch(value):
        row_id = parse_id(value)
        if row_id is None:
            raise NotAPostReference(text)
        return await storage.posts.get(row_id)
    ref = parse_post_ref(value)
    if ref is None or ref.message_id is None:
        raise NotAPostReference(text)
    channel = await storage.channels.find(f"@{ref.username}" if ref.username else str(ref.tg_id))
    if channel is None or (ref.tg_id is not None and channel.tg_id != ref.tg_id):
        return None
    return await storage.posts.get_by_message(channel.id, ref.message_id)
