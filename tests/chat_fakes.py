"""In-memory fakes for chat control: a chat where users type commands and press buttons, and an
alert sink that remembers messages by id and can edit them (like a Telegram bot)."""

from __future__ import annotations

import html
import itertools
import re
from dataclasses import dataclass, field

from bot.chat.control import ChatControl
from bot.chat.models import ButtonAnswer, ButtonPress, Command, Reply
from bot.domain.errors import DeliveryFailed, RateLimited
from bot.domain.ports import OutgoingAlert, SentMessage, SinkCapabilities

ADMIN = 111
STRANGER = 666
ADMIN_CHAT = -1001500
OTHER_CHAT = -1009999
NAMES = {ADMIN: "@alice", STRANGER: "@mallory"}
TAG = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """HTML without tags, entities decoded: what a person reads."""
    return html.unescape(TAG.sub("", text))


@dataclass
class ChatMessage:
    """A message the bot has in a chat (sent as a reply, or an alert), as currently shown."""

    chat: int | str
    html: str
    buttons: tuple[tuple[str, str], ...] = ()

    @property
    def text(self) -> str:
        return plain(self.html)


class FakeChat:
    """Drives a ChatControl like Telegram would: commands from users in chats, button presses."""

    def __init__(self, control: ChatControl) -> None:
        self.control = control
        self.messages: dict[int, ChatMessage] = {}
        self.toasts: list[ButtonAnswer] = []
        self._ids = itertools.count(1000)

    def _post(self, chat: int | str, reply: Reply) -> int:
        message_id = next(self._ids)
        self.messages[message_id] = ChatMessage(chat, reply.html, reply.buttons)
        return message_id

    async def say(
        self, text: str, *, user: int = ADMIN, chat: int = ADMIN_CHAT, private: bool = False
    ) -> list[ChatMessage]:
        """Send `text` as `user`; returns the bot's replies (also kept in `messages`)."""
        cmd = Command(
            chat_id=user if private else chat,
            user_id=user,
            text=text,
            message_id=next(self._ids),
            user_name=NAMES.get(user),
            private=private,
        )
        replies = await self.control.handle_command(cmd)
        return [self.messages[self._post(cmd.chat_id, r)] for r in replies]

    async def say_one(self, text: str, **kwargs: object) -> str:
        """The single reply's visible text (fails if there is not exactly one reply)."""
        replies = await self.say(text, **kwargs)  # type: ignore[arg-type]
        assert len(replies) == 1, replies
        return replies[0].text

    def last_id(self) -> int:
        return max(self.messages)

    async def press(self, message_id: int, data: str, *, user: int = ADMIN) -> ButtonAnswer:
        """Press the button with callback `data` under message `message_id`; applies any edit."""
        message = self.messages[message_id]
        assert data in [d for _, d in message.buttons], f"no button {data!r} under {message.buttons}"
        press = ButtonPress(
            chat_id=message.chat if isinstance(message.chat, int) else 0,
            user_id=user,
            message_id=message_id,
            data=data,
            user_name=NAMES.get(user),
        )
        answer = await self.control.handle_button(press)
        self.toasts.append(answer)
        if answer.edit is not None:
            self.messages[message_id] = ChatMessage(message.chat, answer.edit.html, answer.edit.buttons)
        return answer

    def adopt(self, sink: ChatSink) -> None:
        """Make the alerts `sink` delivered pressable here (the same chat, the same message ids)."""
        for message_id, alert in sink.messages.items():
            self.messages[message_id] = ChatMessage(alert.target or "", alert.html, alert.buttons)


@dataclass
class ChatSink:
    """A Telegram-like alert sink: message ids, edits in place, failures on demand (EditableSink)."""

    name: str = "telegram"
    capabilities: SinkCapabilities = field(default_factory=lambda: SinkCapabilities(edit=True))
    messages: dict[int, OutgoingAlert] = field(default_factory=dict)
    delivered: list[OutgoingAlert] = field(default_factory=list)
    edits: list[tuple[int, OutgoingAlert]] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def deliver(self, alert: OutgoingAlert) -> SentMessage:
        if self.failures:
            raise self.failures.pop(0)
        message_id = next(self._ids)
        self.messages[message_id] = alert
        self.delivered.append(alert)
        return SentMessage(chat=alert.target or "", message_id=message_id)

    async def edit(self, alert: OutgoingAlert, message_id: int) -> None:
        if self.failures:
            raise self.failures.pop(0)
        if message_id not in self.messages:
            raise DeliveryFailed(f"message {message_id} not found", permanent=True)
        self.messages[message_id] = alert
        self.edits.append((message_id, alert))

    def flood(self, seconds: float) -> None:
        self.failures.append(RateLimited(seconds, request="send"))

    def text(self, message_id: int) -> str:
        return plain(self.messages[message_id].html)
