"""Who may control the bot: commands only in admin chats, and only from allow-listed user ids."""

from __future__ import annotations

from bot.domain.refs import channel_handle
from config.settings import AdminSettings


def bare_id(chat_id: int) -> int:
    """A chat id without its Bot API sign/prefix: -1001234 and 1234 name the same channel/supergroup."""
    text = str(abs(chat_id))
    if chat_id < 0 and text.startswith("100") and len(text) > 3:
        return int(text[3:])
    return abs(chat_id)


def chat_is_admin(admin: AdminSettings, chat_id: int, chat_username: str | None, *, private: bool) -> bool:
    """Whether a chat is one of `admin.chats` ("me" is the private chat of an allowed user with the bot)."""
    for entry in admin.chats:
        value = entry.strip()
        if value.lower() == "me":
            if private:
                return True
        elif value.lstrip("-").isdigit():
            if bare_id(int(value)) == bare_id(chat_id):
                return True
        else:
            if chat_username and channel_handle(chat_username) == channel_handle(value):
                return True
    return False


def user_is_allowed(admin: AdminSettings, user_id: int) -> bool:
    return user_id in admin.users
