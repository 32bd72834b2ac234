"""Telethon adapter of chat control: bot commands and button presses in, replies, edits and answers out.

The bot client must receive updates (build it with receive_updates=True) for commands to arrive.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telethon import TelegramClient, events, functions
from telethon import errors as tg
from telethon.extensions import html as tl_html

from bot.chat.control import ChatControl
from bot.chat.models import ButtonAnswer, ButtonPress, Command, Reply
from bot.domain.errors import DeliveryFailed, TelegramError
from bot.domain.ports import SentMessage
from bot.telegram.errors import translated
from bot.telegram.markup import inline_markup

log = logging.getLogger(__name__)
TOAST_LIMIT = 200  # Telegram shows at most 200 characters in a callback answer


def _name_of(entity: Any) -> str | None:
    if entity is None:
        return None
    username = getattr(entity, "username", None)
    if username:
        return f"@{username}"
    first = getattr(entity, "first_name", None) or getattr(entity, "title", None)
    return str(first) if first else None


def command_from_event(event: Any) -> Command | None:
    """A NewMessage event as a Command; None for messages that are not commands or come from no user."""
    message = event.message
    text = message.raw_text or ""
    if not text.startswith("/") or event.sender_id is None or message.out:
        return None
    chat = getattr(event, "chat", None)
    return Command(
        chat_id=int(event.chat_id),
        user_id=int(event.sender_id),
        text=text,
        message_id=int(message.id),
        chat_username=getattr(chat, "username", None),
        user_name=_name_of(getattr(event, "sender", None)),
        private=bool(event.is_private),
    )


def press_from_event(event: Any) -> ButtonPress:
    """A CallbackQuery event as a ButtonPress (callback data decoded as UTF-8)."""
    chat = getattr(event, "chat", None)
    data = event.data.decode("utf-8", errors="replace") if event.data else ""
    return ButtonPress(
        chat_id=int(event.chat_id),
        user_id=int(event.sender_id),
        message_id=int(event.query.msg_id),
        data=data,
        chat_username=getattr(chat, "username", None),
        user_name=_name_of(getattr(event, "sender", None)),
        private=bool(event.is_private),
    )


def peer_of(chat: str | int) -> str | int:
    """A chat as Telethon takes it: numeric ids as int, names as text."""
    if isinstance(chat, int):
        return chat
    return int(chat) if chat.lstrip("-").isdigit() else chat


class TelegramChat:
    """Feeds a bot client's commands and button presses to ChatControl and carries out its answers."""

    def __init__(self, client: TelegramClient, control: ChatControl | None = None) -> None:
        self.client = client
        self._control = control

    @property
    def control(self) -> ChatControl:
        if self._control is None:
            raise RuntimeError("TelegramChat used before attach(control)")
        return self._control

    def attach(self, control: ChatControl | None = None) -> None:
        """Register the event handlers on the client (call once, before the client runs)."""
        if control is not None:
            self._control = control
        self.client.add_event_handler(self.on_message, events.NewMessage(incoming=True, pattern=r"^/"))
        self.client.add_event_handler(self.on_callback, events.CallbackQuery())

    def on_chat_seen(self, handler: Callable[[Sequence[str]], Awaitable[None]]) -> None:
        """Call `handler` with a chat's names (id, @username) whenever any message arrives from it: a user
        who writes to the bot (even just /start) makes their chat reachable for alerts."""

        async def seen(event: Any) -> None:
            chat = getattr(event, "chat", None)
            names = [str(event.chat_id)]
            username = getattr(chat, "username", None)
            if username:
                names += [f"@{username}", str(username)]
            try:
                await handler(names)
            except Exception:  # waking alerts must never break the chat
                log.exception("could not retry alerts waiting for chat %s", event.chat_id)

        self.client.add_event_handler(seen, events.NewMessage(incoming=True))

    async def on_message(self, event: Any) -> None:
        cmd = command_from_event(event)
        if cmd is None:
            return
        for reply in await self.control.handle_command(cmd):
            try:
                await self.send(cmd.chat_id, reply, reply_to=cmd.message_id)
            except TelegramError as e:
                log.warning("cannot answer /command in chat %s: %s", cmd.chat_id, e)

    async def on_callback(self, event: Any) -> None:
        press = press_from_event(event)
        answer = await self.control.handle_button(press)
        if answer.edit is not None:
            try:
                await self.edit(press.chat_id, press.message_id, answer.edit)
            except (TelegramError, DeliveryFailed) as e:
                log.warning("cannot edit message %s in chat %s: %s", press.message_id, press.chat_id, e)
        await self.answer(int(event.query.query_id), answer)

    async def send(self, chat: str | int, reply: Reply, *, reply_to: int | None = None) -> SentMessage:
        """Send an HTML reply with its buttons."""
        text, entities = tl_html.parse(reply.html)
        with translated("send", str(chat)):
            sent = await self.client.send_message(
                peer_of(chat),
                text,
                formatting_entities=entities,
                buttons=inline_markup(reply.buttons),
                link_preview=False,
                reply_to=reply_to,
            )
        return SentMessage(chat=str(chat), message_id=int(getattr(sent, "id", 0) or 0))

    async def edit(self, chat: str | int, message_id: int, reply: Reply) -> None:
        """Replace a message's text and buttons; an unchanged message is not an error."""
        text, entities = tl_html.parse(reply.html)
        with translated("edit", str(chat)):
            try:
                await self.client.edit_message(
                    peer_of(chat),
                    message_id,
                    text,
                    formatting_entities=entities,
                    buttons=inline_markup(reply.buttons),
                    link_preview=False,
                )
            except tg.MessageNotModifiedError:
                return
            except (
                tg.MessageIdInvalidError,
                tg.MessageEditTimeExpiredError,
                tg.MessageAuthorRequiredError,
            ) as e:
                raise DeliveryFailed(
                    f"message {message_id} in {chat} cannot be edited: {e}", permanent=True
                ) from e

    async def edit_message(
        self, chat: str, message_id: int, html: str, buttons: Sequence[tuple[str, str]] = ()
    ) -> None:
        """bot.domain.ports.MessageEditor: the telegram sink edits sent alerts in place through this."""
        await self.edit(chat, message_id, Reply(html, tuple(buttons)))

    async def answer(self, query_id: int, answer: ButtonAnswer) -> None:
        """Answer a callback query (stops the button's spinner); an empty toast shows nothing."""
        toast = answer.toast[:TOAST_LIMIT] or None
        try:
            with translated("answer"):
                await self.client(
                    functions.messages.SetBotCallbackAnswerRequest(
                        query_id=query_id, cache_time=0, alert=answer.alert or None, message=toast
                    )
                )
        except TelegramError as e:  # a late answer (after ~15 s) is refused; the action itself was done
            log.info("callback answer refused: %s", e)

    async def notify(self, chats: Sequence[str | int], html: str) -> None:
        """Send a notice (e.g. a mute ended) to each of `chats`; failures are logged, not raised."""
        for chat in chats:
            try:
                await self.send(chat, Reply(html))
            except TelegramError as e:
                log.warning("cannot notify chat %s: %s", chat, e)
