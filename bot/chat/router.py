"""Chat commands are registered where they are written: `@router.command(...)` on the function.

Each command module has its own Router; bot/chat/control.py includes them (one line each), in the order
/help lists them. A command's usage line is declared once, on its decorator, and is shown by /help and
after every refused use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.chat.models import Command, Reply

if TYPE_CHECKING:
    from bot.chat.context import ChatContext

Handler = Callable[["ChatContext", Command, str], Awaitable[list[Reply]]]


@dataclass(frozen=True, slots=True)
class ChatCommand:
    """One /command: its handler, usage line and /help summary (None: not listed)."""

    name: str
    handler: Handler
    usage: str
    summary: str | None


class Router:
    """A group of chat commands, in the order they were registered."""

    def __init__(self) -> None:
        self._commands: dict[str, ChatCommand] = {}

    def command(
        self, name: str, *, summary: str | None, usage: str | None = None, aliases: Sequence[str] = ()
    ) -> Callable[[Handler], Handler]:
        """Register the decorated coroutine as /name (and /alias, unlisted)."""

        def register(handler: Handler) -> Handler:
            self._add(ChatCommand(name, handler, usage or f"/{name}", summary))
            for alias in aliases:
                self._add(ChatCommand(alias, handler, usage or f"/{name}", None))
            return handler

        return register

    def include(self, *routers: Router) -> None:
        """Add the commands of other routers (after the ones already here)."""
        for router in routers:
            for command in router:
                self._add(command)

    def _add(self, command: ChatCommand) -> None:
        if command.name in self._commands:
            raise ValueError(f"chat command /{command.name} is registered twice")
        self._commands[command.name] = command

    def get(self, name: str) -> ChatCommand | None:
        return self._commands.get(name)

    def usage(self, name: str) -> str:
        """The usage line of /name."""
        return self._commands[name].usage

    def __iter__(self) -> Iterator[ChatCommand]:
        return iter(self._commands.values())
