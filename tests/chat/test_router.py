"""Chat commands are declared by a decorator on the function; /help and usage lines come from it."""

from __future__ import annotations

import pytest

from bot.chat.control import COMMANDS
from bot.chat.models import Command, Reply
from bot.chat.router import Router


def test_every_listed_command_has_a_summary_and_a_usage_line_in_help_order() -> None:
    listed = [c.name for c in COMMANDS if c.summary is not None]
    assert listed[:3] == ["watch", "unwatch", "channels"]
    assert listed[-1] == "help"
    assert COMMANDS.usage("mute").startswith("/mute <rule|channel> <duration>")
    start = COMMANDS.get("start")
    help_ = COMMANDS.get("help")
    assert start is not None
    assert help_ is not None
    assert start.handler is help_.handler


async def test_a_new_command_is_one_decorated_function_and_one_include() -> None:
    router = Router()

    @router.command("ping", summary="answer pong")
    async def ping(ctx: object, cmd: Command, args: str) -> list[Reply]:
        return [Reply("pong")]

    commands = Router()
    commands.include(router)
    ping_cmd = commands.get("ping")
    assert ping_cmd is not None
    assert ping_cmd.usage == "/ping"
    assert await ping_cmd.handler(None, Command(chat_id=1, user_id=2, text="/ping"), "") == [Reply("pong")]  # type: ignore[arg-type]


def test_a_command_name_cannot_be_registered_twice() -> None:
    router = Router()
    with pytest.raises(ValueError, match="/watch"):
        router.include(COMMANDS, COMMANDS)
