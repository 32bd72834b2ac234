"""Telethon TL objects (messages, raw updates, chats) turned into our Post, PostUpdate and ResolvedChannel."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from telethon.tl import types

from bot.domain.models import ChannelRef, ForwardOrigin, Media, Post, TextEntity
from bot.domain.ports import PostUpdate, ResolvedChannel

# Entity classes whose Bot API name differs from the snake_case of the TL name.
ENTITY_KINDS: dict[type[Any], str] = {
    types.MessageEntityTextUrl: "text_link",
    types.MessageEntityMentionName: "text_mention",
    types.MessageEntityStrike: "strikethrough",
    types.MessageEntityPre: "pre",
    types.MessageEntityUrl: "url",
}
SERVICE_TEXT: dict[type[Any], str] = {
    types.MessageActionChannelCreate: "channel created",
    types.MessageActionChatEditPhoto: "channel photo changed",
    types.MessageActionChatDeletePhoto: "channel photo removed",
    types.MessageActionPinMessage: "message pinned",
    types.MessageActionHistoryClear: "history cleared",
    types.MessageActionGroupCall: "live stream",
    types.MessageActionGroupCallScheduled: "live stream scheduled",
    types.MessageActionChannelMigrateFrom: "migrated from a group",
}
log = logging.getLogger(__name__)
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of `text` an entity covers; Telegram counts offsets in UTF-16 code units."""
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")


def convert_entity(entity: Any, text: str) -> TextEntity:
    """One MessageEntity as our TextEntity; bare URLs get their url from the text they cover."""
    kind = ENTITY_KINDS.get(type(entity)) or _snake(type(entity).__name__.removeprefix("MessageEntity"))
    url: str | None = None
    if isinstance(entity, types.MessageEntityTextUrl):
        url = entity.url
    elif isinstance(entity, types.MessageEntityUrl):
        url = utf16_slice(text, entity.offset, entity.length)
    return TextEntity(kind=kind, offset=entity.offset, length=entity.length, url=url)


def _document_media(document: Any) -> Media:
    if not isinstance(document, types.Document):
        return Media(kind="document")
    kind = "document"
    file_name: str | None = None
    for attribute in document.attributes:
        if isinstance(attribute, types.DocumentAttributeFilename):
            file_name = attribute.file_name
        elif isinstance(attribute, types.DocumentAttributeSticker):
            kind = "sticker"
        elif isinstance(attribute, types.DocumentAttributeAnimated) and kind != "sticker":
            kind = "animation"
        elif isinstance(attribute, types.DocumentAttributeVideo) and kind not in {"sticker", "animation"}:
            kind = "video_note" if attribute.round_message else "video"
        elif isinstance(attribute, types.DocumentAttributeAudio):
            kind = "voice" if attribute.voice else "audio"
    return Media(
        kind=kind,
        file_name=file_name,
        mime_type=document.mime_type,
        size=document.size,
        file_ref=f"document:{document.id}",
    )


def _photo_size(photo: Any) -> int | None:
    best: int | None = None
    for size in getattr(photo, "sizes", None) or ():
        if isinstance(size, types.PhotoSize):
            best = max(best or 0, size.size)
        elif isinstance(size, types.PhotoSizeProgressive) and size.sizes:
            best = max(best or 0, max(size.sizes))
    return best


def convert_media(media: Any) -> tuple[Media, ...]:
    """A message's media as our Media (empty for none); paid media may hold several items."""
    if media is None or isinstance(media, types.MessageMediaEmpty):
        return ()
    if isinstance(media, types.MessageMediaPhoto):
        photo = media.photo
        ref = f"photo:{photo.id}" if isinstance(photo, types.Photo) else None
        return (Media(kind="photo", mime_type="image/jpeg", size=_photo_size(photo), file_ref=ref),)
    if isinstance(media, types.MessageMediaDocument):
        return (_document_media(media.document),)
    if isinstance(media, types.MessageMediaPaidMedia):
        items: list[Media] = []
        for extended in media.extended_media:
            items.extend(convert_media(getattr(extended, "media", None)) or (Media(kind="other"),))
        return tuple(items)
    simple: dict[type[Any], str] = {
        types.MessageMediaPoll: "poll",
        types.MessageMediaGeo: "geo",
        types.MessageMediaGeoLive: "geo",
        types.MessageMediaVenue: "venue",
        types.MessageMediaContact: "contact",
        types.MessageMediaWebPage: "webpage",
        types.MessageMediaDice: "dice",
        types.MessageMediaStory: "story",
    }
    return (Media(kind=simple.get(type(media), "other")),)


