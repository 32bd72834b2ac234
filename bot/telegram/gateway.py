"""TelethonGateway: bot.domain.ports.TelegramGateway over a Telethon client; one method, one request."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from telethon import TelegramClient, events, functions
from telethon import errors as tg
from telethon.extensions import html as tl_html
from telethon.tl import types

from bot.domain.errors import AuthError, ChannelUnavailable, TelegramError
from bot.domain.media import ChunkWriter
from bot.domain.models import ChannelRef, Post
from bot.domain.ports import PostUpdate, RequestLog, ResolvedChannel, SentMessage, UpdateHandler
from bot.domain.refs import RefKind, parse_channel_ref
from bot.telegram.convert import post_from_message, resolved_from_chat, update_from_raw
from bot.telegram.errors import translated
from bot.telegram.markup import inline_markup

log = logging.getLogger(__name__)
LIVE_UPDATES = (
    types.UpdateNewChannelMessage,
    types.UpdateEditChannelMessage,
    types.UpdateDeleteChannelMessages,
)


class TelethonGateway:
    """The real Telegram, through a Telethon client built by bot.telegram.client."""

    def __init__(self, client: TelegramClient, *, is_bot: bool = False) -> None:
        self.client = client
        self.is_bot = is_bot
        self.requests = RequestLog()
        self._handlers: list[UpdateHandler] = []
        self._known: dict[int, ChannelRef] = {}
        client.add_event_handler(self._on_raw, events.Raw(types=list(LIVE_UPDATES)))

    # -- connection ---------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect and make sure the session is signed in (AuthError otherwise)."""
        with translated("connect", client=self.client):
            await self.client.connect()
            authorized = await self.client.is_user_authorized()
        if not authorized:
            raise AuthError("the Telegram session is not signed in", hint="run `telewatch login` first")
        if not self.is_bot:
            # Ask for updates explicitly: Telegram only pushes them to clients that made a request.
            with translated("get_state", client=self.client):
                await self.client(functions.updates.GetStateRequest())

    async def disconnect(self) -> None:
        await self.client.disconnect()

    async def wait_disconnected(self) -> None:
        """Wait for Telethon to give up reconnecting (it retries short drops by itself)."""
        try:
            await self.client.disconnected
        except Exception as e:  # the error that ended the connection; the caller reconnects
            log.warning("Telegram connection ended: %r", e)

    # -- channels -------------------------------------------------------------------------------------

    def _remember(self, channel: ResolvedChannel) -> ResolvedChannel:
        self._known[channel.tg_id] = ChannelRef(
            tg_id=channel.tg_id, username=channel.username, title=channel.title
        )
        return channel

    def _channel(self, chat: Any, reference: str) -> ResolvedChannel:
        if isinstance(chat, types.ChannelForbidden):
            raise ChannelUnavailable(reference, "banned")
        if not isinstance(chat, types.Channel):
            raise ChannelUnavailable(reference, "not found", hint="it is a user, bot or group, not a channel")
        return self._remember(resolved_from_chat(chat))

    async def resolve(self, reference: str) -> ResolvedChannel:
        parsed = parse_channel_ref(reference)
        self.requests.record("resolve")
        with translated("resolve", reference, client=self.client):
            if parsed.kind is RefKind.INVITE:
                assert parsed.invite_hash is not None
                invite = await self.client(functions.messages.CheckChatInviteRequest(parsed.invite_hash))
                if isinstance(invite, types.ChatInviteAlready | types.ChatInvitePeek):
                    return self._channel(invite.chat, reference)
                raise ChannelUnavailable(
                    reference, "not joined", hint="set auto_join = true for this channel to join it"
                )
            if parsed.kind is RefKind.ID:
                entity = await self.client.get_entity(types.PeerChannel(parsed.tg_id or 0))
            else:
                entity = await self.client.get_entity(parsed.username or "")
        return self._channel(entity, reference)

    @staticmethod
    def _input(channel: ResolvedChannel) -> types.InputChannel:
        return types.InputChannel(channel.tg_id, channel.access_hash or 0)

    @staticmethod
    def _peer(channel: ResolvedChannel) -> types.InputPeerChannel:
        return types.InputPeerChannel(channel.tg_id, channel.access_hash or 0)

    async def refresh(self, channel: ResolvedChannel) -> ResolvedChannel:
        self.requests.record("refresh")
        target = channel.username or str(channel.tg_id)
        with translated("refresh", target, client=self.client):
            result = await self.client(functions.channels.GetChannelsRequest([self._input(channel)]))
        if not result.chats:
            raise ChannelUnavailable(target, "not found")
        return self._channel(result.chats[0], target)

    async def join(self, channel: ResolvedChannel) -> ResolvedChannel:
        self.requests.record("join")
        with translated("join", channel.username or str(channel.tg_id), client=self.client):
            await self.client(functions.channels.JoinChannelRequest(self._input(channel)))
        return self._remember(replace(channel, joined=True))

    async def join_invite(self, reference: str) -> ResolvedChannel:
        parsed = parse_channel_ref(reference)
        if parsed.kind is not RefKind.INVITE or parsed.invite_hash is None:
            raise TelegramError(f"{reference} is not an invite link")
        self.requests.record("join")
        with translated("join", reference, client=self.client):
            try:
                updates = await self.client(functions.messages.ImportChatInviteRequest(parsed.invite_hash))
                chats = list(getattr(updates, "chats", ()))
            except tg.UserAlreadyParticipantError:
                invite = await self.client(functions.messages.CheckChatInviteRequest(parsed.invite_hash))
                chats = [getattr(invite, "chat", None)]
        if not chats:
            raise ChannelUnavailable(reference, "not found")
        return replace(self._channel(chats[0], reference), joined=True)

    # -- history --------------------------------------------------------------------------------------

    async def _get_history(self, channel: ResolvedChannel, kind: str, **window: int) -> list[Post]:
        self.requests.record(kind)
        ref = self._known.get(channel.tg_id) or ChannelRef(
            tg_id=channel.tg_id, username=channel.username, title=channel.title
        )
        request = functions.messages.GetHistoryRequest(
            peer=self._peer(channel),
            offset_id=window.get("offset_id", 0),
            offset_date=None,
            add_offset=window.get("add_offset", 0),
            limit=window["limit"],
            max_id=0,
            min_id=window.get("min_id", 0),
            hash=0,
        )
        with translated(kind, channel.username or str(channel.tg_id), client=self.client):
            result = await self.client(request)
        posts = [post_from_message(m, ref) for m in getattr(result, "messages", ())]
        return [p for p in posts if p is not None]

    async def latest_id(self, channel: ResolvedChannel) -> int:
        posts = await self._get_history(channel, "latest", limit=1)
        return posts[0].message_id if posts else 0

    async def history(self, channel: ResolvedChannel, *, after_id: int, limit: int = 100) -> Sequence[Post]:
        # Telegram pages backwards; a negative add_offset from after_id+1 pages forwards (newest first).
        posts = await self._get_history(
            channel, "history", offset_id=after_id + 1, add_offset=-limit, limit=limit, min_id=after_id
        )
        return sorted((p for p in posts if p.message_id > after_id), key=lambda p: p.message_id)

    async def download_media(
        self,
        channel: ResolvedChannel,
        message_id: int,
        out: ChunkWriter,
        *,
        thumbnail: bool = False,
    ) -> None:
        """Stream a message's file (or its largest preview) into `out` (MediaDownloader)."""
        target = f"{channel.username or channel.tg_id}/{message_id}"
        self.requests.record("download")
        with translated("download", target, client=self.client):
            message = await self.client.get_messages(self._peer(channel), ids=message_id)
            if message is None or message.media is None:
                raise ChannelUnavailable(target, "the message or its file is gone")
            if thumbnail:
                data = await self.client.download_media(message, file=bytes, thumb=-1)
                if isinstance(data, bytes):
                    await out.write(data)
                return
            # iter_download streams in chunks (no whole file in memory); the writer caps and hashes.
            async for chunk in self.client.iter_download(message.media):
                await out.write(chunk)

    async def recent(
        self, channel: ResolvedChannel, *, before_id: int = 0, limit: int = 100
    ) -> Sequence[Post]:
        posts = await self._get_history(channel, "recent", offset_id=before_id, limit=limit)
        return sorted(posts, key=lambda p: p.message_id, reverse=True)

    # -- sending --------------------------------------------------------------------------------------

    async def send(
        self, chat: str, html: str, *, random_id: int, buttons: Sequence[tuple[str, str]] = ()
    ) -> SentMessage:
        """Send HTML with a fixed random_id: Telegram refuses a second message with the same one."""
        self.requests.record("send")
        text, entities = tl_html.parse(html)
        markup = inline_markup(buttons) if self.is_bot else None
        target: str | int = int(chat) if chat.lstrip("-").isdigit() else chat
        with translated("send", chat, client=self.client):
            try:
                peer = await self.client.get_input_entity(target)
                result = await self.client(
                    functions.messages.SendMessageRequest(
                        peer=peer,
                        message=text,
                        random_id=random_id,
                        entities=entities,
                        no_webpage=True,
                        reply_markup=markup,
                    )
                )
            except tg.RandomIdDuplicateError:
                return SentMessage(chat=chat, message_id=0)  # sent before a crash: already delivered
        return SentMessage(chat=chat, message_id=_sent_id(result, random_id))

    async def forward(self, chat: str, source: str, message_id: int, *, random_id: int) -> SentMessage:
        """Forward one post with a fixed random_id (a repeat after a crash is dropped by Telegram)."""
        self.requests.record("forward")
        target: str | int = int(chat) if chat.lstrip("-").isdigit() else chat
        origin: str | int = int(source) if source.lstrip("-").isdigit() else source
        with translated("forward", source, client=self.client):
            try:
                to_peer = await self.client.get_input_entity(target)
                from_peer = await self.client.get_input_entity(origin)
                result = await self.client(
                    functions.messages.ForwardMessagesRequest(
                        from_peer=from_peer, id=[message_id], random_id=[random_id], to_peer=to_peer
                    )
                )
            except tg.RandomIdDuplicateError:
                return SentMessage(chat=chat, message_id=0)
        return SentMessage(chat=chat, message_id=_sent_id(result, random_id))

    async def check_chat(self, chat: str) -> None:
        """Whether alerts can be sent to `chat` now, without sending one: a cancelled typing action,
        refused like a message would be (ChannelUnavailable when nobody there wrote to the bot yet)."""
        self.requests.record("check chat")
        target: str | int = int(chat) if chat.lstrip("-").isdigit() else chat
        with translated("check chat", chat):
            peer = await self.client.get_input_entity(target)
            await self.client(
                functions.messages.SetTypingRequest(peer=peer, action=types.SendMessageCancelAction())
            )

    # -- live updates ---------------------------------------------------------------------------------

    def on_update(self, handler: UpdateHandler) -> None:
        self._handlers.append(handler)

    async def _on_raw(self, update: Any) -> None:
        converted: PostUpdate | None = update_from_raw(update, self._known)
        if converted is None:
            return
        for handler in self._handlers:
            await handler(converted)


def _sent_id(result: Any, random_id: int) -> int:
    if isinstance(result, types.UpdateShortSentMessage):
        return int(result.id)
    for update in getattr(result, "updates", ()):
        if isinstance(update, types.UpdateMessageID) and update.random_id == random_id:
            return int(update.id)
    return 0
