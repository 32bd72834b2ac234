"""ChatControl: the one entry point of chat commands and buttons (authorise, parse, run, reply)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from bot.alerts.digest import DigestService
from bot.alerts.relevance import RelevanceService
from bot.chat import buttons, cmd_config, cmd_control, cmd_health, cmd_posts
from bot.chat.auth import chat_is_admin, user_is_allowed
from bot.chat.context import ChatContext, OnConfigChange, esc, problem
from bot.chat.models import ButtonAnswer, ButtonPress, Command, Reply, Usage
from bot.chat.pages import PageStore
from bot.chat.parsing import parse_command
from bot.chat.router import Router
from bot.domain.errors import TelewatchError
from bot.domain.ports import Clock, SystemClock
from bot.domain.storage import Storage
from bot.rules import compile_rules
from config.edit import ConfigEditor
from config.settings import Settings

log = logging.getLogger(__name__)

router = Router()


@router.command("help", summary="this list", aliases=("start",))  # /start: a user first opening the bot
async def help_cmd(ctx: ChatContext, cmd: Command, args: str) -> list[Reply]:
    """The command list with usage lines."""
    lines = ["<b>telewatch commands</b>"]
    for command in COMMANDS:
        if command.summary is not None:
            lines.append(f"<code>{esc(command.usage)}</code>\n    {esc(command.summary)}")
    lines.append(
        "\nAlerts carry buttons: ✅ relevant / ❌ false positive (stored with who and when; /stats shows "
        "precision per rule), 🔕 mute the rule 1h, 🔇 mute the channel 1h."
    )
    return [ctx.pages.paginate("", lines)]


# Every chat command, in /help order: one line per command module.
COMMANDS = Router()
COMMANDS.include(cmd_config.router)
COMMANDS.include(cmd_posts.router)
COMMANDS.include(cmd_control.router)
COMMANDS.include(cmd_health.router)
COMMANDS.include(router)


class ChatControl:
    """Runs chat commands and button presses for allow-listed users in admin chats.

    `settings` returns the settings in force (the app swaps them on reload); `config_path` is the TOML
    file commands edit (None: read-only); `on_config_change` receives the new settings after a chat edit
    so the running app applies them at once; `digests` lets /resume flush held alerts immediately.
    """

    def __init__(
        self,
        store: Storage,
        settings: Callable[[], Settings],
        *,
        config_path: Path | None = None,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
        on_config_change: OnConfigChange | None = None,
        digests: DigestService | None = None,
        bot_username: str | None = None,
        pages: PageStore | None = None,
        relevance: RelevanceService | None = None,
    ) -> None:
        editor = (
            ConfigEditor(config_path, environ, check_rules=compile_rules) if config_path is not None else None
        )
        self.ctx = ChatContext(
            store,
            settings,
            clock or SystemClock(),
            editor=editor,
            on_config_change=on_config_change,
            digests=digests,
            pages=pages or PageStore(),
            relevance=relevance,
        )
        self.bot_username = bot_username

    def _allowed(self, chat_id: int, chat_username: str | None, private: bool, user_id: int) -> bool:
        admin = self.ctx.settings().admin
        return user_is_allowed(admin, user_id) and chat_is_admin(
            admin, chat_id, chat_username, private=private
        )

    async def handle_command(self, cmd: Command) -> list[Reply]:
        """The replies to a command; [] for text that is not a command, or an unauthorised sender."""
        parsed = parse_command(cmd.text)
        if parsed is None:
            return []
        if parsed.bot and self.bot_username and parsed.bot.lower() != self.bot_username.lower():
            return []  # addressed to another bot in the same group
        if not self._allowed(cmd.chat_id, cmd.chat_username, cmd.private, cmd.user_id):
            log.warning(
                "ignored /%s from user %s (%s) in chat %s: not an allow-listed user in an admin chat",
                parsed.name,
                cmd.user_id,
                cmd.user_name or "?",
                cmd.chat_id,
            )
            return []
        command = COMMANDS.get(parsed.name)
        if command is None:
            return [Reply(f"Unknown command /{esc(parsed.name)}. /help lists the commands.")]
        try:
            return await command.handler(self.ctx, cmd, parsed.args)
        except Usage as e:
            usage = e.usage or command.usage
            tail = f"\nusage: <code>{esc(usage)}</code>" if usage else ""
            return [Reply(f"⚠️ {esc(e.problem)}{tail}")]
        except TelewatchError as e:
            return [Reply(problem(e))]
        except Exception:
            log.exception("/%s failed", parsed.name)
            return [Reply(f"⚠️ /{esc(parsed.name)} failed unexpectedly; the error is in the telewatch log.")]

    async def handle_button(self, press: ButtonPress) -> ButtonAnswer:
        """The answer to a button press; an empty toast (just stop the spinner) for unauthorised users."""
        if not user_is_allowed(self.ctx.settings().admin, press.user_id):
            log.warning(
                "ignored button %r from user %s (%s) in chat %s: not an allow-listed user",
                press.data,
                press.user_id,
                press.user_name or "?",
                press.chat_id,
            )
            return ButtonAnswer("")
        try:
            return await buttons.press(self.ctx, press)
        except TelewatchError as e:
            return ButtonAnswer(e.message, alert=True)
        except Exception:
            log.exception("button %r failed", press.data)
            return ButtonAnswer("That failed; the error is in the telewatch log.", alert=True)