def convert_forward(header: Any) -> ForwardOrigin | None:
    """Where a forwarded message came from; None when it is not a forward."""
    if not isinstance(header, types.MessageFwdHeader):
        return None
    channel_id = header.from_id.channel_id if isinstance(header.from_id, types.PeerChannel) else None
    return ForwardOrigin(
        channel_tg_id=channel_id,
        message_id=header.channel_post,
        name=header.from_name or header.post_author,
        date=_utc(header.date),
    )


def service_text(action: Any) -> str:
    """A short human description of a service message's action."""
    if isinstance(action, types.MessageActionChatEditTitle):
        return f"title changed to «{action.title}»"
    known = SERVICE_TEXT.get(type(action))
    if known:
        return known
    return _snake(type(action).__name__.removeprefix("MessageAction")).replace("_", " ")


def channel_id_of(message: Any) -> int | None:
    """The bare channel id a message belongs to, or None when it is not a channel message."""
    peer = getattr(message, "peer_id", None)
    return peer.channel_id if isinstance(peer, types.PeerChannel) else None


def post_from_message(message: Any, channel: ChannelRef | None = None) -> Post | None:
    """Convert a channel Message or MessageService into a Post; None for empty or non-channel messages.

    A message the conversion fails on is kept with its id, date and text (and the failure logged):
    raising would lose its whole history page, and every catch-up after it, again and again."""
    try:
        return _post_from_message(message, channel)
    except Exception:
        log.exception("message %s could not be converted; keeping its text only", getattr(message, "id", "?"))
    tg_id = channel_id_of(message)
    date = _utc(getattr(message, "date", None))
    if date is None or (channel is None and tg_id is None):
        return None
    text = getattr(message, "message", None)
    return Post(
        channel=channel or ChannelRef(tg_id=tg_id),
        message_id=message.id,
        date=date,
        text=text if isinstance(text, str) else "",
        grouped_id=getattr(message, "grouped_id", None),
    )


def _post_from_message(message: Any, channel: ChannelRef | None) -> Post | None:
    if channel is None:
        tg_id = channel_id_of(message)
        if tg_id is None:
            return None
        channel = ChannelRef(tg_id=tg_id)
    date = _utc(getattr(message, "date", None))
    if date is None:
        return None
    if isinstance(message, types.MessageService):
        reply = message.reply_to
        return Post(
            channel=channel,
            message_id=message.id,
            date=date,
            text=service_text(message.action),
            reply_to=getattr(reply, "reply_to_msg_id", None),
            is_service=True,
        )
    if not isinstance(message, types.Message):
        return None
    text = message.message or ""
    return Post(
        channel=channel,
        message_id=message.id,
        date=date,
        text=text,
        entities=tuple(convert_entity(e, text) for e in message.entities or ()),
        media=convert_media(message.media),
        forward=convert_forward(message.fwd_from),
        reply_to=getattr(message.reply_to, "reply_to_msg_id", None),
        grouped_id=message.grouped_id,
        views=message.views,
        forwards=message.forwards,
        edit_date=_utc(message.edit_date),
        author=message.post_author,
    )


def update_from_raw(update: Any, channels: dict[int, ChannelRef] | None = None) -> PostUpdate | None:
    """A raw channel update as a PostUpdate (new, edited, deleted); None for anything else.

    `channels` maps bare ids to what we know of watched channels, so live posts carry their username.
    """
    known = channels or {}
    if isinstance(update, types.UpdateDeleteChannelMessages):
        return PostUpdate(kind="deleted", channel_tg_id=update.channel_id, deleted_ids=tuple(update.messages))
    if isinstance(update, types.UpdateNewChannelMessage | types.UpdateEditChannelMessage):
        tg_id = channel_id_of(update.message)
        if tg_id is None:
            return None
        post = post_from_message(update.message, known.get(tg_id))
        if post is None:
            return None
        kind = "edited" if isinstance(update, types.UpdateEditChannelMessage) else "new"
        return PostUpdate(kind=kind, posts=(post,), channel_tg_id=tg_id)
    return None


def resolved_from_chat(chat: Any) -> ResolvedChannel:
    """A Telethon Channel (or ChannelForbidden) as our ResolvedChannel."""
    username = getattr(chat, "username", None)
    if not username:
        # Channels with collectible names keep their handles in `usernames`.
        actives = [u.username for u in getattr(chat, "usernames", None) or () if getattr(u, "active", False)]
        username = actives[0] if actives else None
    return ResolvedChannel(
        tg_id=chat.id,
        username=username,
        title=getattr(chat, "title", "") or "",
        access_hash=getattr(chat, "access_hash", None),
        joined=isinstance(chat, types.Channel) and not chat.left,
        broadcast=bool(getattr(chat, "broadcast", False)),
    )
