"""What the chat layer receives (commands, button presses) and answers, independent of Telegram."""

from __future__ import annotations

from dataclasses import dataclass

from bot.chat.pages import Reply

__all__ = ["ButtonAnswer", "ButtonPress", "Command", "Reply", "Usage"]


@dataclass(frozen=True, slots=True)
class Command:
    """A message starting with '/' in some chat, from some user."""

    chat_id: int
    user_id: int
    text: str
    message_id: int = 0
    chat_username: str | None = None
    user_name: str | None = None  # @username, else the first name; for "marked by ..."
    private: bool = False  # a one-to-one chat with the bot

    @property
    def who(self) -> str:
        return self.user_name or f"user {self.user_id}"


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """A press of an inline button under one of the bot's messages."""

    chat_id: int
    user_id: int
    message_id: int
    data: str
    chat_username: str | None = None
    user_name: str | None = None
    private: bool = False

    @property
    def who(self) -> str:
        return self.user_name or f"user {self.user_id}"


@dataclass(frozen=True, slots=True)
class ButtonAnswer:
    """The short notice shown to the presser, and optionally new content for the pressed message."""

    toast: str
    edit: Reply | None = None
    alert: bool = False  # show the notice as a dialog rather than a passing toast


class Usage(Exception):
    """Bad arguments to a command: answered with `problem` and the command's usage line."""

    def __init__(self, problem: str, usage: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.usage = usage
